package org.lipa.backend.ref;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lipa.eval.Eager;
import org.lipa.ops.Hw;
import org.lipa.ops.Pool2d;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * The reference backend against values computed by hand, closed forms and identities that do not
 * reuse its own code.
 */
class RefBackendTest {
    private Arena arena;
    private Eager ops;

    @BeforeEach
    void setUp() {
        arena = Arena.ofConfined();
        ops = new Eager(new RefBackend(), arena);
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    private Tensor t(double[] v, long... dims) {
        return Tensor.of(arena, v, dims);
    }

    private Tensor random(long seed, long... dims) {
        Random r = new Random(seed);
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return t(v, dims);
    }

    private static double dot(Tensor a, Tensor b) {
        double[] x = a.toDoubleArray();
        double[] y = b.toDoubleArray();
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    @Test
    void matmulByHandWithBiasAndBatchBroadcast() {
        Tensor a = t(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor b = t(new double[] {7, 8, 9, 10, 11, 12}, 3, 2);
        assertArrayEquals(new double[] {58, 64, 139, 154}, ops.matmul(a, b).toDoubleArray());
        assertArrayEquals(new double[] {59, 66, 140, 156}, ops.matmul(a, b, t(new double[] {1, 2}, 2)).toDoubleArray());
        Tensor batch = t(new double[] {1, 0, 0, 1, 2, 0, 0, 2}, 2, 1, 2, 2); // identity, 2 * identity
        Tensor m = t(new double[] {1, 2, 3, 4}, 2, 2);
        assertArrayEquals(new double[] {1, 2, 3, 4, 2, 4, 6, 8}, ops.matmul(batch, m).toDoubleArray());
        assertArrayEquals(new double[] {1, 3, 2, 4}, ops.matmul(m.transpose(0, 1), t(new double[] {1, 0, 0, 1}, 2, 2)).toDoubleArray());
    }

    @Test
    void convWithDeltaAndBoxKernels() {
        Tensor x = random(1, 1, 1, 4, 5);
        Tensor delta = t(new double[] {0, 0, 0, 0, 1, 0, 0, 0, 0}, 1, 1, 3, 3);
        assertArrayEquals(x.toDoubleArray(), ops.conv2d(x, delta, null, Hw.of(1), Hw.of(1), Hw.of(1), 1).toDoubleArray(), 1e-15);
        Tensor ones = Tensor.of(arena, new double[] {1, 1, 1, 1}, 1, 1, 2, 2);
        Tensor x2 = t(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        assertArrayEquals(new double[] {12, 16, 24, 28}, ops.conv2d(x2, ones, null, Hw.of(1), Hw.of(0), Hw.of(1), 1).toDoubleArray());
        // stride 2 with padding 1 picks the corners of the padded sums
        assertArrayEquals(new double[] {1, 5, 11, 28},
                ops.conv2d(x2, ones, null, Hw.of(2), Hw.of(1), Hw.of(1), 1).toDoubleArray());
        // dilation 2: taps at (0,0), (0,2), (2,0), (2,2)
        assertArrayEquals(new double[] {1 + 3 + 7 + 9}, ops.conv2d(x2, ones, null, Hw.of(1), Hw.of(0), Hw.of(2), 1).toDoubleArray());
    }

    @Test
    void groupedConvIsIndependentConvsPerGroup() {
        Tensor x = random(2, 2, 4, 5, 5);
        Tensor w = random(3, 6, 2, 3, 3);
        Tensor grouped = ops.conv2d(x, w, null, Hw.of(1), Hw.of(1), Hw.of(1), 2);
        for (int g = 0; g < 2; g++) {
            Tensor part = ops.conv2d(x.slice(1, 2 * g, 2 * g + 2), w.slice(0, 3 * g, 3 * g + 3), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
            assertArrayEquals(part.toDoubleArray(), grouped.slice(1, 3 * g, 3 * g + 3).toDoubleArray(), 1e-12);
        }
    }

    @Test
    void convTransposeIsTheAdjointOfConv() {
        int[][] cases = {{1, 0, 1, 1}, {2, 1, 1, 1}, {2, 0, 2, 1}, {1, 1, 1, 2}, {3, 1, 2, 2}};
        for (int[] c : cases) {
            Hw s = Hw.of(c[0]);
            Hw p = Hw.of(c[1]);
            Hw d = Hw.of(c[2]);
            int groups = c[3];
            Tensor x = random(4, 2, 2 * groups, 7, 6);
            Tensor w = random(5, 3 * groups, 2, 3, 2);
            Tensor y = ops.conv2d(x, w, null, s, p, d, groups);
            Tensor u = random(6, y.shape().toArray());
            // conv_transpose with the output padding that restores x's size
            long oph = x.shape().dim(2) - ((y.shape().dim(2) - 1) * c[0] - 2L * c[1] + (long) c[2] * 2 + 1);
            long opw = x.shape().dim(3) - ((y.shape().dim(3) - 1) * c[0] - 2L * c[1] + (long) c[2] + 1);
            Tensor xt = ops.convTranspose2d(u, w, null, s, p, new Hw((int) oph, (int) opw), d, groups);
            assertEquals(x.shape(), xt.shape());
            assertEquals(dot(y, u), dot(x, xt), 1e-9 * Math.abs(dot(y, u)) + 1e-9, "case " + java.util.Arrays.toString(c));
        }
    }

    @Test
    void eltwiseClosedForms() {
        Tensor x = t(new double[] {-2, -0.5, 0, 1, 3}, 5);
        assertArrayEquals(new double[] {0, 0, 0, 1, 3}, ops.relu(x).toDoubleArray());
        assertArrayEquals(new double[] {-0.2, -0.05, 0, 1, 3}, ops.leakyRelu(x, 0.1).toDoubleArray(), 1e-15);
        Tensor one = t(new double[] {1}, 1);
        assertEquals(0.8413447460685429, ops.gelu(one, false).item(), 1e-15);
        assertEquals(0.8411919906082768, ops.gelu(one, true).item(), 1e-15);
        assertEquals(-0.15865525393145707, ops.gelu(t(new double[] {-1}, 1), false).item(), 1e-15);
        assertEquals(Math.log1p(Math.E), ops.softplus(one, 1).item(), 1e-15);
        assertEquals(Math.log1p(Math.exp(2)) / 2, ops.softplus(one, 2).item(), 1e-15);
        assertEquals(1000, ops.softplus(t(new double[] {1000}, 1), 1).item(), 1e-12); // no overflow
        assertEquals(1 / (1 + Math.exp(-1)), ops.swish(one, 1).item(), 1e-15);
        assertEquals(0.7 * (Math.exp(-2) - 1), ops.elu(t(new double[] {-2}, 1), 0.7).item(), 1e-15);
        assertArrayEquals(new double[] {-0.5, -0.5, 0, 1, 1}, ops.clip(x, -0.5, 1).toDoubleArray());
        assertArrayEquals(new double[] {-4.5, 0, 1.5, 4.5, 10.5}, ops.affine(x, 3, 1.5).toDoubleArray(), 1e-15);
        assertEquals(0, ops.sigmoid(t(new double[] {-800}, 1)).item(), 1e-300); // no NaN from exp overflow
    }

    @Test
    void erfMatchesKnownValues() {
        assertEquals(0.5204998778130465, RefElementwise.erf(0.5), 1e-15);
        assertEquals(0.9953222650189527, RefElementwise.erf(2), 1e-15);
        assertEquals(-0.9999779095030014, RefElementwise.erf(-3), 1e-15);
        assertEquals(1.0, RefElementwise.erf(7), 0);
    }

    @Test
    void softmaxSumsToOneAndLogSoftmaxIsItsLog() {
        Tensor x = random(7, 3, 4, 5);
        for (int axis = 0; axis < 3; axis++) {
            Tensor p = ops.softmax(x, axis);
            double[] sums = ops.sum(p, false, axis).toDoubleArray();
            for (double s : sums) {
                assertEquals(1, s, 1e-14);
            }
            double[] lp = ops.logSoftmax(x, axis).toDoubleArray();
            double[] pv = p.toDoubleArray();
            for (int i = 0; i < lp.length; i++) {
                assertEquals(Math.log(pv[i]), lp[i], 1e-13);
            }
        }
        assertArrayEquals(new double[] {0.5, 0.5}, ops.softmax(t(new double[] {1000, 1000}, 2), 0).toDoubleArray(), 1e-15);
    }

    @Test
    void normalizationsByHand() {
        Tensor x = t(new double[] {1, 2, 3, 4, 2, 2, 2, 2}, 2, 4);
        List<Tensor> ln = new RefOutputs(ops).layerNorm(x, 1e-5);
        double inv = 1 / Math.sqrt(1.25 + 1e-5);
        assertArrayEquals(new double[] {-1.5 * inv, -0.5 * inv, 0.5 * inv, 1.5 * inv, 0, 0, 0, 0}, ln.get(0).toDoubleArray(), 1e-12);
        assertArrayEquals(new double[] {2.5, 2}, ln.get(1).toDoubleArray(), 1e-15);
        assertArrayEquals(new double[] {1.25, 0}, ln.get(2).toDoubleArray(), 1e-15);

        Tensor xb = random(8, 5, 3, 2, 2);
        Tensor gamma = Tensor.full(arena, DType.F64, Shape.of(3), 1);
        Tensor beta = Tensor.full(arena, DType.F64, Shape.of(3), 0);
        List<Tensor> bn = ops.batchNormTraining(xb, gamma, beta, 1e-12);
        double[] mean = ops.mean(bn.get(0), false, 0, 2, 3).toDoubleArray();
        double[] var = ops.mean(ops.square(bn.get(0)), false, 0, 2, 3).toDoubleArray();
        for (int c = 0; c < 3; c++) {
            assertEquals(0, mean[c], 1e-12);
            assertEquals(1, var[c], 1e-9);
        }
        assertArrayEquals(ops.mean(xb, false, 0, 2, 3).toDoubleArray(), bn.get(1).toDoubleArray(), 1e-12);
        // inference with the batch statistics reproduces training
        Tensor inf = ops.batchNormInference(xb, gamma, beta, bn.get(1), bn.get(2), 1e-12);
        assertArrayEquals(bn.get(0).toDoubleArray(), inf.toDoubleArray(), 1e-9);

        Tensor gn = ops.groupNorm(xb, 3, gamma, beta, 1e-12); // groups == channels: instance norm
        double[] inst = ops.mean(gn, false, 2, 3).toDoubleArray();
        for (double m : inst) {
            assertEquals(0, m, 1e-12);
        }
    }

    @Test
    void poolingByHand() {
        Tensor x = t(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 1, 1, 4, 4);
        assertArrayEquals(new double[] {6, 8, 14, 16}, ops.maxPool2d(x, Hw.of(2), Hw.of(2), Hw.of(0)).toDoubleArray());
        assertArrayEquals(new double[] {3.5, 5.5, 11.5, 13.5}, ops.avgPool2d(x, Hw.of(2), Hw.of(2), Hw.of(0), true).toDoubleArray());
        // padding 1, kernel 2, stride 2: the corner window holds one real element, the next one two
        double[] incl = ops.avgPool2d(x, Hw.of(2), Hw.of(2), Hw.of(1), true).toDoubleArray();
        double[] excl = ops.avgPool2d(x, Hw.of(2), Hw.of(2), Hw.of(1), false).toDoubleArray();
        assertEquals(1 / 4.0, incl[0], 1e-15);
        assertEquals((2 + 3) / 4.0, incl[1], 1e-15);
        assertEquals(1, excl[0], 1e-15);
        assertEquals((2 + 3) / 2.0, excl[1], 1e-15);
        assertEquals((6 + 7 + 10 + 11) / 4.0, excl[4], 1e-15);
        Tensor neg = ops.affine(x, -1, 0);
        // padding never wins a max, even over negative values
        assertEquals(-1, ops.maxPool2d(neg, Hw.of(2), Hw.of(2), Hw.of(1)).toDoubleArray()[0]);
        assertEquals(Shape.of(1, 1, 3, 3), ops.maxPool2d(x, Hw.of(2), Hw.of(2), Hw.of(1)).shape());
        assertEquals(new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(1), Hw.of(1)).name(), "max_pool2d");
    }

    @Test
    void broadcastingBinaryAndReductions() {
        Tensor a = t(new double[] {1, 2, 3}, 3, 1);
        Tensor b = t(new double[] {10, 20}, 2);
        assertArrayEquals(new double[] {11, 21, 12, 22, 13, 23}, ops.add(a, b).toDoubleArray());
        assertArrayEquals(new double[] {-9, -19, -8, -18, -7, -17}, ops.sub(a, b).toDoubleArray());
        assertArrayEquals(new double[] {10, 10, 10.0 / 3, 10}, ops.div(b, t(new double[] {1, 2, 3, 2}, 2, 2)).toDoubleArray(), 1e-15);
        assertArrayEquals(new double[] {10, 20, 10, 20, 10, 20}, ops.maximum(a, b).toDoubleArray());
        Tensor m = t(new double[] {1, -2, 3, -4, 5, -6}, 2, 3);
        assertArrayEquals(new double[] {2, -5}, ops.sum(m, false, 1).toDoubleArray());
        assertArrayEquals(new double[] {-3, 3, -3}, ops.sum(m, true, 0).toDoubleArray());
        assertEquals(Shape.of(1, 3), ops.sum(m, true, 0).shape());
        assertEquals(-0.5, ops.mean(m, false).item());
        assertArrayEquals(new double[] {3, 5}, ops.max(m, false, -1).toDoubleArray());
        assertArrayEquals(new double[] {-4, -2, -6}, ops.min(m, false, 0).toDoubleArray());
        assertEquals(Math.sqrt(91), ops.norm(m, false).item(), 1e-14);
        assertArrayEquals(new double[] {1, -2, 3, 7, -4, 5, -6, 8},
                ops.concat(1, m, t(new double[] {7, 8}, 2, 1)).toDoubleArray());
    }

    @Test
    void nonContiguousInputsGiveTheSameResultsAsCopies() {
        Tensor x = random(9, 4, 6).transpose(0, 1);
        Tensor xc = x.contiguous(arena);
        assertArrayEquals(ops.softmax(xc, 1).toDoubleArray(), ops.softmax(x, 1).toDoubleArray());
        assertArrayEquals(ops.sum(xc, false, 0).toDoubleArray(), ops.sum(x, false, 0).toDoubleArray());
        Tensor w = random(10, 4, 5);
        assertArrayEquals(ops.matmul(xc, w).toDoubleArray(), ops.matmul(x, w).toDoubleArray());
    }

    @Test
    void castRoundsAndChecksTheCall() {
        Tensor x = t(new double[] {1.00390625, 3.0}, 2); // 1 + 2^-8: a tie in bf16, rounds to even (1.0)
        assertArrayEquals(new double[] {1.0, 3.0}, ops.cast(x, DType.BF16).toDoubleArray());
        var backend = new RefBackend();
        assertThrows(IllegalArgumentException.class,
                () -> backend.execute(new org.lipa.ops.Cast(DType.F32), List.of(x), List.of(Tensor.zeros(arena, DType.F32, 3))));
        Arena closed = Arena.ofConfined();
        Tensor dead = Tensor.zeros(closed, DType.F64, 2);
        closed.close();
        assertThrows(IllegalStateException.class, () -> ops.relu(dead));
    }

    /** Layer norm's three outputs through the backend (the facade returns only y). */
    private record RefOutputs(Eager ops) {
        List<Tensor> layerNorm(Tensor x, double eps) {
            var op = new org.lipa.ops.LayerNorm(1, eps);
            var specs = op.infer(List.of(x.spec()));
            List<Tensor> outs = specs.stream().map(s -> Tensor.zeros(ops.arena(), s.dtype(), s.shape())).toList();
            ops.backend().execute(op, List.of(x), outs);
            return outs;
        }
    }
}

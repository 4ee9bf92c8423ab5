package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.backend.ref.RefBackend;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Planned graphs on the CPU store convolution outputs, and the batch norms and elementwise ops that
 * follow them, channels-last: a residual CNN's value, gradient and JVP equal the float64 reference
 * backend's (which plans everything row-major), including where a channels-last value meets a row-major
 * one, and graph outputs stay row-major.
 */
@Tag("cpu")
class ChannelsLastTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = CpuBackend.open();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    private static Tensor normal(Arena a, Random r, double scale, long... dims) {
        float[] v = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return Tensor.of(a, v, dims);
    }

    /** conv-bn-relu-conv-bn + shortcut, relu, a row-major term, a transposed convolution, global mean, linear. */
    private static Graph.Function residualNet(Tensor w2, Tensor gamma, Tensor beta, Tensor wUp, Tensor wOut, Tensor labels) {
        return (ops, in) -> {
            Node x = in.get(0);
            Node h = ops.conv2d(x, in.get(1), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
            h = ops.relu(ops.batchNormTraining(h, ops.constant(gamma), ops.constant(beta), 1e-5).get(0));
            Node skip = h;
            h = ops.conv2d(h, ops.constant(w2), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
            h = ops.batchNormTraining(h, ops.constant(gamma), ops.constant(beta), 1e-5).get(0);
            h = ops.relu(ops.add(h, skip));
            // a row-major value of the same shape (a broadcast of the input's channel mean) meets a channels-last one
            Node rowMajor = ops.expand(ops.mean(x, true, 1), h.spec().shape());
            h = ops.tanh(ops.mul(h, rowMajor));
            h = ops.convTranspose2d(h, ops.constant(wUp), null, Hw.of(2), Hw.of(0), Hw.of(0), Hw.of(1), 1);
            h = ops.reshape(ops.mean(ops.gelu(h, false), false, 2, 3), 4, -1);
            h = ops.linear(h, ops.constant(wOut), null);
            return List.of(ops.crossEntropy(h, ops.constant(labels)));
        };
    }

    @Test
    void aResidualNetPlannedChannelsLastMatchesTheReference() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(5);
            Tensor x = normal(a, r, 1, 4, 8, 10, 10);
            Tensor w1 = normal(a, r, 0.3, 8, 8, 3, 3);
            Tensor w2 = normal(a, r, 0.3, 8, 8, 3, 3);
            Tensor gamma = normal(a, r, 1, 8);
            Tensor beta = normal(a, r, 1, 8);
            Tensor wUp = normal(a, r, 0.3, 8, 6, 2, 2);
            Tensor wOut = normal(a, r, 0.3, 5, 6);
            Tensor labels = Tensor.oneHot(a, DType.F32, new int[] {1, 3, 0, 4}, 5);
            List<TensorSpec> specs = List.of(x.spec(), w1.spec());
            Graph.Function f = residualNet(w2, gamma, beta, wUp, wOut, labels);

            assertTrue(Graph.trace(specs, f).compile(cpu).channelsLastValues() >= 8, "convolutions, norms and activations");
            assertEquals(0, Graph.trace(specs, f).compile(new RefBackend()).channelsLastValues());

            RefBackend ref = new RefBackend();
            Graph.Function fRef = residualNet(w2.to(a, DType.F64), gamma.to(a, DType.F64), beta.to(a, DType.F64),
                    wUp.to(a, DType.F64), wOut.to(a, DType.F64), labels.to(a, DType.F64));
            Differentiable onCpu = Differentiable.trace(cpu, specs, f);
            Differentiable onRef = Differentiable.trace(ref, List.of(x.to(a, DType.F64).spec(), w1.to(a, DType.F64).spec()), fRef);
            List<Tensor> in = List.of(x, w1);
            List<Tensor> in64 = List.of(x.to(a, DType.F64), w1.to(a, DType.F64));
            for (int run = 0; run < 2; run++) { // the second run reuses the first one's plan buffer
                close("loss", onRef.apply(a, in64).get(0), onCpu.apply(a, in).get(0), 1e-5);
                List<Tensor> g = onCpu.grad(a, in);
                List<Tensor> gRef = onRef.grad(a, in64);
                close("dL/dx", gRef.get(0), g.get(0), 1e-4);
                close("dL/dw", gRef.get(1), g.get(1), 1e-4);
                assertTrue(g.get(0).isContiguous() && g.get(1).isContiguous(), "graph outputs are row-major");
                Tensor vx = normal(a, r, 1, 4, 8, 10, 10);
                Tensor vw = normal(a, r, 1, 8, 8, 3, 3);
                close("JVP", onRef.jvp(a, in64, List.of(vx.to(a, DType.F64), vw.to(a, DType.F64))).tangents().get(0),
                        onCpu.jvp(a, in, List.of(vx, vw)).tangents().get(0), 1e-4);
            }
        }
    }

    @Test
    void onlyTheOpsThatWriteChannelsLastAcceptIt() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = normal(a, new Random(1), 1, 2, 3, 4, 5);
            Tensor nhwc = Tensor.zeros(a, DType.F32, 2, 4, 5, 3).permute(0, 3, 1, 2);
            assertTrue(nhwc.isDense());
            assertFalse(nhwc.isContiguous());
            cpu.execute(new Eltwise(Eltwise.Kind.RELU, 0, 0), List.of(x), List.of(nhwc));
            assertEquals(List.of(Math.max(0, x.get(1, 2, 3, 4))), List.of(nhwc.get(1, 2, 3, 4)));
            Tensor gapped = Tensor.zeros(a, DType.F32, 2, 3, 4, 10).slice(3, 0, 10, 2);
            var e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.execute(new Eltwise(Eltwise.Kind.RELU, 0, 0), List.of(x), List.of(gapped)));
            assertTrue(e.getMessage().contains("must be dense"), e.getMessage());
            var s = assertThrows(IllegalArgumentException.class, () -> Backend.checkCall(new org.lipa.ops.Softmax(1, false),
                    List.of(x), List.of(nhwc)));
            assertTrue(s.getMessage().contains("must be contiguous"), s.getMessage());
        }
    }

    private static void close(String what, Tensor want, Tensor got, double tol) {
        double[] w = want.toDoubleArray();
        double[] g = got.toDoubleArray();
        assertEquals(w.length, g.length, what);
        double scale = 0;
        for (double v : w) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < w.length; i++) {
            assertEquals(w[i], g[i], tol * Math.max(1, scale), what + " at " + i);
        }
    }
}

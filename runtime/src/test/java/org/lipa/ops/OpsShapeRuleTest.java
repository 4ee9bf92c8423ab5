package org.lipa.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** Each op's shape rule on valid inputs, and the exception and message it gives on invalid ones. */
class OpsShapeRuleTest {
    private static TensorSpec f32(long... dims) {
        return new TensorSpec(Shape.of(dims), DType.F32);
    }

    private static TensorSpec f64(long... dims) {
        return new TensorSpec(Shape.of(dims), DType.F64);
    }

    private static List<TensorSpec> infer(Op op, TensorSpec... in) {
        return op.infer(List.of(in));
    }

    private static Shape out(Op op, TensorSpec... in) {
        List<TensorSpec> o = infer(op, in);
        assertEquals(1, o.size(), op.name() + " has one output");
        return o.get(0).shape();
    }

    /** Asserts an IllegalArgumentException whose message contains every fragment. */
    private static void fails(Executable e, String... fragments) {
        var ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage() != null && ex.getMessage().contains(f),
                    "message '" + ex.getMessage() + "' should mention '" + f + "'");
        }
    }

    /** The facade over specs alone: every op is only shape-checked, which is what these tests need. */
    private static final class Specs extends Ops<TensorSpec> {
        @Override
        public List<TensorSpec> apply(Op op, List<TensorSpec> inputs) {
            return op.infer(inputs);
        }

        @Override
        public TensorSpec constant(Tensor value) {
            return value.spec();
        }

        @Override
        public TensorSpec spec(TensorSpec x) {
            return x;
        }
    }

    private static final Specs OPS = new Specs();

    // ---------------------------------------------------------------- matmul

    @Test
    void matmulBroadcastsBatchDimensions() {
        assertEquals(Shape.of(2, 5, 3, 6), out(new MatMul(), f32(2, 1, 3, 4), f32(5, 4, 6)));
        assertEquals(Shape.of(3, 6), out(new MatMul(), f32(3, 4), f32(4, 6)));
        assertEquals(Shape.of(7, 3, 6), out(new MatMul(), f32(7, 3, 4), f32(4, 6)));
        assertEquals(Shape.of(2, 3, 5), out(new MatMul(), f32(3, 4), f32(2, 4, 5)));
        assertEquals(Shape.of(0, 3, 5), out(new MatMul(), f32(0, 3, 4), f32(1, 4, 5)));
        assertEquals(Shape.of(3, 0), out(new MatMul(), f32(3, 4), f32(4, 0)));
        assertEquals(Shape.of(3, 6), out(new MatMul(), f32(3, 0), f32(0, 6)), "an empty inner dimension is a zero sum");
        assertEquals(DType.F64, infer(new MatMul(), f64(3, 4), f64(4, 6)).get(0).dtype());
        // bias broadcasts to the result
        assertEquals(Shape.of(3, 6), out(new MatMul(), f32(3, 4), f32(4, 6), f32(6)));
        assertEquals(Shape.of(3, 6), out(new MatMul(), f32(3, 4), f32(4, 6), f32(3, 1)));
        assertEquals(Shape.of(2, 3, 6), out(new MatMul(), f32(2, 3, 4), f32(4, 6), f32()));
    }

    @Test
    void matmulRejectsBadOperandsNamingThem() {
        fails(() -> out(new MatMul(), f32(3, 4), f32(5, 6)), "matmul", "a [3, 4]", "4 columns", "b [5, 6]", "5 rows");
        fails(() -> out(new MatMul(), f32(2, 3, 4), f32(3, 4, 6)), "batch", "[2, 3, 4]", "[3, 4, 6]");
        fails(() -> out(new MatMul(), f32(3, 4), f32(4, 6), f32(5)), "bias [5]", "[3, 6]");
        fails(() -> out(new MatMul(), f32(3, 4), f32(4, 6), f32(2, 3, 6)), "bias [2, 3, 6]", "[3, 6]");
        fails(() -> out(new MatMul(), f32(4), f32(4, 6)), "a must have rank 2", "[4]");
        fails(() -> out(new MatMul(), f32(3, 4), f32(4)), "b must have rank 2", "[4]");
        fails(() -> out(new MatMul(), f32(3, 4), f64(4, 6)), "b is f64", "a is f32");
        fails(() -> out(new MatMul(), f32(3, 4), f32(4, 6), f64(6)), "bias is f64", "a is f32");
        fails(() -> new MatMul().infer(List.of(f32(2, 2))), "matmul takes 2 to 3 inputs, got 1");
    }

    // ---------------------------------------------------------------- convolutions

    /** Output positions of a window of {@code span} elements at stride {@code s} in a padded input, by counting. */
    private static long windows(long in, long span, int s, int p) {
        long n = 0;
        for (long o = 0; o * s - p + span - 1 <= in - 1 + p; o++) {
            n++;
        }
        return n;
    }

    @Test
    void conv2dOutputSizeFollowsTheFormula() {
        Conv2d c = new Conv2d(Hw.of(2), Hw.of(1), Hw.of(2), 2);
        // (9 + 2 - 2*2 - 1) / 2 + 1 = 4 ; (8 + 2 - 5) / 2 + 1 = 3
        assertEquals(Shape.of(1, 6, 4, 3), out(c, f32(1, 4, 9, 8), f32(6, 2, 3, 3)));
        assertEquals(Shape.of(1, 6, 4, 3), out(c, f32(1, 4, 9, 8), f32(6, 2, 3, 3), f32(6)), "with bias");
        // separate sizes per axis: (10 + 0 - 3) / 3 + 1 = 3 ; (7 + 4 - 2 * 4 - 1) / 1 + 1 = 3
        Conv2d r = new Conv2d(new Hw(3, 1), new Hw(0, 2), new Hw(1, 2), 1);
        assertEquals(Shape.of(2, 5, 3, 3), out(r, f32(2, 3, 10, 7), f32(5, 3, 3, 5)));
        // depthwise
        assertEquals(Shape.of(1, 8, 5, 5), out(new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 4), f32(1, 4, 5, 5), f32(8, 1, 3, 3)));
        assertEquals(Shape.of(1, 1, 1, 1), out(Conv2d.simple(), f32(1, 1, 3, 3), f32(1, 1, 3, 3)), "kernel as large as the input");

        Random rnd = new Random(3);
        int checked = 0;
        for (int c2 = 0; c2 < 500; c2++) {
            int s = 1 + rnd.nextInt(3);
            int p = rnd.nextInt(3);
            int dil = 1 + rnd.nextInt(3);
            int g = 1 + rnd.nextInt(3);
            long k = 1 + rnd.nextInt(4);
            long h = 1 + rnd.nextInt(12);
            long cin = g * (1 + rnd.nextInt(2));
            long cout = g * (1 + rnd.nextInt(2));
            Conv2d op = new Conv2d(Hw.of(s), Hw.of(p), Hw.of(dil), g);
            long expected = windows(h, dil * (k - 1) + 1, s, p);
            TensorSpec x = f32(2, cin, h, h + 1);
            TensorSpec w = f32(cout, cin / g, k, k);
            if (expected == 0) {
                fails(() -> out(op, x, w), "kernel", "dilation " + dil);
            } else {
                long expectedW = windows(h + 1, dil * (k - 1) + 1, s, p);
                assertEquals(Shape.of(2, cout, expected, expectedW), out(op, x, w), op + " on " + x + " with " + w);
                checked++;
            }
        }
        assertTrue(checked > 300, "valid cases: " + checked);
    }

    @Test
    void conv2dRejectsBadArgumentsNamingThem() {
        Conv2d c = new Conv2d(Hw.of(2), Hw.of(1), Hw.of(2), 2);
        fails(() -> out(c, f32(1, 3, 9, 8), f32(6, 2, 3, 3)), "x [1, 3, 9, 8]", "3 channels", "groups 2");
        fails(() -> out(c, f32(1, 4, 9, 8), f32(5, 2, 3, 3)), "weight [5, 2, 3, 3]", "not divisible by groups 2");
        fails(() -> out(Conv2d.simple(), f32(1, 2, 4, 4), f32(3, 1, 3, 3)), "x [1, 2, 4, 4]", "weight [3, 1, 3, 3]", "2 channels");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 2, 2), f32(1, 1, 3, 3)), "kernel height 3", "padded input height is only 2");
        fails(() -> out(new Conv2d(Hw.of(1), Hw.of(1), Hw.of(3), 1), f32(1, 1, 4, 4), f32(1, 1, 3, 3)),
                "dilation 3", "spans 7", "6");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 3, 3), f32(3)), "bias", "[2]", "[3]");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 3, 3), f32(1, 2)), "bias", "[1, 2]");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f64(2, 1, 3, 3)), "weight is f64", "x is f32");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 3, 3), f64(2)), "bias is f64");
        fails(() -> out(Conv2d.simple(), f32(1, 4, 4), f32(2, 1, 3, 3)), "x must have rank 4", "[1, 4, 4]");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 3)), "weight must have rank 4", "[2, 1, 3]");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 0, 3)), "weight [2, 1, 0, 3]", "kernel");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4)), "conv2d takes 2 to 3 inputs, got 1");
        fails(() -> new Conv2d(Hw.of(0), Hw.of(0), Hw.of(1), 1), "conv2d", "stride", "(0, 0)");
        fails(() -> new Conv2d(Hw.of(1), new Hw(0, -1), Hw.of(1), 1), "padding", "(0, -1)");
        fails(() -> new Conv2d(Hw.of(1), Hw.of(0), new Hw(1, 0), 1), "dilation", "(1, 0)");
        fails(() -> new Conv2d(Hw.of(1), Hw.of(0), Hw.of(1), 0), "groups", "0");
    }

    @Test
    void convTransposeOutputSizeFollowsTheFormula() {
        ConvTranspose2d t = new ConvTranspose2d(Hw.of(2), Hw.of(1), Hw.of(1), Hw.of(1), 1);
        // (4 - 1) * 2 - 2 + (3 - 1) + 1 + 1 = 8
        assertEquals(Shape.of(2, 5, 8, 8), out(t, f32(2, 3, 4, 4), f32(3, 5, 3, 3)));
        assertEquals(Shape.of(2, 5, 8, 8), out(t, f32(2, 3, 4, 4), f32(3, 5, 3, 3), f32(5)), "with bias");
        // groups multiply the output channels: w [C, O/groups, ...]; (3 - 1) * 1 - 0 + 2 * (2 - 1) + 0 + 1 = 5
        ConvTranspose2d g = new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(0), Hw.of(2), 2);
        assertEquals(Shape.of(1, 6, 5, 5), out(g, f32(1, 4, 3, 3), f32(4, 3, 2, 2)));
        // output padding may come from dilation when the stride is 1: (3 - 1) - 0 + 2 * 2 + 1 + 1 = 8
        ConvTranspose2d d = new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(1), Hw.of(2), 1);
        assertEquals(Shape.of(1, 1, 8, 8), out(d, f32(1, 1, 3, 3), f32(1, 1, 3, 3)));

        // the transposed convolution's output is an input the forward convolution maps back to x's size
        Random rnd = new Random(4);
        for (int c = 0; c < 300; c++) {
            int s = 1 + rnd.nextInt(3);
            int p = rnd.nextInt(2);
            int dil = 1 + rnd.nextInt(2);
            int op = rnd.nextInt(s);
            int groups = 1 + rnd.nextInt(2);
            long k = 1 + rnd.nextInt(3);
            long h = 1 + rnd.nextInt(6);
            long cin = groups * (1 + rnd.nextInt(2));
            long cout = groups * (1 + rnd.nextInt(2));
            TensorSpec x = f32(1, cin, h, h + 2);
            TensorSpec w = f32(cin, cout / groups, k, k);
            var tr = new ConvTranspose2d(Hw.of(s), Hw.of(p), Hw.of(op), Hw.of(dil), groups);
            long raw = (h - 1) * s - 2L * p + dil * (k - 1) + op + 1;
            if (raw <= 0) {
                fails(() -> out(tr, x, w), "padding", "empty output");
                continue;
            }
            Shape y = out(tr, x, w);
            assertEquals(Shape.of(1, cout, raw, raw + 2L * s), y, tr + " on " + x + " with " + w);
            var fwd = new Conv2d(Hw.of(s), Hw.of(p), Hw.of(dil), groups);
            // the forward weight is [O, C/groups, K, K] for the same data
            Shape back = out(fwd, f32(1, cout, y.dim(2), y.dim(3)), f32(cin, cout / groups, k, k));
            assertEquals(Shape.of(1, cin, h, h + 2), back, "adjoint of " + tr);
        }
    }

    @Test
    void convTransposeRejectsBadArgumentsNamingThem() {
        ConvTranspose2d t = new ConvTranspose2d(Hw.of(2), Hw.of(1), Hw.of(1), Hw.of(1), 1);
        fails(() -> out(t, f32(2, 4, 4, 4), f32(3, 5, 3, 3)), "x [2, 4, 4, 4]", "4 channels", "weight [3, 5, 3, 3]", "3");
        var g2 = new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(0), Hw.of(1), 2);
        fails(() -> out(g2, f32(1, 3, 4, 4), f32(3, 2, 3, 3)), "weight [3, 2, 3, 3]", "not divisible by groups 2");
        fails(() -> out(t, f32(2, 3, 4, 4), f32(3, 5, 3, 3), f32(10)), "bias", "[5]", "[10]");
        fails(() -> out(t, f32(2, 3, 4, 4), f64(3, 5, 3, 3)), "weight is f64");
        fails(() -> out(new ConvTranspose2d(Hw.of(1), Hw.of(3), Hw.of(0), Hw.of(1), 1), f32(1, 1, 2, 2), f32(1, 1, 3, 3)),
                "padding (3, 3)", "empty output");
        fails(() -> out(t, f32(2, 3, 4, 4), f32(3, 5, 0, 3)), "weight [3, 5, 0, 3]", "kernel");
        fails(() -> new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(1), Hw.of(1), 1), "outputPadding (1, 1)", "stride (1, 1)");
        fails(() -> new ConvTranspose2d(Hw.of(2), Hw.of(0), new Hw(1, 2), Hw.of(1), 1), "outputPadding (1, 2)");
        fails(() -> new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(-1), Hw.of(1), 1), "outputPadding", "(-1, -1)");
        fails(() -> new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(0), Hw.of(1), -2), "groups", "-2");
    }

    @Test
    void conv2dWeightGrad() {
        var wg = new Conv2dWeightGrad(Hw.of(1), Hw.of(1), Hw.of(1), 2, Hw.of(3));
        assertEquals(Shape.of(6, 2, 3, 3), out(wg, f32(2, 4, 5, 5), f32(2, 6, 5, 5)));
        var strided = new Conv2dWeightGrad(Hw.of(2), Hw.of(0), Hw.of(1), 1, new Hw(3, 2));
        // (7 - 3) / 2 + 1 = 3 ; (6 - 2) / 2 + 1 = 3
        assertEquals(Shape.of(4, 3, 3, 2), out(strided, f32(1, 3, 7, 6), f32(1, 4, 3, 3)));
        assertEquals(strided.forward(), new Conv2d(Hw.of(2), Hw.of(0), Hw.of(1), 1));
        fails(() -> out(wg, f32(2, 4, 5, 5), f32(2, 6, 4, 4)), "g [2, 6, 4, 4]", "[2, 6, 5, 5]");
        fails(() -> out(wg, f32(2, 3, 5, 5), f32(2, 6, 5, 5)), "[2, 3, 5, 5]", "groups 2");
        fails(() -> out(wg, f32(2, 4, 5, 5), f64(2, 6, 5, 5)), "g is f64");
        fails(() -> new Conv2dWeightGrad(Hw.of(1), Hw.of(0), Hw.of(1), 1, Hw.of(0)), "conv2d_weight_grad", "kernel", "(0, 0)");
    }

    // ---------------------------------------------------------------- pooling

    @Test
    void poolOutputSizeFollowsTheFormula() {
        assertEquals(Shape.of(2, 3, 4, 5), out(new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1)), f32(2, 3, 7, 9)));
        assertEquals(Shape.of(1, 2, 2, 3), out(new Pool2d(Pool2d.Kind.AVG_INCLUDE_PAD, new Hw(2, 3), new Hw(2, 1), Hw.of(0)),
                f32(1, 2, 5, 5)));
        Random rnd = new Random(5);
        for (int c = 0; c < 300; c++) {
            int k = 1 + rnd.nextInt(4);
            int s = 1 + rnd.nextInt(3);
            int p = rnd.nextInt(k / 2 + 1);
            long h = 1 + rnd.nextInt(10);
            var kind = Pool2d.Kind.values()[rnd.nextInt(3)];
            var pool = new Pool2d(kind, Hw.of(k), Hw.of(s), Hw.of(p));
            long expected = windows(h, k, s, p);
            if (expected == 0) {
                fails(() -> out(pool, f32(1, 1, h, h)), "kernel (" + k + ", " + k + ")", "[1, 1, " + h + ", " + h + "]");
            } else {
                assertEquals(Shape.of(1, 1, expected, expected), out(pool, f32(1, 1, h, h)), pool + " on " + h);
                assertEquals(DType.F64, infer(pool, f64(1, 1, h, h)).get(0).dtype());
            }
        }
    }

    @Test
    void poolRejectsBadArgumentsNamingThem() {
        fails(() -> new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(1), Hw.of(2)), "max_pool2d", "padding (2, 2)", "half", "(2, 2)");
        fails(() -> new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, Hw.of(3), Hw.of(1), Hw.of(2)), "avg_pool2d", "padding (2, 2)");
        fails(() -> new Pool2d(Pool2d.Kind.MAX, Hw.of(0), Hw.of(1), Hw.of(0)), "max_pool2d", "kernel", "(0, 0)");
        fails(() -> new Pool2d(Pool2d.Kind.MAX, Hw.of(2), new Hw(1, 0), Hw.of(0)), "max_pool2d", "stride", "(1, 0)");
        fails(() -> new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(1), Hw.of(-1)), "max_pool2d", "padding", "(-1, -1)");
        var pool = new Pool2d(Pool2d.Kind.MAX, Hw.of(5), Hw.of(1), Hw.of(0));
        fails(() -> out(pool, f32(1, 1, 3, 3)), "max_pool2d", "kernel (5, 5)", "[1, 1, 3, 3]");
        fails(() -> out(pool, f32(1, 8, 8)), "x must have rank 4", "[1, 8, 8]");
    }

    @Test
    void poolGradientAndTangent() {
        var pool = new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(2), Hw.of(0));
        var pg = new Pool2dGrad(pool);
        assertEquals(Shape.of(1, 2, 5, 4), out(pg, f32(1, 2, 5, 4), f32(1, 2, 2, 2)));
        assertEquals("max_pool2d_grad", pg.name());
        fails(() -> out(pg, f32(1, 2, 4, 4), f32(1, 2, 3, 3)), "g [1, 2, 3, 3]", "pooled shape", "[1, 2, 2, 2]", "[1, 2, 4, 4]");
        fails(() -> out(pg, f32(1, 2, 4, 4), f64(1, 2, 2, 2)), "g is f64");
        var pt = new Pool2dTangent(pool);
        assertEquals(Shape.of(1, 2, 2, 2), out(pt, f32(1, 2, 4, 4), f32(1, 2, 4, 4)));
        fails(() -> out(pt, f32(1, 2, 4, 4), f32(1, 2, 4, 5)), "v [1, 2, 4, 5]", "x [1, 2, 4, 4]");
        fails(() -> out(pt, f32(1, 2, 4, 4), f64(1, 2, 4, 4)), "v is f64");
    }

    // ---------------------------------------------------------------- reductions

    @Test
    void reduceKeepsOrDropsAxes() {
        assertEquals(Shape.of(2, 1, 4), out(new Reduce(Reduce.Kind.SUM, List.of(1), true), f32(2, 3, 4)));
        assertEquals(Shape.of(2, 4), out(new Reduce(Reduce.Kind.SUM, List.of(1), false), f32(2, 3, 4)));
        assertEquals(Shape.of(2), out(new Reduce(Reduce.Kind.MEAN, List.of(-1, 1), false), f32(2, 3, 4)));
        assertEquals(Shape.of(2, 1, 1), out(new Reduce(Reduce.Kind.MEAN, List.of(-1, 1), true), f32(2, 3, 4)));
        assertEquals(Shape.of(3), out(new Reduce(Reduce.Kind.MAX, List.of(-3, 2), false), f32(2, 3, 4)));
        assertEquals(Shape.scalar(), out(new Reduce(Reduce.Kind.NORM_L2, List.of(), false), f32(2, 3)));
        assertEquals(Shape.of(1, 1), out(new Reduce(Reduce.Kind.NORM_L2, List.of(), true), f32(2, 3)));
        assertEquals(Shape.scalar(), out(new Reduce(Reduce.Kind.SUM, List.of(), false), f32()));
        assertEquals(Shape.of(5), out(new Reduce(Reduce.Kind.SUM, List.of(0), false), f32(0, 5)), "a sum over nothing is 0");
        assertEquals(DType.F64, infer(new Reduce(Reduce.Kind.SUM, List.of(0), false), f64(3)).get(0).dtype());
        assertArrayEquals(new int[] {0, 2}, new Reduce(Reduce.Kind.SUM, List.of(-1, 0), false).axesFor(3));
        assertArrayEquals(new int[] {0, 1, 2}, new Reduce(Reduce.Kind.SUM, List.of(), false).axesFor(3));
        assertEquals(Shape.of(2, 1, 1), new Reduce(Reduce.Kind.SUM, List.of(1, 2), false).keptShape(Shape.of(2, 3, 4)));
    }

    @Test
    void reduceRejectsBadAxesNamingThem() {
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(1, -2), false), f32(2, 3, 4)), "reduce_sum", "axis -2", "repeated", "[1, -2]");
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(0, 0), true), f32(2, 3)), "axis 0", "repeated");
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(3), false), f32(2, 3, 4)), "axis 3", "out of range", "[2, 3, 4]");
        fails(() -> out(new Reduce(Reduce.Kind.MEAN, List.of(-4), false), f32(2, 3, 4)), "reduce_mean", "axis -4", "[2, 3, 4]");
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(0), false), f32()), "axis 0");
        fails(() -> out(new Reduce(Reduce.Kind.MAX, List.of(0), false), f32(0, 3)), "reduce_max", "axis 0", "[0, 3]", "empty");
        fails(() -> out(new Reduce(Reduce.Kind.MIN, List.of(), false), f32(2, 0)), "reduce_min", "empty");
    }

    // ---------------------------------------------------------------- concat, binary, cast, full

    @Test
    void concatJoinsAlongOneAxis() {
        assertEquals(Shape.of(2, 7), out(new Concat(1), f32(2, 3), f32(2, 4)));
        assertEquals(Shape.of(2, 7), out(new Concat(-1), f32(2, 3), f32(2, 4)));
        assertEquals(Shape.of(6, 3), out(new Concat(0), f32(1, 3), f32(0, 3), f32(5, 3)));
        assertEquals(Shape.of(2, 3), out(new Concat(0), f32(2, 3)));
        assertEquals(DType.F64, infer(new Concat(0), f64(1), f64(2)).get(0).dtype());
        fails(() -> out(new Concat(1), f32(2, 3), f32(3, 4)), "concat", "axis 1", "input 1 [3, 4]", "input 0 [2, 3]");
        fails(() -> out(new Concat(0), f32(2, 3), f32(2, 3, 1)), "input 1 [2, 3, 1]");
        fails(() -> out(new Concat(0), f32(2, 3), f64(2, 3)), "concat", "input 1 is f64", "input 0 is f32");
        fails(() -> out(new Concat(2), f32(2, 3), f32(2, 3)), "concat", "axis 2", "[2, 3]");
        fails(() -> out(new Concat(0), f32(), f32()), "concat", "axis 0", "[]");
        fails(() -> new Concat(0).infer(List.of()), "concat", "at least one input");
    }

    @Test
    void binaryBroadcasts() {
        assertEquals(Shape.of(4, 2, 3), out(new Binary(Binary.Kind.ADD), f32(2, 1), f32(4, 1, 3)));
        assertEquals(Shape.of(2, 3), out(new Binary(Binary.Kind.DIV), f32(2, 3), f32()));
        assertEquals(Shape.of(0, 3), out(new Binary(Binary.Kind.MAX), f32(0, 1), f32(3)));
        for (var k : Binary.Kind.values()) {
            assertEquals(Shape.of(5), out(new Binary(k), f32(5), f32(5)));
        }
        fails(() -> out(new Binary(Binary.Kind.MUL), f32(2, 3), f32(3, 2)), "mul", "[2, 3]", "[3, 2]", "broadcast");
        fails(() -> out(new Binary(Binary.Kind.SUB), f32(2), f64(2)), "sub", "b is f64", "a is f32");
        fails(() -> out(new Binary(Binary.Kind.ADD), f32(2)), "add takes 2 inputs, got 1");
    }

    @Test
    void castFullAndArity() {
        assertEquals(new TensorSpec(Shape.of(2, 3), DType.BF16), infer(new Cast(DType.BF16), f32(2, 3)).get(0));
        assertEquals(new TensorSpec(Shape.of(2), DType.F64), infer(new Cast(DType.F64), f32(2)).get(0));
        assertEquals(f32(4), infer(new Cast(DType.F32), f32(4)).get(0), "a cast to the same dtype is a contiguous copy");
        fails(() -> infer(new Cast(DType.F32), f32(1), f32(1)), "cast takes 1 inputs, got 2");
        assertThrows(NullPointerException.class, () -> new Cast(null));
        assertEquals(List.of(f64(3, 2)), new Full(f64(3, 2), 1).infer(List.of()));
        fails(() -> infer(new Full(f64(3), 0), f64(3)), "full takes 0 inputs, got 1");
    }

    // ---------------------------------------------------------------- elementwise

    @Test
    void eltwiseKeepsTheSpec() {
        for (var k : Eltwise.Kind.values()) {
            double alpha = k == Eltwise.Kind.SOFTPLUS || k == Eltwise.Kind.CLIP ? 1 : 0;
            double beta = k == Eltwise.Kind.CLIP ? 2 : 0;
            var e = new Eltwise(k, alpha, beta);
            assertEquals(List.of(f64(2, 0, 3)), e.infer(List.of(f64(2, 0, 3))), k.name());
            assertEquals(List.of(f32(4)), EltwiseGrad.of(e).infer(List.of(f32(4), f32(4))), k.name());
        }
        assertEquals("gelu_erf", Eltwise.of(Eltwise.Kind.GELU_ERF).name());
        assertEquals("clip_grad", EltwiseGrad.of(new Eltwise(Eltwise.Kind.CLIP, -1, 1)).name());
        // bounds may be equal or infinite
        new Eltwise(Eltwise.Kind.CLIP, 1, 1);
        new Eltwise(Eltwise.Kind.CLIP, Double.NEGATIVE_INFINITY, 0);
        fails(() -> Eltwise.of(Eltwise.Kind.TANH).infer(List.of(f32(1), f32(1))), "tanh takes 1 inputs, got 2");
    }

    @Test
    void eltwiseRejectsBadParametersNamingThem() {
        fails(() -> new Eltwise(Eltwise.Kind.RELU, Double.NaN, 0), "relu", "NaN", "alpha=NaN");
        fails(() -> new Eltwise(Eltwise.Kind.LINEAR, 1, Double.NaN), "linear", "beta=NaN");
        fails(() -> new Eltwise(Eltwise.Kind.CLIP, Double.NaN, 1), "clip", "NaN");
        fails(() -> new Eltwise(Eltwise.Kind.SIGMOID, Double.NaN, 0), "sigmoid", "NaN");
        fails(() -> new Eltwise(Eltwise.Kind.SOFTPLUS, 0, 0), "softplus", "beta", "> 0", "0.0");
        fails(() -> new Eltwise(Eltwise.Kind.SOFTPLUS, -1.5, 0), "softplus", "beta", "-1.5");
        fails(() -> new Eltwise(Eltwise.Kind.SOFTPLUS, Double.POSITIVE_INFINITY, 0), "softplus", "beta", "Infinity");
        fails(() -> new Eltwise(Eltwise.Kind.CLIP, 2, 1), "clip", "2.0", "1.0");
        fails(() -> new Eltwise(Eltwise.Kind.LINEAR, Double.POSITIVE_INFINITY, 0), "linear", "finite", "Infinity");
        fails(() -> new Eltwise(Eltwise.Kind.ELU, Double.NEGATIVE_INFINITY, 0), "elu", "finite");
        fails(() -> new Eltwise(Eltwise.Kind.SWISH, Double.POSITIVE_INFINITY, 0), "swish", "finite");
        // the gradient op makes the same checks
        fails(() -> new EltwiseGrad(Eltwise.Kind.SOFTPLUS, -1, 0), "softplus", "beta");
        fails(() -> new EltwiseGrad(Eltwise.Kind.CLIP, 3, -3), "clip", "3.0", "-3.0");
        var g = EltwiseGrad.of(Eltwise.of(Eltwise.Kind.TANH));
        fails(() -> out(g, f32(3), f32(4)), "tanh_grad", "x [3]", "g [4]");
        fails(() -> out(g, f32(3), f64(3)), "tanh_grad", "g is f64", "x is f32");
    }

    @Test
    void eltwiseNamesDoNotDependOnTheDefaultLocale() {
        java.util.Locale saved = java.util.Locale.getDefault();
        try {
            java.util.Locale.setDefault(java.util.Locale.forLanguageTag("tr-TR"));
            fails(() -> new Eltwise(Eltwise.Kind.SIGMOID, Double.NaN, 0), "sigmoid:");
            fails(() -> new Eltwise(Eltwise.Kind.SWISH, Double.POSITIVE_INFINITY, 0), "swish:");
            assertEquals("sigmoid", Eltwise.of(Eltwise.Kind.SIGMOID).name());
        } finally {
            java.util.Locale.setDefault(saved);
        }
    }

    // ---------------------------------------------------------------- softmax and normalization

    @Test
    void softmax() {
        assertEquals(Shape.of(2, 3), out(new Softmax(-1, false), f32(2, 3)));
        assertEquals(Shape.of(2, 3), out(new Softmax(0, true), f32(2, 3)));
        assertEquals("log_softmax", new Softmax(0, true).name());
        fails(() -> out(new Softmax(2, false), f32(2, 3)), "softmax", "axis 2", "[2, 3]");
        fails(() -> out(new Softmax(-3, true), f32(2, 3)), "log_softmax", "axis -3");
        fails(() -> out(new Softmax(0, false), f32()), "softmax", "x must have rank 1", "[]");
        var g = new SoftmaxGrad(1, false);
        assertEquals(Shape.of(2, 3), out(g, f32(2, 3), f32(2, 3)));
        assertEquals(new Softmax(1, false), g.forward());
        fails(() -> out(g, f32(2, 3), f32(3, 2)), "softmax_grad", "y [2, 3]", "g [3, 2]");
        fails(() -> out(g, f32(2, 3), f64(2, 3)), "g is f64");
        fails(() -> out(new SoftmaxGrad(2, true), f32(2, 3), f32(2, 3)), "log_softmax_grad", "axis 2");
    }

    @Test
    void layerNormStatisticsHaveTheLeadingShape() {
        var ln = infer(new LayerNorm(2, 1e-5), f32(4, 3, 5), f32(3, 5), f32(3, 5));
        assertEquals(List.of(f32(4, 3, 5), f32(4), f32(4)), ln);
        assertEquals(List.of(f32(2, 3, 4), f32(2, 3), f32(2, 3)), infer(new LayerNorm(1, 1e-5), f32(2, 3, 4)));
        assertEquals(List.of(f64(3, 5), f64(), f64()), infer(new LayerNorm(2, 1e-5), f64(3, 5)), "all dims normalized: scalar stats");
        fails(() -> infer(new LayerNorm(1, 1e-5), f32(4, 3), f32(4), f32(3)), "layer_norm", "gamma", "[3]", "[4]");
        fails(() -> infer(new LayerNorm(1, 1e-5), f32(4, 3), f32(3), f32(1, 3)), "layer_norm", "beta", "[1, 3]");
        fails(() -> infer(new LayerNorm(3, 1e-5), f32(4, 3)), "layer_norm", "x [4, 3]", "3");
        fails(() -> infer(new LayerNorm(1, 1e-5), f32(4, 3), f32(3)), "layer_norm", "got 2 inputs");
        fails(() -> infer(new LayerNorm(1, 1e-5), f32(4, 3), f64(3), f32(3)), "gamma is f64");
        fails(() -> new LayerNorm(1, 0), "layer_norm", "eps", "0.0");
        fails(() -> new LayerNorm(1, -1e-5), "eps", "-1.0E-5");
        fails(() -> new LayerNorm(1, Double.NaN), "eps", "NaN");
        fails(() -> new LayerNorm(1, Double.POSITIVE_INFINITY), "eps", "Infinity");
        fails(() -> new LayerNorm(0, 1e-5), "normalizedRank", "0");

        var grad = new LayerNormGrad(1, 1e-5, true);
        assertEquals(List.of(f32(4, 3), f32(3), f32(3)), infer(grad, f32(4, 3), f32(3), f32(4), f32(4), f32(4, 3)));
        assertEquals(List.of(f32(4, 3)), infer(new LayerNormGrad(1, 1e-5, false), f32(4, 3), f32(4), f32(4), f32(4, 3)));
        fails(() -> infer(grad, f32(4, 3), f32(3), f32(3), f32(4), f32(4, 3)), "layer_norm_grad", "mean", "f32[4]", "f32[3]");
        fails(() -> infer(grad, f32(4, 3), f32(3), f32(4), f64(4), f32(4, 3)), "variance", "f64[4]");
        fails(() -> infer(grad, f32(4, 3), f32(3), f32(4), f32(4), f32(3, 4)), "g", "f32[3, 4]");
        fails(() -> new LayerNormGrad(1, 0, true), "eps");
    }

    @Test
    void batchAndGroupNormStatistics() {
        assertEquals(List.of(f32(8, 3, 2), f32(3), f32(3)), infer(new BatchNorm(1e-5, true), f32(8, 3, 2), f32(3), f32(3)));
        assertEquals(List.of(f32(8, 3)), infer(new BatchNorm(1e-5, false), f32(8, 3), f32(3), f32(3), f32(3), f32(3)));
        fails(() -> infer(new BatchNorm(1e-5, true), f32(8, 3), f32(4), f32(3)), "batch_norm", "gamma", "[3]", "[4]");
        fails(() -> infer(new BatchNorm(1e-5, true), f32(8, 3), f32(3), f32(3, 1)), "beta", "[3, 1]");
        fails(() -> infer(new BatchNorm(1e-5, false), f32(8, 3), f32(3), f32(3), f32(3), f32(2)), "runningVar", "[2]");
        fails(() -> infer(new BatchNorm(1e-5, false), f32(8, 3), f32(3), f32(3), f64(3), f32(3)), "runningMean is f64");
        fails(() -> infer(new BatchNorm(1e-5, true), f32(8), f32(8), f32(8)), "x must have rank 2 to 5", "[8]");
        fails(() -> infer(new BatchNorm(1e-5, true), f32(8, 3), f32(3)), "takes 3 inputs, got 2");
        fails(() -> new BatchNorm(0, true), "batch_norm", "eps");

        assertEquals(List.of(f32(2, 8, 3), f32(2, 4), f32(2, 4)), infer(new GroupNorm(4, 1e-5), f32(2, 8, 3), f32(8), f32(8)));
        assertEquals(List.of(f32(2, 6), f32(2, 1), f32(2, 1)), infer(new GroupNorm(1, 1e-5), f32(2, 6), f32(6), f32(6)));
        fails(() -> infer(new GroupNorm(3, 1e-5), f32(2, 8, 3), f32(8), f32(8)), "group_norm", "x [2, 8, 3]", "8 channels", "groups 3");
        fails(() -> infer(new GroupNorm(2, 1e-5), f32(2, 8, 3), f32(8), f32(4)), "group_norm", "beta", "[8]", "[4]");
        fails(() -> new GroupNorm(0, 1e-5), "group_norm", "groups", "0");
        fails(() -> new GroupNorm(2, -1), "group_norm", "eps", "-1.0");

        var bng = new NormGrad(0, 1e-5);
        assertEquals(List.of(f32(8, 3, 2), f32(3), f32(3)), infer(bng, f32(8, 3, 2), f32(3), f32(3), f32(3), f32(8, 3, 2)));
        var gng = new NormGrad(2, 1e-5);
        assertEquals(List.of(f32(2, 4), f32(4), f32(4)), infer(gng, f32(2, 4), f32(4), f32(2, 2), f32(2, 2), f32(2, 4)));
        fails(() -> infer(gng, f32(2, 4), f32(4), f32(2, 4), f32(2, 2), f32(2, 4)), "group_norm_grad", "mean", "f32[2, 2]", "f32[2, 4]");
        fails(() -> infer(bng, f32(8, 3), f32(3), f32(3), f32(3), f32(8, 4)), "batch_norm_grad", "g", "f32[8, 4]");
        fails(() -> new NormGrad(-1, 1e-5), "groups", "-1");
        fails(() -> new NormGrad(0, 0), "eps");
    }

    // ---------------------------------------------------------------- views

    @Test
    void viewOps() {
        assertEquals(Shape.of(3, 2), out(new ViewOp.Reshape(Shape.of(3, 2)), f32(2, 3)));
        fails(() -> out(new ViewOp.Reshape(Shape.of(4, 2)), f32(2, 3)), "reshape", "[2, 3]", "6 elements", "[4, 2]", "8 elements");
        assertEquals(Shape.of(4, 2, 3), out(new ViewOp.Permute(List.of(2, 0, 1)), f32(2, 3, 4)));
        assertEquals(Shape.of(4, 2, 3), out(new ViewOp.Permute(List.of(-1, 0, 1)), f32(2, 3, 4)));
        fails(() -> out(new ViewOp.Permute(List.of(0, 1)), f32(2, 3, 4)), "permute", "[0, 1]", "rank 3");
        fails(() -> out(new ViewOp.Permute(List.of(0, 0, 1)), f32(2, 3, 4)), "permute", "[0, 0, 1]", "repeats axis 0");
        fails(() -> out(new ViewOp.Permute(List.of(0, 1, 3)), f32(2, 3, 4)), "permute", "axis 3");
        assertEquals(Shape.of(2, 3, 4), out(new ViewOp.Expand(Shape.of(2, 3, 4)), f32(3, 1)));
        fails(() -> out(new ViewOp.Expand(Shape.of(3)), f32(2, 3)), "expand", "[2, 3]", "[3]");
        fails(() -> out(new ViewOp.Expand(Shape.of(2, 4)), f32(2, 3)), "expand", "[2, 3]", "[2, 4]");
        fails(() -> out(new ViewOp.Expand(Shape.of(1, 3)), f32(2, 3)), "expand", "[2, 3]", "[1, 3]");
        assertEquals(Shape.of(2, 2), out(new ViewOp.Slice(1, 0, 4, 3), f32(2, 5)));
        assertEquals(Shape.of(2, 0), out(new ViewOp.Slice(1, 2, 2, 1), f32(2, 5)));
        fails(() -> out(new ViewOp.Slice(1, 0, 6, 1), f32(2, 5)), "slice", "[0, 6)", "axis 1", "[2, 5]");
        fails(() -> out(new ViewOp.Slice(1, 3, 2, 1), f32(2, 5)), "slice", "[3, 2)");
        fails(() -> out(new ViewOp.Slice(1, 0, 2, 0), f32(2, 5)), "slice", "step 0");
        fails(() -> out(new ViewOp.Slice(2, 0, 1, 1), f32(2, 5)), "slice", "axis 2");
    }

    // ---------------------------------------------------------------- the facade

    @Test
    void facadeResolvesReshapeAndSliceArguments() {
        assertEquals(Shape.of(3, 8), OPS.reshape(f32(2, 3, 4), 3, -1).shape());
        assertEquals(Shape.of(24), OPS.reshape(f32(2, 3, 4), -1).shape());
        assertEquals(Shape.of(0, 4), OPS.reshape(f32(2, 0, 4), -1, 4).shape());
        fails(() -> OPS.reshape(f32(2, 3, 4), -1, -1), "reshape", "only one dimension may be -1");
        fails(() -> OPS.reshape(f32(2, 3, 4), 5, -1), "reshape", "[2, 3, 4]", "[5, -1]");
        fails(() -> OPS.reshape(f32(2, 3, 4), 0, -1), "reshape", "[2, 3, 4]", "[0, -1]");
        fails(() -> OPS.reshape(f32(2, 3, 4), -2, 12), "reshape", "negative");
        fails(() -> OPS.reshape(f32(2, 3, 4), 5, 5), "reshape", "24 elements", "25 elements");
        assertEquals(Shape.of(2, 2), OPS.slice(f32(2, 5), -1, -3, -1).shape());
        assertEquals(Shape.of(1, 5), OPS.slice(f32(2, 5), 0, 1, 2).shape());
        assertEquals(Shape.of(4, 3, 2), OPS.transpose(f32(2, 3, 4), 0, -1).shape());
        assertEquals(Shape.of(2, 3, 4), OPS.expand(f32(3, 1), Shape.of(2, 3, 4)).shape());
        assertEquals(f64(2, 3), OPS.contiguous(f64(2, 3)));
    }

    @Test
    void facadeCompositesCheckTheirShapes() {
        assertEquals(Shape.of(8, 5), OPS.linear(f32(8, 3), f32(5, 3), f32(5)).shape());
        assertEquals(Shape.of(8, 5), OPS.linear(f32(8, 3), f32(5, 3), null).shape());
        fails(() -> OPS.linear(f32(8, 3), f32(3, 5), null), "matmul", "[8, 3]", "[5, 3]");
        assertEquals(Shape.scalar(), OPS.crossEntropy(f32(4, 10), f32(4, 10)).shape());
        fails(() -> OPS.crossEntropy(f32(4, 10), f32(4, 9)), "cross_entropy", "[4, 10]", "[4, 9]");
        fails(() -> OPS.crossEntropy(f32(10), f32(10)), "cross_entropy", "[10]");
        assertEquals(Shape.scalar(), OPS.mse(f32(4, 2), f32(4, 2)).shape());
        fails(() -> OPS.mse(f32(4, 2), f32(2, 4)), "mse", "[4, 2]", "[2, 4]");
        assertEquals(Shape.of(2, 3, 4), OPS.layerNorm(f32(2, 3, 4), f32(3, 4), f32(3, 4), 1e-5).shape());
        assertEquals(Shape.of(2, 5), OPS.concat(1, f32(2, 2), f32(2, 3)).shape());
        assertEquals(DType.BF16, OPS.cast(f32(2), DType.BF16).dtype());
        assertEquals(Shape.of(2, 4), OPS.sum(f32(2, 3, 4), false, 1).shape());
        assertEquals(Shape.of(1, 1, 1), OPS.mean(f32(2, 3, 4), true).shape());
        assertEquals(Shape.of(1, 6, 3, 3), OPS.conv2d(f32(1, 2, 5, 5), f32(6, 2, 3, 3), f32(6), Hw.of(1), Hw.of(0), Hw.of(1), 1).shape());
        assertEquals(Shape.of(1, 2, 2, 2), OPS.maxPool2d(f32(1, 2, 4, 4), Hw.of(2), Hw.of(2), Hw.of(0)).shape());
        assertEquals(3, OPS.batchNormTraining(f32(4, 2), f32(2), f32(2), 1e-5).size());
        fails(() -> OPS.softplus(f32(2), 0), "softplus", "beta");
        fails(() -> OPS.clip(f32(2), 1, -1), "clip", "1.0", "-1.0");
    }
}

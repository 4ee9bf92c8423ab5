package org.lipa.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/** Each op's shape rule on valid inputs, and the message it gives on invalid ones. */
class OpsShapeRuleTest {
    private static TensorSpec f32(long... dims) {
        return new TensorSpec(Shape.of(dims), DType.F32);
    }

    private static Shape out(Op op, TensorSpec... in) {
        return op.infer(List.of(in)).get(0).shape();
    }

    private static void fails(Executable e, String... fragments) {
        var ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), "'" + ex.getMessage() + "' should mention " + f);
        }
    }

    @Test
    void matmul() {
        assertEquals(Shape.of(2, 5, 3, 6), out(new MatMul(), f32(2, 1, 3, 4), f32(5, 4, 6)));
        assertEquals(Shape.of(3, 6), out(new MatMul(), f32(3, 4), f32(4, 6), f32(6)));
        fails(() -> out(new MatMul(), f32(3, 4), f32(5, 6)), "[3, 4]", "[5, 6]");
        fails(() -> out(new MatMul(), f32(2, 3, 4), f32(3, 4, 6)), "batch");
        fails(() -> out(new MatMul(), f32(3, 4), f32(4, 6), f32(5)), "bias", "[5]");
        fails(() -> out(new MatMul(), f32(4), f32(4, 6)), "rank");
        fails(() -> out(new MatMul(), f32(3, 4), new TensorSpec(Shape.of(4, 6), DType.F64)), "f64", "f32");
    }

    @Test
    void convolutions() {
        Conv2d c = new Conv2d(Hw.of(2), Hw.of(1), Hw.of(2), 2);
        // (9 + 2 - 2*2 - 1) / 2 + 1 = 4 ; (8 + 2 - 5) / 2 + 1 = 3
        assertEquals(Shape.of(1, 6, 4, 3), out(c, f32(1, 4, 9, 8), f32(6, 2, 3, 3)));
        fails(() -> out(c, f32(1, 3, 9, 8), f32(6, 2, 3, 3)), "3 channels", "groups 2");
        fails(() -> out(c, f32(1, 4, 9, 8), f32(5, 2, 3, 3)), "not divisible by groups");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 2, 2), f32(1, 1, 3, 3)), "kernel");
        fails(() -> out(Conv2d.simple(), f32(1, 1, 4, 4), f32(2, 1, 3, 3), f32(3)), "bias", "[2]");
        fails(() -> new Conv2d(Hw.of(0), Hw.of(0), Hw.of(1), 1), "stride");
        ConvTranspose2d t = new ConvTranspose2d(Hw.of(2), Hw.of(1), Hw.of(1), Hw.of(1), 1);
        // (4 - 1) * 2 - 2 + (3 - 1) + 1 + 1 = 8
        assertEquals(Shape.of(2, 5, 8, 8), out(t, f32(2, 3, 4, 4), f32(3, 5, 3, 3)));
        fails(() -> new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(1), Hw.of(1), 1), "outputPadding");
    }

    @Test
    void poolingNormsSoftmax() {
        assertEquals(Shape.of(2, 3, 4, 5), out(new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1)), f32(2, 3, 7, 9)));
        fails(() -> new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(1), Hw.of(2)), "padding", "half");
        var ln = new LayerNorm(2, 1e-5).infer(List.of(f32(4, 3, 5), f32(3, 5), f32(3, 5)));
        assertEquals(Shape.of(4), ln.get(1).shape());
        fails(() -> new LayerNorm(1, 1e-5).infer(List.of(f32(4, 3), f32(4), f32(3))), "gamma", "[3]");
        fails(() -> new LayerNorm(1, 0), "eps");
        assertEquals(Shape.of(3), new BatchNorm(1e-5, true).infer(List.of(f32(8, 3, 2), f32(3), f32(3))).get(2).shape());
        assertEquals(1, new BatchNorm(1e-5, false).infer(List.of(f32(8, 3), f32(3), f32(3), f32(3), f32(3))).size());
        fails(() -> new BatchNorm(1e-5, true).infer(List.of(f32(8, 3), f32(4), f32(3))), "gamma", "[3]");
        assertEquals(Shape.of(2, 4), new GroupNorm(4, 1e-5).infer(List.of(f32(2, 8, 3), f32(8), f32(8))).get(1).shape());
        fails(() -> new GroupNorm(3, 1e-5).infer(List.of(f32(2, 8, 3), f32(8), f32(8))), "divisible");
        assertEquals(Shape.of(2, 3), out(new Softmax(-1, false), f32(2, 3)));
        fails(() -> out(new Softmax(2, false), f32(2, 3)), "axis 2");
    }

    @Test
    void eltwiseParameters() {
        fails(() -> new Eltwise(Eltwise.Kind.RELU, Double.NaN, 0), "NaN");
        fails(() -> new Eltwise(Eltwise.Kind.SOFTPLUS, 0, 0), "softplus", "beta");
        fails(() -> new Eltwise(Eltwise.Kind.CLIP, 2, 1), "clip", "2.0", "1.0");
        fails(() -> new Eltwise(Eltwise.Kind.LINEAR, Double.POSITIVE_INFINITY, 0), "finite");
        assertEquals(Shape.of(7), out(Eltwise.of(Eltwise.Kind.TANH), f32(7)));
    }

    @Test
    void reductionsConcatBinaryCast() {
        assertEquals(Shape.of(2, 1, 4), out(new Reduce(Reduce.Kind.SUM, List.of(1), true), f32(2, 3, 4)));
        assertEquals(Shape.of(2), out(new Reduce(Reduce.Kind.MEAN, List.of(-1, 1), false), f32(2, 3, 4)));
        assertEquals(Shape.scalar(), out(new Reduce(Reduce.Kind.NORM_L2, List.of(), false), f32(2, 3)));
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(1, -2), false), f32(2, 3, 4)), "repeated");
        fails(() -> out(new Reduce(Reduce.Kind.SUM, List.of(3), false), f32(2, 3, 4)), "axis 3");
        fails(() -> out(new Reduce(Reduce.Kind.MAX, List.of(0), false), f32(0, 3)), "empty");
        assertEquals(Shape.of(2, 7), out(new Concat(1), f32(2, 3), f32(2, 4)));
        fails(() -> out(new Concat(1), f32(2, 3), f32(3, 4)), "input 1", "[3, 4]");
        assertEquals(Shape.of(4, 2, 3), out(new Binary(Binary.Kind.ADD), f32(2, 1), f32(4, 1, 3)));
        fails(() -> out(new Binary(Binary.Kind.MUL), f32(2, 3), f32(3, 2)), "mul", "[2, 3]", "[3, 2]");
        assertEquals(DType.BF16, new Cast(DType.BF16).infer(List.of(f32(2))).get(0).dtype());
        fails(() -> new MatMul().infer(List.of(f32(2, 2))), "matmul takes 2 to 3 inputs, got 1");
    }

    @Test
    void gradientOps() {
        var wg = new Conv2dWeightGrad(Hw.of(1), Hw.of(1), Hw.of(1), 2, Hw.of(3));
        assertEquals(Shape.of(6, 2, 3, 3), out(wg, f32(2, 4, 5, 5), f32(2, 6, 5, 5)));
        fails(() -> out(wg, f32(2, 4, 5, 5), f32(2, 6, 4, 4)), "g [2, 6, 4, 4]", "[2, 6, 5, 5]");
        var pg = new Pool2dGrad(new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(2), Hw.of(0)));
        assertEquals(Shape.of(1, 2, 4, 4), out(pg, f32(1, 2, 4, 4), f32(1, 2, 2, 2)));
        fails(() -> out(pg, f32(1, 2, 4, 4), f32(1, 2, 3, 3)), "pooled shape", "[1, 2, 2, 2]");
        fails(() -> out(EltwiseGrad.of(Eltwise.of(Eltwise.Kind.TANH)), f32(3), f32(4)), "tanh_grad", "[3]", "[4]");
    }
}

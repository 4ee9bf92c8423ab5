package org.lipa.backend.ref;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lipa.eval.Eager;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Eltwise.Kind;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.Hw;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * The gradient primitives of the reference backend against central finite differences of the forward
 * ops along random directions (float64), and against the adjoint identity for the linear ones.
 */
class RefGradOpsTest {

    private static Tensor normal(Arena a, Random r, long... dims) {
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Tensor.of(a, v, dims);
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

    static Stream<Arguments> kinds() {
        return Stream.of(Arguments.of(Eltwise.of(Kind.RELU)), Arguments.of(new Eltwise(Kind.RELU, 0.2, 0)),
                Arguments.of(Eltwise.of(Kind.GELU_TANH)), Arguments.of(Eltwise.of(Kind.GELU_ERF)), Arguments.of(Eltwise.of(Kind.TANH)),
                Arguments.of(Eltwise.of(Kind.SIGMOID)), Arguments.of(new Eltwise(Kind.ELU, 0.8, 0)),
                Arguments.of(new Eltwise(Kind.SOFTPLUS, 1.5, 0)), Arguments.of(new Eltwise(Kind.SWISH, 1.2, 0)),
                Arguments.of(Eltwise.of(Kind.EXP)), Arguments.of(Eltwise.of(Kind.LOG)), Arguments.of(Eltwise.of(Kind.SQRT)),
                Arguments.of(Eltwise.of(Kind.SQUARE)), Arguments.of(Eltwise.of(Kind.ABS)), Arguments.of(new Eltwise(Kind.CLIP, -0.5, 0.7)),
                Arguments.of(new Eltwise(Kind.LINEAR, -1.5, 0.3)));
    }

    /** <g, f'(x) v> against <g, (f(x + h v) - f(x - h v)) / 2h>, away from kinks. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void eltwiseGradMatchesCentralDifferences(Eltwise f) {
        try (Arena a = Arena.ofConfined()) {
            Eager ops = new Eager(new RefBackend(), a);
            Random r = new Random(3);
            Tensor x = normal(a, r, 40);
            if (f.kind() == Kind.LOG || f.kind() == Kind.SQRT) {
                x = ops.affine(ops.abs(x), 1, 0.2);
            }
            Tensor v = normal(a, r, 40);
            Tensor g = normal(a, r, 40);
            double h = 1e-6;
            Tensor plus = ops.apply(f, List.of(ops.add(x, ops.scale(v, h)))).get(0);
            Tensor minus = ops.apply(f, List.of(ops.sub(x, ops.scale(v, h)))).get(0);
            double fd = dot(g, ops.scale(ops.sub(plus, minus), 1 / (2 * h)));
            Tensor jv = ops.apply(EltwiseGrad.of(f), List.of(x, v)).get(0);
            assertEquals(fd, dot(g, jv), 1e-7 * (1 + Math.abs(fd)));
        }
    }

    static Stream<Arguments> convs() {
        return Stream.of(Arguments.of(new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1), new long[] {2, 3, 6, 5}, new long[] {4, 3, 3, 3}),
                Arguments.of(new Conv2d(Hw.of(2), Hw.of(1), Hw.of(1), 1), new long[] {1, 2, 7, 7}, new long[] {3, 2, 3, 2}),
                Arguments.of(new Conv2d(Hw.of(1), Hw.of(2), Hw.of(2), 2), new long[] {2, 4, 6, 6}, new long[] {6, 2, 3, 3}));
    }

    /** conv is linear in w: <conv(x, v), g> = <v, dw(x, g)> exactly. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("convs")
    void convWeightGradIsTheAdjointInTheWeights(Conv2d c, long[] xs, long[] ws) {
        try (Arena a = Arena.ofConfined()) {
            Eager ops = new Eager(new RefBackend(), a);
            Random r = new Random(5);
            Tensor x = normal(a, r, xs);
            Tensor v = normal(a, r, ws);
            Tensor y = ops.apply(c, List.of(x, v)).get(0);
            Tensor g = normal(a, r, y.shape().toArray());
            var op = new Conv2dWeightGrad(c.stride(), c.padding(), c.dilation(), c.groups(), new Hw((int) ws[2], (int) ws[3]));
            Tensor dw = ops.apply(op, List.of(x, g)).get(0);
            assertEquals(Shape.of(ws), dw.shape());
            assertEquals(dot(y, g), dot(v, dw), 1e-10 * (1 + Math.abs(dot(y, g))));
        }
    }

    static Stream<Pool2d> pools() {
        return Stream.of(new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(2), Hw.of(0)), new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1)),
                new Pool2d(Pool2d.Kind.AVG_INCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1)),
                new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1)));
    }

    /** <g, pool'(x) v> against central differences of pool along v (max pooling is piecewise linear). */
    @ParameterizedTest(name = "{0}")
    @MethodSource("pools")
    void poolGradMatchesCentralDifferences(Pool2d p) {
        try (Arena a = Arena.ofConfined()) {
            Eager ops = new Eager(new RefBackend(), a);
            Random r = new Random(7);
            Tensor x = normal(a, r, 2, 3, 7, 6);
            Tensor v = normal(a, r, 2, 3, 7, 6);
            Tensor g = normal(a, r, ops.apply(p, List.of(x)).get(0).shape().toArray());
            double h = 1e-7;
            Tensor plus = ops.apply(p, List.of(ops.add(x, ops.scale(v, h)))).get(0);
            Tensor minus = ops.apply(p, List.of(ops.sub(x, ops.scale(v, h)))).get(0);
            double fd = dot(g, ops.scale(ops.sub(plus, minus), 1 / (2 * h)));
            Tensor dx = ops.apply(new Pool2dGrad(p), List.of(x, g)).get(0);
            assertEquals(fd, dot(v, dx), 1e-6 * (1 + Math.abs(fd)));
        }
    }
}

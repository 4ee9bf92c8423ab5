package org.lipa.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.graph.Graph;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** The function-level API: pullbacks and linear maps reused at a point, gradients, Hessians. */
class DifferentiableTest {
    private static final RefBackend REF = new RefBackend();

    private static Tensor normal(Arena a, Random r, long... d) {
        double[] v = new double[Math.toIntExact(Shape.of(d).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Tensor.of(a, v, d);
    }

    /** A tiny network's loss as a function of its first-layer weights (6 parameters). */
    private static Differentiable tinyLoss(Tensor x, Tensor w2, Tensor target) {
        return Differentiable.trace(REF, List.of(new TensorSpec(Shape.of(3, 2), DType.F64)), (ops, in) -> {
            var h = ops.gelu(ops.matmul(ops.constant(x), ops.transpose(in.get(0), 0, 1)), false);
            var out = ops.softplus(ops.matmul(h, ops.constant(w2)), 1);
            return List.of(ops.mse(out, ops.constant(target)));
        });
    }

    @Test
    void hessianMatchesSecondDifferencesOfTheLoss() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(11);
            Tensor x = normal(a, r, 4, 2);
            Tensor w2 = normal(a, r, 3, 1);
            Tensor t = normal(a, r, 4, 1);
            Differentiable f = tinyLoss(x, w2, t);
            Tensor w = normal(a, r, 3, 2);
            Tensor h = f.hessian(a, List.of(w), 0);
            double eps = 1e-4;
            double[] base = w.toDoubleArray();
            for (int i = 0; i < 6; i++) {
                for (int j = 0; j < 6; j++) {
                    double fpp = loss(f, a, base, i, eps, j, eps);
                    double fpm = loss(f, a, base, i, eps, j, -eps);
                    double fmp = loss(f, a, base, i, -eps, j, eps);
                    double fmm = loss(f, a, base, i, -eps, j, -eps);
                    double fd = (fpp - fpm - fmp + fmm) / (4 * eps * eps);
                    assertEquals(fd, h.get(i, j), 1e-5, "H[" + i + "][" + j + "]");
                }
            }
        }
    }

    private static double loss(Differentiable f, Arena a, double[] base, int i, double di, int j, double dj) {
        double[] w = base.clone();
        w[i] += di;
        w[j] += dj;
        return f.apply(a, List.of(Tensor.of(a, w, 3, 2))).get(0).item();
    }

    @Test
    void pullbackAndLinearizationAreReusedAndAgree() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(12);
            Tensor m = normal(a, r, 4, 3);
            Differentiable f = Differentiable.trace(REF, List.of(new TensorSpec(Shape.of(3), DType.F64)),
                    (ops, in) -> List.of(ops.tanh(ops.reshape(ops.matmul(ops.constant(m), ops.reshape(in.get(0), 3, 1)), 4))));
            Tensor x = normal(a, r, 3);
            Differentiable.Pullback back = f.vjp(a, List.of(x));
            Differentiable.Linearization lin = f.linearize(a, List.of(x));
            assertArrayEquals(f.apply(a, List.of(x)).get(0).toDoubleArray(), back.outputs().get(0).toDoubleArray(), 1e-15);
            assertArrayEquals(back.outputs().get(0).toDoubleArray(), lin.outputs().get(0).toDoubleArray(), 1e-15);
            for (int k = 0; k < 5; k++) {
                Tensor u = normal(a, r, 4);
                Tensor v = normal(a, r, 3);
                double lhs = dot(u, lin.apply(a, List.of(v)).get(0));
                double rhs = dot(back.apply(a, List.of(u)).get(0), v);
                assertEquals(lhs, rhs, 1e-12);
                assertArrayEquals(f.jvp(a, List.of(x), List.of(v)).tangents().get(0).toDoubleArray(),
                        lin.apply(a, List.of(v)).get(0).toDoubleArray(), 1e-15);
            }
            // the reused map runs only the tangent part: the forward tanh is not in it
            Graph residual = Autodiff.jvp(f.graph()).partial(List.of(x), REF, a);
            assertTrue(residual.applies().stream().noneMatch(ap -> ap.op().name().equals("tanh")), residual.toString());
        }
    }

    @Test
    void gradNeedsAScalar() {
        Differentiable f = Differentiable.trace(REF, List.of(new TensorSpec(Shape.of(3), DType.F64)),
                (ops, in) -> List.of(ops.exp(in.get(0))));
        try (Arena a = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> f.grad(a, List.of(Tensor.zeros(a, DType.F64, 3))));
            assertTrue(e.getMessage().contains("one element") && e.getMessage().contains("seed"), e.getMessage());
        }
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
}

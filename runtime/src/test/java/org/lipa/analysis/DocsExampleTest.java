package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** The README's Jacobian / spectral norm / Lipschitz tour, at smaller sizes, kept running and true. */
@Tag("cpu")
class DocsExampleTest {
    private static Tensor random(Arena a, Random r, double scale, long... dims) {
        float[] v = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (scale * r.nextGaussian());
        }
        return Tensor.of(a, v, dims);
    }

    @Test
    void tour() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Random r = new Random(5);
            Tensor w1 = random(arena, r, 0.3, 16, 20);
            Tensor w2 = random(arena, r, 0.3, 4, 16);
            Differentiable mlp = Differentiable.trace(cpu, List.of(new TensorSpec(Shape.of(1, 20), DType.F32)),
                    (ops, in) -> List.of(ops.linear(ops.relu(ops.linear(in.get(0), ops.constant(w1), null)), ops.constant(w2), null)));
            Tensor x = random(arena, r, 1, 1, 20);
            Tensor v = random(arena, r, 1, 1, 20);

            Differentiable.Jvp jv = mlp.jvp(arena, List.of(x), List.of(v));
            Differentiable.Pullback back = mlp.vjp(arena, List.of(x));
            assertEquals(Shape.of(1, 4), jv.tangents().get(0).shape());
            assertEquals(Shape.of(1, 20), back.apply(arena, List.of(random(arena, r, 1, 1, 4))).get(0).shape());

            LinearOperator jac = LinearOperator.jacobian(mlp, arena, List.of(x), 0, 0);
            PowerIteration.Result s = PowerIteration.run(jac, 1e-6, 500, 42);
            SingularValues top = Lanczos.singularValues(jac, 3, Lanczos.Options.defaults());
            assertTrue(top.allConverged());
            assertTrue(s.converged());
            assertEquals(top.values()[0], s.sigma(), 1e-3 * s.sigma());
            double dense = Dense.singularValues(mlp.jacfwd(arena, List.of(x), 0, 0).toDoubleArray(), 4, 20)[0];
            assertEquals(dense, s.sigma(), 1e-3 * dense);

            // the whole network, bracketed: its weights as a FeedForward in double precision
            FeedForward net = FeedForward.of(new int[] {20, 16, 4}, List.of(w1.toDoubleArray(), w2.toDoubleArray()), null, Nonlinearity.RELU);
            List<double[]> data = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                data.add(random(arena, r, 1, 1, 20).toDoubleArray());
            }
            Lipschitz.Bracket rep = Lipschitz.analyze(net, data, Lipschitz.Options.defaults());
            assertTrue(rep.lowerBound() <= rep.upperBound(), rep.lowerBound() + " vs " + rep.upperBound());
            assertTrue(rep.lowerBound() >= s.sigma() * (1 - 1e-3), "at least the local norm at x");
            assertTrue(rep.gap() >= 1);
        }
    }
}

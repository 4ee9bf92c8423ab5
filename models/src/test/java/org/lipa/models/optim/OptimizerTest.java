package org.lipa.models.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.lipa.tensor.Tensor;

/**
 * Each rule against three steps computed independently (a separate double-precision implementation of
 * PyTorch's update formulas): parameters [1, -2], gradients [0.5, 0.25], [-1, 0.5], [0.25, -0.75].
 */
class OptimizerTest {
    private static final float[][] GRADS = {{0.5f, 0.25f}, {-1f, 0.5f}, {0.25f, -0.75f}};

    private static float[] run(BiFunction<List<Tensor>, Arena, Optimizer> make) {
        try (Arena a = Arena.ofConfined()) {
            Tensor p = Tensor.of(a, new float[] {1, -2}, 2);
            Optimizer opt = make.apply(List.of(p), a);
            for (float[] g : GRADS) {
                opt.step(List.of(Tensor.of(a, g, 2)));
            }
            assertEquals(3, opt.steps());
            return p.toFloatArray();
        }
    }

    private static void expect(double[] expected, float[] actual) {
        assertArrayEquals(new float[] {(float) expected[0], (float) expected[1]}, actual, 2e-6f);
    }

    /**
     * A large parameter in a shared arena is updated in parallel chunks, one in a confined arena in one pass;
     * both must give the same bits (every element's update is the same float arithmetic), and the first
     * elements must follow Adam's formula in double precision.
     */
    @Test
    void parallelChunksGiveTheSameBitsAsOnePass() {
        int n = 100_003; // above two chunks, and not a multiple of one
        float[] init = new float[n];
        float[][] grads = new float[3][n];
        java.util.Random rnd = new java.util.Random(5);
        for (int i = 0; i < n; i++) {
            init[i] = (float) rnd.nextGaussian();
            for (float[] g : grads) {
                g[i] = (float) rnd.nextGaussian();
            }
        }
        float[][] results = new float[2][];
        for (int k = 0; k < 2; k++) {
            try (Arena arena = k == 0 ? Arena.ofConfined() : Arena.ofShared()) {
                Tensor p = Tensor.of(arena, init, n);
                Optimizer adamW = Optimizer.adamW(List.of(p), arena, 1e-2, 0.9, 0.999, 1e-8, 0.1);
                for (float[] g : grads) {
                    adamW.step(List.of(Tensor.of(arena, g, n)));
                }
                results[k] = p.toFloatArray();
            }
        }
        assertArrayEquals(results[0], results[1]);
        for (int i = 0; i < 5; i++) { // AdamW in double, the reference
            double w = init[i];
            double m = 0;
            double v = 0;
            for (int t = 1; t <= 3; t++) {
                double g = grads[t - 1][i];
                w *= 1 - 1e-2 * 0.1;
                m = 0.9 * m + 0.1 * g;
                v = 0.999 * v + 0.001 * g * g;
                w -= 1e-2 * (m / (1 - Math.pow(0.9, t))) / (Math.sqrt(v / (1 - Math.pow(0.999, t))) + 1e-8);
            }
            assertEquals(w, results[1][i], 1e-5 * (1 + Math.abs(w)));
        }
    }

    @Test
    void sgd() {
        expect(new double[] {1.025, -2.0}, run((p, a) -> Optimizer.sgd(p, a, 0.1, 0, false, 0)));
    }

    @Test
    void sgdWithMomentumAndWeightDecay() {
        expect(new double[] {1.023984749, -2.076394623}, run((p, a) -> Optimizer.sgd(p, a, 0.1, 0.9, false, 0.01)));
    }

    @Test
    void nesterov() {
        expect(new double[] {1.05155, -2.078975}, run((p, a) -> Optimizer.sgd(p, a, 0.1, 0.9, true, 0)));
    }

    @Test
    void adaGrad() {
        expect(new double[] {0.9676209300902971, -2.109264346478836}, run((p, a) -> Optimizer.adaGrad(p, a, 0.1, 1e-10, 0)));
    }

    @Test
    void rmsProp() {
        expect(new double[] {0.967443917392028, -2.1090259717737165}, run((p, a) -> Optimizer.rmsProp(p, a, 0.01, 0.99, 1e-8, 0.001)));
    }

    @Test
    void adam() {
        expect(new double[] {0.9502794203389762, -2.1898582947061844}, run((p, a) -> Optimizer.adam(p, a, 0.1, 0.9, 0.999, 1e-8, 0)));
    }

    @Test
    void adamWithCoupledAndDecoupledDecayDiffer() {
        expect(new double[] {0.9247305742687093, -2.142616403553081}, run((p, a) -> Optimizer.adam(p, a, 0.1, 0.9, 0.999, 1e-8, 0.1)));
        expect(new double[] {0.9222023167767704, -2.1275011127843766}, run((p, a) -> Optimizer.adamW(p, a, 0.1, 0.9, 0.999, 1e-8, 0.1)));
    }

    @Test
    void clippingScalesToTheMaximumNorm() {
        try (Arena a = Arena.ofConfined()) {
            Tensor g1 = Tensor.of(a, new float[] {3, 0}, 2);
            Tensor g2 = Tensor.of(a, new float[] {0, 4}, 2);
            assertEquals(5, Optimizer.clipGradNorm(List.of(g1, g2), 1), 1e-6);
            assertArrayEquals(new float[] {0.6f, 0}, g1.toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0, 0.8f}, g2.toFloatArray(), 1e-6f);
            assertEquals(1, Optimizer.clipGradNorm(List.of(g1, g2), 10), 1e-5); // under the bound: untouched
            assertArrayEquals(new float[] {0.6f, 0}, g1.toFloatArray(), 1e-6f);
        }
    }

    @Test
    void badArguments() {
        try (Arena a = Arena.ofConfined()) {
            Tensor p = Tensor.of(a, new float[] {1, 2}, 2);
            assertThrows(IllegalArgumentException.class, () -> Optimizer.sgd(List.of(p), a, -1, 0, false, 0));
            assertThrows(IllegalArgumentException.class, () -> Optimizer.sgd(List.of(p), a, 0.1, 0, true, 0));
            assertThrows(IllegalArgumentException.class, () -> Optimizer.adam(List.of(p), a, 0.1, 1.0, 0.999, 1e-8, 0));
            Optimizer opt = Optimizer.sgd(List.of(p), a, 0.1, 0, false, 0);
            var e = assertThrows(IllegalArgumentException.class, () -> opt.step(List.of(Tensor.of(a, new float[] {1, 2, 3}, 3))));
            assertEquals("gradient 0 is f32[3] but parameter 0 is f32[2]", e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> Optimizer.sgd(List.of(Tensor.of(a, new double[] {1}, 1)), a, 0.1, 0, false, 0));
        }
    }
}

package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.lipa.autodiff.Autodiff;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Graph;
import org.lipa.ops.RandomSample;
import org.lipa.ops.RandomSample.Distribution;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** Random numbers as a function of a key: the same on both backends, with the moments they promise, and without derivatives. */
@ExtendWith(SharedCpu.class)
class RandomSampleTest {
    private static final TensorSpec SPEC = new TensorSpec(Shape.of(200, 300), DType.F32);

    private static Tensor key(Arena a, double k) {
        return Tensor.scalar(a, DType.F64, k);
    }

    @Test
    void sameKeySameSampleOnEveryBackendAndTheKeyAdvances() {
        try (Arena a = Arena.ofConfined()) {
            for (Distribution d : Distribution.values()) {
                List<Tensor> cpu = new Eager(SharedCpu.backend(), a).random(key(a, 42), d, 0.3, SPEC);
                List<Tensor> ref = new Eager(new RefBackend(), a).random(key(a, 42), d, 0.3, SPEC);
                assertArrayEquals(ref.get(0).toFloatArray(), cpu.get(0).toFloatArray(), 0f, d.name());
                assertEquals(43, cpu.get(1).item());
                List<Tensor> next = new Eager(SharedCpu.backend(), a).random(cpu.get(1), d, 0.3, SPEC);
                assertFalse(Arrays.equals(cpu.get(0).toFloatArray(), next.get(0).toFloatArray()), d + ": a new key draws anew");
            }
        }
    }

    @Test
    void momentsMatchTheDistributions() {
        try (Arena a = Arena.ofConfined()) {
            Eager ops = new Eager(SharedCpu.backend(), a);
            int n = (int) SPEC.shape().size();
            double[] u = ops.random(key(a, 7), Distribution.UNIFORM, 0, SPEC).get(0).toDoubleArray();
            // mean 1/2, variance 1/12; 60000 draws give standard errors about 0.0012 and 0.0004
            assertEquals(0.5, mean(u), 0.006);
            assertEquals(1 / 12.0, variance(u), 0.002);
            assertTrue(Arrays.stream(u).allMatch(v -> v >= 0 && v < 1));
            double[] g = ops.random(key(a, 7), Distribution.NORMAL, 0, SPEC).get(0).toDoubleArray();
            assertEquals(0, mean(g), 0.02);
            assertEquals(1, variance(g), 0.03);
            // the fourth moment of a standard normal is 3; the Box-Muller transform has to get the tails right
            assertEquals(3, Arrays.stream(g).map(v -> v * v * v * v).sum() / n, 0.15);
            double[] b = ops.random(key(a, 7), Distribution.BERNOULLI, 0.3, SPEC).get(0).toDoubleArray();
            assertTrue(Arrays.stream(b).allMatch(v -> v == 0 || v == 1));
            assertEquals(0.3, mean(b), 0.006);
            // neighbouring elements are uncorrelated
            double c = 0;
            for (int i = 0; i + 1 < n; i++) {
                c += (u[i] - 0.5) * (u[i + 1] - 0.5);
            }
            assertEquals(0, c / (n - 1) * 12, 0.02);
        }
    }

    @Test
    void samplesHaveNoDerivativesAndBadKeysAreRefused() {
        try (Arena a = Arena.ofConfined()) {
            TensorSpec x = new TensorSpec(Shape.of(4), DType.F32);
            Graph g = Graph.trace(List.of(x, RandomSample.KEY), (ops, in) -> {
                var r = ops.random(in.get(1), Distribution.BERNOULLI, 0.5, x);
                return List.of(ops.sum(ops.mul(in.get(0), r.get(0)), false));
            });
            Tensor xs = Tensor.of(a, new float[] {1, 2, 3, 4}, 4);
            Tensor k = key(a, 3);
            List<Tensor> grad = Autodiff.grad(g).compile(SharedCpu.backend()).run(a, List.of(xs, k));
            Tensor mask = new Eager(SharedCpu.backend(), a).random(k, Distribution.BERNOULLI, 0.5, x).get(0);
            assertArrayEquals(mask.toFloatArray(), grad.get(1).toFloatArray(), 0f, "d/dx sum(x * mask) = mask");
            assertEquals(0, grad.get(2).item(), "the key gets no gradient");
            Eager ops = new Eager(SharedCpu.backend(), a);
            var e = assertThrows(IllegalArgumentException.class, () -> ops.random(key(a, 1.5), Distribution.UNIFORM, 0, x));
            assertTrue(e.getMessage().contains("integer"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ops.random(Tensor.scalar(a, DType.F32, 1), Distribution.UNIFORM, 0, x));
            assertTrue(e.getMessage().contains("key"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> ops.random(key(a, 1), Distribution.BERNOULLI, 1.5, x));
        }
    }

    private static double mean(double[] v) {
        return Arrays.stream(v).average().orElseThrow();
    }

    private static double variance(double[] v) {
        double m = mean(v);
        return Arrays.stream(v).map(x -> (x - m) * (x - m)).sum() / v.length;
    }
}

package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.Probe;
import org.lipa.analysis.SpectralDensity;
import org.lipa.analysis.SpectralMethod;
import org.lipa.analysis.TraceEstimate;
import org.lipa.analysis.Vectors;
import org.lipa.backend.ref.RefBackend;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Reshape;
import org.lipa.models.nn.Sequential;
import org.lipa.models.train.Trainer;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * The Hessian spectra against an explicit Hessian built independently: central differences of the
 * gradient (a different graph from the Hessian-vector products) on a 3-5-2 tanh MLP with cross-entropy
 * (32 parameters, two batches of 8) and on a small tanh CNN (conv 1 -> 2 channels 3x3 on 5x5 images, then
 * linear to 3 classes: 77 parameters), in float64 on the reference backend, decomposed by a plain cyclic
 * Jacobi eigensolver written here. The difference Hessian is itself off by about 1e-8, the slack {@link #FD}
 * in comparisons with it.
 */
class HessianTest {
    /** How far the central-difference Hessian may be from the true one (in every eigenvalue and residual). */
    private static final double FD = 1e-7;

    private static Arena arena;
    private static Problem mlp;
    private static Problem cnn;

    /** A loss, its Hessian over two batches and the explicit matrix of that Hessian. */
    record Problem(ParameterLoss loss, Hessian hessian, double[][] explicit, double[] eigenvalues, double[][] eigenvectors) {
        int n() {
            return explicit.length;
        }
    }

    @BeforeAll
    static void build() {
        arena = Arena.ofShared();
        Module net = f64(Sequential.mlp(arena, new Random(11), Activation.TANH, 3, 5, 2), arena);
        Random r = new Random(12);
        List<Hessian.Batch> batches = new ArrayList<>();
        for (int b = 0; b < 2; b++) {
            double[] x = new double[8 * 3];
            int[] labels = new int[8];
            for (int i = 0; i < x.length; i++) {
                x[i] = 1.5 * r.nextGaussian();
            }
            for (int i = 0; i < labels.length; i++) {
                labels[i] = r.nextInt(2);
            }
            batches.add(new Hessian.Batch(Tensor.of(arena, DType.F64, x, 8, 3), Tensor.oneHot(arena, DType.F64, labels, 2)));
        }
        mlp = problem(net, batches, (ops, p, t) -> ops.crossEntropy(p, t));

        Random c = new Random(13);
        Module conv = f64(new Sequential(new Conv2d(arena, c, 1, 2, 3, 1, 0, 1, true), Activation.TANH, new Reshape.Flatten(),
                new Linear(arena, c, 18, 3, true)), arena);
        List<Hessian.Batch> images = new ArrayList<>();
        for (int b = 0; b < 2; b++) {
            double[] x = new double[8 * 25];
            int[] labels = new int[8];
            for (int i = 0; i < x.length; i++) {
                x[i] = c.nextGaussian();
            }
            for (int i = 0; i < labels.length; i++) {
                labels[i] = c.nextInt(3);
            }
            images.add(new Hessian.Batch(Tensor.of(arena, DType.F64, x, 8, 1, 5, 5), Tensor.oneHot(arena, DType.F64, labels, 3)));
        }
        cnn = problem(conv, images, (ops, p, t) -> ops.crossEntropy(p, t));
    }

    @AfterAll
    static void close() {
        arena.close();
    }

    @Test
    void productsMatchTheDifferencesOfTheGradient() {
        Random r = new Random(1);
        long before = mlp.hessian().products();
        for (int trial = 0; trial < 3; trial++) {
            double[] v = Probe.GAUSSIAN.draw(r, mlp.n());
            assertArrayEquals(times(mlp.explicit(), v), mlp.hessian().apply(v), 1e-7);
        }
        double[] v = Probe.GAUSSIAN.draw(r, mlp.n());
        assertArrayEquals(mlp.hessian().apply(v), mlp.hessian().operator().apply(v), 0, "the operator is the product");
        assertArrayEquals(mlp.hessian().apply(v), mlp.hessian().operator().applyTranspose(v), 0, "and symmetric");
        assertEquals(before + 7, mlp.hessian().products(), "products are counted");
        assertThrows(IllegalArgumentException.class, () -> mlp.hessian().apply(new double[3]));
    }

    /** Each value within its residual (plus the difference Hessian's error) of an eigenvalue; flags backed; residuals true. */
    private static void assertHonest(Problem p, Eigenpairs e, double tol) {
        double norm = maxAbs(p.eigenvalues());
        for (int i = 0; i < e.values().length; i++) {
            double lambda = e.values()[i];
            double r = e.residuals()[i];
            double[] y = e.vectors()[i];
            double[] hy = times(p.explicit(), y);
            for (int j = 0; j < hy.length; j++) {
                hy[j] -= lambda * y[j];
            }
            assertEquals(Vectors.norm(hy), r, FD, "residual " + i + " against the explicit Hessian");
            double nearest = Arrays.stream(p.eigenvalues()).map(x -> Math.abs(x - lambda)).min().orElseThrow();
            assertTrue(nearest <= r + FD, "value " + i + " = " + lambda + " is " + nearest + " from an eigenvalue, bound " + r);
            if (e.converged()[i]) {
                assertTrue(r <= Math.max(tol * Math.abs(lambda), 1e-12 * norm), "converged " + i + " with residual " + r);
            }
        }
    }

    /** The explicit eigenvalues in the order {@code which} asks for. */
    private static double[] expected(Problem p, Eigenpairs.Which which) {
        Integer[] order = which.order(p.eigenvalues());
        return Arrays.stream(order).mapToDouble(i -> p.eigenvalues()[i]).toArray();
    }

    @Test
    void lanczosFindsBothEndsAndTheLargestMagnitudesOfTheMlpAndCnnHessians() {
        for (Problem p : List.of(mlp, cnn)) {
            for (Eigenpairs.Which which : Eigenpairs.Which.values()) {
                Hessian.Options o = Hessian.Options.defaults().withTopK(3).withWhich(which).withLanczos(1e-8, 100).withDenseLimit(0)
                        .withSeed(2);
                long before = p.hessian().products();
                Eigenpairs e = p.hessian().top(o);
                String what = p.n() + " parameters, " + which;
                assertEquals(SpectralMethod.LANCZOS, e.method());
                assertEquals(p.hessian().products() - before, e.products(), "every product counted");
                assertTrue(e.allConverged(), what + ": " + Arrays.toString(e.residuals()));
                assertHonest(p, e, 1e-8);
                double[] truth = expected(p, which);
                for (int k = 0; k < 3; k++) {
                    assertEquals(truth[k], e.values()[k], e.residuals()[k] + FD, what + ", value " + k);
                    assertEquals(1, Vectors.norm(e.vectors()[k]), 1e-12);
                }
            }
        }
        // the dense path (the default for so few parameters) gives the same
        Eigenpairs d = cnn.hessian().top(Hessian.Options.defaults().withTopK(3));
        assertEquals(SpectralMethod.DENSE, d.method());
        assertEquals(cnn.n(), d.products(), "written out with one product per parameter (and checked against that matrix)");
        assertArrayEquals(Arrays.copyOf(expected(cnn, Eigenpairs.Which.LARGEST_MAGNITUDE), 3), d.values(), FD);
        assertHonest(cnn, d, 1e-3);
    }

    @Test
    void powerIterationWithDeflationFindsTheThreeLargestMagnitudes() {
        Integer[] order = byMagnitude(mlp.eigenvalues());
        Eigenpairs top = mlp.hessian().top(Hessian.Options.defaults().withTopK(3).withPower(1e-12, 5000).withSeed(2));
        assertEquals(SpectralMethod.POWER_ITERATION, top.method());
        for (int k = 0; k < 3; k++) {
            double expected = mlp.eigenvalues()[order[k]];
            // PyHessian's rule stopped at a relative change of 1e-12 (the Rayleigh quotient converges quadratically), but the
            // residual certifies only about 5e-7 relative: not converged at 1e-12, which the flag says
            assertTrue(top.residuals()[k] <= 1e-6 * Math.abs(expected), "residual " + top.residuals()[k]);
            assertFalse(top.converged()[k], "eigenvalue " + k + " is not certified to 1e-12");
            assertEquals(expected, top.values()[k], 1e-8 * Math.abs(expected), "eigenvalue " + k);
            double[] v = top.vectors()[k];
            assertEquals(1, Vectors.norm(v), 1e-10);
            double overlap = Math.abs(Vectors.dot(v, mlp.eigenvectors()[order[k]]));
            assertEquals(1, overlap, 1e-6, "eigenvector " + k + " against Jacobi's");
            // an eigenvector: H v = lambda v
            double[] lv = v.clone();
            Vectors.scale(lv, top.values()[k]);
            assertArrayEquals(times(mlp.explicit(), v), lv, 1e-6);
        }
        assertHonest(mlp, top, 1e-12);
        // PyHessian's defaults stop early, close to the answer, and say how close
        Eigenpairs quick = mlp.hessian().top(Hessian.Options.defaults().withPower(1e-3, 100).withSeed(3));
        assertTrue(quick.products() < 100, "products " + quick.products());
        assertEquals(mlp.eigenvalues()[order[0]], quick.values()[0], 0.02 * Math.abs(mlp.eigenvalues()[order[0]]));
        assertHonest(mlp, quick, 1e-3);
    }

    @Test
    void pyHessiansDefaultsAreNeverReportedConvergedAgainstTheirResiduals() {
        // on the CNN, seeds 0..9: PyHessian's rule (relative change < 1e-3) stops; the residual decides the flag
        double[] truth = expected(cnn, Eigenpairs.Which.LARGEST_MAGNITUDE);
        double worst = 0;
        int flagged = 0;
        int values = 0;
        for (long seed = 0; seed < 10; seed++) {
            Eigenpairs e = cnn.hessian().top(Hessian.Options.defaults().withTopK(3).withPower(1e-3, 100).withSeed(seed));
            assertHonest(cnn, e, 1e-3);
            for (int k = 0; k < 3; k++) {
                if (k > 0) {
                    assertTrue(Math.abs(e.values()[k - 1]) >= Math.abs(e.values()[k]), "sorted by magnitude");
                }
                double error = Math.abs(e.values()[k] - truth[k]) / Math.abs(truth[k]);
                worst = Math.max(worst, error);
                flagged += e.converged()[k] ? 1 : 0;
                values++;
                if (error > 1e-3) {
                    // off by more than the tolerance from the k-th eigenvalue: only a nearer eigenvalue can back a flag
                    double lambda = e.values()[k];
                    double nearest = Arrays.stream(cnn.eigenvalues()).map(x -> Math.abs(x - lambda)).min().orElseThrow();
                    assertTrue(!e.converged()[k] || nearest <= 1e-3 * Math.abs(lambda) + FD, "seed " + seed + ", value " + k);
                }
            }
        }
        System.out.printf(java.util.Locale.ROOT, "CNN Hessian, PyHessian's power iteration (tol 1e-3): worst relative error %.2g against "
                + "the true top-3, %d of %d values backed by their residuals%n", worst, flagged, values);
        assertTrue(flagged < values, "some values stop short of the tolerance, and say so");
        // Lanczos at the same tolerance converges on every value
        Eigenpairs l = cnn.hessian().top(Hessian.Options.defaults().withTopK(3).withLanczos(1e-3, 100).withDenseLimit(0));
        assertTrue(l.allConverged());
        assertHonest(cnn, l, 1e-3);
    }

    @Test
    void theTraceIsExactForSmallHessiansAndAnIntervalOtherwise() {
        double exact = trace(mlp.explicit());
        TraceEstimate t = mlp.hessian().trace(Hessian.Options.defaults());
        assertTrue(t.exact() && t.converged());
        assertEquals(mlp.n(), t.samples());
        assertEquals(exact, t.mean(), 1e-7);

        int samples = 600;
        Hutchinson.Options fixed = Hutchinson.Options.defaults().withExactLimit(0).withTolerance(0).withSamples(samples, samples);
        TraceEstimate h = mlp.hessian().trace(Hessian.Options.defaults().withTrace(fixed).withSeed(5));
        assertFalse(h.exact());
        assertEquals(samples, h.samples());
        assertEquals(samples, h.values().length);
        assertFalse(h.converged(), "tolerance 0 never stops early");
        double se = hutchinsonSd(mlp.explicit()) / Math.sqrt(samples);
        assertEquals(exact, h.mean(), 4 * se, "Hutchinson against the explicit trace");
        assertEquals(se, h.standardError(), 0.15 * se, "the reported standard error against the exact one");
        assertEquals(h.mean() - h.lower(), h.upper() - h.mean(), 1e-12, "symmetric");
        assertEquals(1.964 * h.standardError(), h.halfWidth(), 1e-3 * h.standardError(), "t_{0.975, 599} = 1.964");
        // the default rule: a 95% interval of +-1% of the mean, or the cap (said so)
        TraceEstimate quick = mlp.hessian().trace(Hessian.Options.defaults().withTrace(Hutchinson.Options.defaults().withExactLimit(0))
                .withSeed(6));
        assertTrue(quick.samples() >= 10 && quick.samples() <= 200);
        assertEquals(quick.halfWidth() <= 0.01 * Math.abs(quick.mean()), quick.converged());
    }

    @Test
    void hutchinsonIsExactForADiagonalHessian() {
        // y = x W^T with x = diag(1, 2, 3): each weight meets one residual, so the MSE Hessian is diagonal
        Module lin = f64(new Linear(arena, new Random(7), 3, 2, false), arena);
        Tensor x = Tensor.of(arena, DType.F64, new double[] {1, 0, 0, 0, 2, 0, 0, 0, 3}, 3, 3);
        Tensor y = Tensor.of(arena, DType.F64, new double[] {0.5, -1, 2, 0.25, -0.5, 1}, 3, 2);
        Problem p = problem(lin, List.of(new Hessian.Batch(x, y)), (ops, pred, t) -> ops.mse(pred, t));
        assertEquals(0, hutchinsonSd(p.explicit()), 1e-8, "the explicit Hessian is diagonal");
        TraceEstimate t = p.hessian().trace(Hessian.Options.defaults().withTrace(Hutchinson.Options.defaults().withExactLimit(0))
                .withSeed(8));
        assertTrue(t.converged());
        assertEquals(10, t.samples(), "equal samples meet any tolerance at the minimum count");
        for (double s : t.values()) {
            assertEquals(trace(p.explicit()), s, 1e-8);
        }
        assertEquals(0, t.standardError(), 1e-8);
    }

    @Test
    void slqWithFullStepsFindsEveryEigenvalue() {
        // 6 eigenvalues are 0 (softmax ignores a shift of both logits): Lanczos breaks down and restarts
        for (Probe probe : Probe.values()) {
            SpectralDensity d = SpectralDensity.slq(mlp.hessian().operator(), 1, mlp.n(), probe, 9, s -> { });
            double[] expected = mlp.eigenvalues().clone();
            Arrays.sort(expected);
            double scale = maxAbs(expected);
            assertArrayEquals(expected, d.nodes()[0], 1e-9 * scale, probe + ": Ritz values are the eigenvalues");
            assertEquals(1, Arrays.stream(d.weights()[0]).sum(), 1e-12, "weights sum to 1");
            assertTrue(Arrays.stream(d.weights()[0]).allMatch(w -> w >= 0));
        }
    }

    @Test
    void slqMomentsEstimateTracesOfPowers() {
        // Gauss quadrature with m nodes is exact for degree <= 2m - 1, so 3 steps give v.H v and v.H^2 v exactly, and
        // for a normalized Rademacher v = z / sqrt(n) their mean is tr(H^p) / n with per-run sd sqrt(2 sum_{i!=j} (H^p)_ij^2) / n
        int runs = 150;
        SpectralDensity d = mlp.hessian().density(Hessian.Options.defaults().withSlq(runs, 3).withSeed(10));
        assertEquals(runs, d.nodes().length);
        double[][] power = mlp.explicit();
        for (int p = 1; p <= 2; p++) {
            double exact = trace(power) / mlp.n();
            double se = hutchinsonSd(power) / mlp.n() / Math.sqrt(runs);
            assertEquals(exact, d.moment(p), 4 * se, "moment " + p);
            assertEquals(se, d.momentStandardError(p), 0.2 * se, "the reported standard error of moment " + p);
            power = multiply(power, mlp.explicit());
        }
    }

    @Test
    void theDensityIntegratesToOneAndKeepsTheMean() {
        SpectralDensity d = mlp.hessian().density(Hessian.Options.defaults().withSlq(4, 12).withSeed(11));
        SpectralDensity.Curve c = d.smooth(1e-5, 10_000);
        double step = c.grid()[1] - c.grid()[0];
        double mass = 0;
        double mean = 0;
        for (int i = 0; i < c.grid().length; i++) {
            assertTrue(c.density()[i] >= 0);
            mass += c.density()[i] * step;
            mean += c.grid()[i] * c.density()[i] * step;
        }
        assertEquals(1, mass, 1e-12);
        assertEquals(1, c.mass(), 1e-6, "the kernels' tails fit on the grid");
        assertEquals(d.moment(1), mean, 1e-6, "a symmetric kernel keeps the mean");
        double[] range = d.range();
        assertTrue(c.grid()[0] < range[0] && c.grid()[c.grid().length - 1] > range[1]);
        // the kernel: PyHessian's variance sigma^2 * max(1, spread)
        assertEquals(1e-5 * Math.max(1, range[1] - range[0]), c.variance(), 1e-15);
        assertThrows(IllegalArgumentException.class, () -> d.smooth(0, 100));
    }

    @Test
    void blocksMatchTheExplicitDiagonalBlocks() {
        Map<String, List<String>> groups = Hessian.modules(mlp.loss().names());
        assertEquals(Map.of("0", List.of("0.weight", "0.bias"), "2", List.of("2.weight", "2.bias")), groups);
        int samples = 300;
        Hessian.Options lanczos = Hessian.Options.defaults().withLanczos(1e-10, 100).withDenseLimit(0).withSeed(12);
        List<Hessian.Block> sampled = mlp.hessian().blocks(groups, lanczos.withTrace(Hutchinson.Options.defaults().withExactLimit(0)
                .withTolerance(0).withSamples(samples, samples)));
        List<Hessian.Block> exact = mlp.hessian().blocks(groups, lanczos);
        int[][] ranges = {{0, 20}, {20, 32}}; // 0.weight [5,3], 0.bias [5] | 2.weight [2,5], 2.bias [2]
        for (int b = 0; b < 2; b++) {
            int from = ranges[b][0];
            int to = ranges[b][1];
            double[][] block = new double[to - from][];
            for (int i = from; i < to; i++) {
                block[i - from] = Arrays.copyOfRange(mlp.explicit()[i], from, to);
            }
            Jacobi j = jacobi(block);
            double expected = j.values()[byMagnitude(j.values())[0]];
            Hessian.Block got = sampled.get(b);
            assertEquals(to - from, got.size());
            assertTrue(got.top().converged()[0]);
            assertEquals(expected, got.topValue(), got.top().residuals()[0] + FD, "block " + got.name());
            double se = hutchinsonSd(block) / Math.sqrt(samples);
            assertEquals(trace(block), got.trace().mean(), 4 * se + 1e-12, "block trace " + got.name());
            assertTrue(exact.get(b).trace().exact());
            assertEquals(trace(block), exact.get(b).trace().mean(), 1e-7, "exact block trace " + got.name());
            // the restricted product is the block times v, and its eigenvector lives in the block
            Hessian h = mlp.hessian().restrict(got.name(), got.parameters());
            double[] v = Probe.GAUSSIAN.draw(new Random(b), to - from);
            assertArrayEquals(times(block, v), h.apply(v), 1e-7);
            Weights w = h.embed(h.top(Hessian.Options.defaults().withSeed(13)).vectors()[0]);
            for (int i = 0; i < w.size(); i++) {
                if (i < from || i >= to) {
                    assertEquals(0, w.values()[i]);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> mlp.hessian().restrict("x", List.of("1.weight")));
    }

    @Test
    void modulesGroupNamesByTheirOwner() {
        List<String> names = List.of("conv1.weight", "bn1.weight", "bn1.bias", "layer1.0.conv1.weight", "layer1.0.bn1.weight",
                "layer1.1.conv1.weight", "fc.weight", "fc.bias", "scale");
        assertEquals(List.of("conv1", "bn1", "layer1.0.conv1", "layer1.0.bn1", "layer1.1.conv1", "fc", "scale"),
                List.copyOf(Hessian.modules(names).keySet()));
        Map<String, List<String>> two = Hessian.modules(names, 2);
        assertEquals(List.of("conv1", "bn1", "layer1.0", "layer1.1", "fc", "scale"), List.copyOf(two.keySet()));
        assertEquals(List.of("layer1.0.conv1.weight", "layer1.0.bn1.weight"), two.get("layer1.0"));
        assertThrows(IllegalArgumentException.class, () -> Hessian.modules(names, 0));
    }

    @Test
    void badOptionsAndBatchesAreRejected() {
        Hessian.Options o = Hessian.Options.defaults();
        assertThrows(IllegalArgumentException.class, () -> o.withTopK(0));
        assertThrows(IllegalArgumentException.class, () -> o.withPower(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> o.withLanczos(0, 10));
        assertThrows(IllegalArgumentException.class, () -> o.withPower(1e-3, 10).withWhich(Eigenpairs.Which.SMALLEST));
        assertThrows(IllegalArgumentException.class, () -> o.withTrace(Hutchinson.Options.defaults().withSamples(1, 10)));
        assertThrows(IllegalArgumentException.class, () -> o.withSlq(0, 10));
        assertThrows(IllegalArgumentException.class, () -> o.withDenseLimit(-1));
        assertThrows(IllegalArgumentException.class, () -> mlp.hessian().top(o.withTopK(mlp.n() + 1)));
        ParameterLoss f = mlp.loss();
        assertThrows(IllegalArgumentException.class, () -> Hessian.of(f, f.current(), List.of()));
        Tensor x = Tensor.zeros(arena, DType.F64, 4, 3);
        Tensor y = Tensor.zeros(arena, DType.F64, 4, 2);
        Tensor x8 = Tensor.zeros(arena, DType.F64, 8, 3);
        Tensor y8 = Tensor.zeros(arena, DType.F64, 8, 2);
        assertThrows(IllegalArgumentException.class,
                () -> Hessian.of(f, f.current(), List.of(new Hessian.Batch(x8, y8), new Hessian.Batch(x, y))));
        assertThrows(IllegalArgumentException.class, () -> Hessian.of(f, f.current().subList(1, 4), List.of(new Hessian.Batch(x8, y8))));
    }

    static Problem problem(Module net, List<Hessian.Batch> batches, Trainer.Loss lossFn) {
        ParameterLoss f = ParameterLoss.of(new RefBackend(), net, batches.get(0).x().spec(), batches.get(0).y().spec(), lossFn);
        Hessian h = Hessian.of(f, f.current(), batches);
        double[][] hm = finiteDifferenceHessian(f, batches);
        Jacobi j = jacobi(hm);
        return new Problem(f, h, hm, j.values, j.vectors);
    }

    /** The module with float64 copies of its parameters (the reference backend runs float64 exactly). */
    static Module f64(Module m, Arena a) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        m.parameters().forEach((k, t) -> p.put(k, t.to(a, DType.F64)));
        return new Module() {
            @Override
            public Map<String, Tensor> parameters() {
                return p;
            }

            @Override
            public <T> T forward(Ops<T> ops, Map<String, T> state, T x) {
                return m.forward(ops, state, x);
            }

            @Override
            public List<Module> children() {
                return List.of(m);
            }
        };
    }

    /** Column i of H is (g(theta + h e_i) - g(theta - h e_i)) / 2h, g the batch-averaged gradient; then symmetrized. */
    static double[][] finiteDifferenceHessian(ParameterLoss f, List<Hessian.Batch> batches) {
        Weights theta = Weights.of(f.specs(), f.current());
        int n = theta.size();
        double[][] h = new double[n][n];
        double step = 1e-5;
        for (int i = 0; i < n; i++) {
            double[] plus = theta.values().clone();
            double[] minus = theta.values().clone();
            plus[i] += step;
            minus[i] -= step;
            double[] gp = grad(f, new Weights(f.specs(), plus), batches);
            double[] gm = grad(f, new Weights(f.specs(), minus), batches);
            for (int k = 0; k < n; k++) {
                h[k][i] = (gp[k] - gm[k]) / (2 * step);
            }
        }
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < i; k++) {
                assertEquals(h[i][k], h[k][i], 1e-7, "the difference Hessian is symmetric");
                double s = 0.5 * (h[i][k] + h[k][i]);
                h[i][k] = s;
                h[k][i] = s;
            }
        }
        return h;
    }

    static double[] grad(ParameterLoss f, Weights at, List<Hessian.Batch> batches) {
        double[] sum = new double[at.size()];
        try (Arena a = Arena.ofConfined()) {
            List<Tensor> p = at.tensors(a);
            for (Hessian.Batch b : batches) {
                double[] g = Weights.of(f.specs(), f.grad(a, p, b.x(), b.y())).values();
                for (int k = 0; k < g.length; k++) {
                    sum[k] += g[k] / batches.size();
                }
            }
        }
        return sum;
    }

    // ---------------------------------------------------------------- an independent eigensolver

    record Jacobi(double[] values, double[][] vectors) {
    }

    /** Cyclic Jacobi rotations until the off-diagonal part vanishes; vectors[j] belongs to values[j]. */
    static Jacobi jacobi(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = m[i].clone();
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            double all = 0;
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    all += a[i][j] * a[i][j];
                    if (i != j) {
                        off += a[i][j] * a[i][j];
                    }
                }
            }
            if (off <= 1e-30 * all) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta == 0 ? 1 : theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) { // A <- A J (columns p, q)
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) { // A <- J^T A (rows p, q)
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k][p];
                        double vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int j = 0; j < n; j++) {
            values[j] = a[j][j];
            for (int i = 0; i < n; i++) {
                vectors[j][i] = v[i][j];
            }
        }
        return new Jacobi(values, vectors);
    }

    /** Indices of the eigenvalues by decreasing magnitude. */
    static Integer[] byMagnitude(double[] values) {
        Integer[] order = new Integer[values.length];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> -Math.abs(values[i])));
        return order;
    }

    static double trace(double[][] a) {
        double t = 0;
        for (int i = 0; i < a.length; i++) {
            t += a[i][i];
        }
        return t;
    }

    /** The standard deviation of z.Az for a Rademacher z: sqrt(2 sum_{i != j} a_ij^2). */
    static double hutchinsonSd(double[][] a) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                if (i != j) {
                    s += a[i][j] * a[i][j];
                }
            }
        }
        return Math.sqrt(2 * s);
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        double[][] c = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                for (int j = 0; j < n; j++) {
                    c[i][j] += a[i][k] * b[k][j];
                }
            }
        }
        return c;
    }

    static double[] times(double[][] a, double[] v) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < v.length; j++) {
                r[i] += a[i][j] * v[j];
            }
        }
        return r;
    }

    static double maxAbs(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m;
    }
}

package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.models.cli.HessianCommand;
import org.lipa.models.io.SafeTensors;
import picocli.CommandLine;
import org.lipa.backend.ref.RefBackend;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.Tensor;

/**
 * The Hessian spectra against an explicit Hessian built independently: central differences of the
 * gradient (a different graph from the Hessian-vector products) on a 3-5-2 tanh MLP with cross-entropy
 * (32 parameters, two batches of 8) in float64 on the reference backend, decomposed by a plain cyclic
 * Jacobi eigensolver written here.
 */
class HessianTest {
    private static Arena arena;
    private static Problem mlp;

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
            double[] v = SymmetricSpectrum.Probe.GAUSSIAN.draw(r, mlp.n());
            assertArrayEquals(times(mlp.explicit(), v), mlp.hessian().apply(v), 1e-7);
        }
        assertEquals(before + 3, mlp.hessian().products(), "products are counted");
        assertThrows(IllegalArgumentException.class, () -> mlp.hessian().apply(new double[3]));
    }

    @Test
    void powerIterationWithDeflationFindsTheThreeLargestMagnitudes() {
        Integer[] order = byMagnitude(mlp.eigenvalues());
        Hessian.Eigen top = mlp.hessian().top(Hessian.Options.defaults().withTopK(3).withPower(1e-12, 5000).withSeed(2));
        for (int k = 0; k < 3; k++) {
            double expected = mlp.eigenvalues()[order[k]];
            assertTrue(top.converged()[k], "eigenvalue " + k + " converged");
            assertEquals(expected, top.values()[k], 1e-8 * Math.abs(expected), "eigenvalue " + k);
            Weights v = top.vectors().get(k);
            assertEquals(1, v.norm(), 1e-10);
            double overlap = Math.abs(SymmetricSpectrum.dot(v.values(), mlp.eigenvectors()[order[k]]));
            assertEquals(1, overlap, 1e-6, "eigenvector " + k + " against Jacobi's");
            // an eigenvector: H v = lambda v
            assertArrayEquals(times(mlp.explicit(), v.values()), v.times(top.values()[k]).values(), 1e-6);
        }
        // PyHessian's defaults stop early, close to the answer
        Hessian.Eigen quick = mlp.hessian().top(Hessian.Options.defaults().withSeed(3));
        assertTrue(quick.converged()[0] && quick.iterations()[0] < 100, "iterations " + quick.iterations()[0]);
        assertEquals(mlp.eigenvalues()[order[0]], quick.values()[0], 0.02 * Math.abs(mlp.eigenvalues()[order[0]]));
    }

    @Test
    void powerIterationFindsANegativeEigenvalueOfLargestMagnitude() {
        // -diag(3, 1, 2) + a small symmetric coupling: the top by magnitude is negative
        double[][] a = {{-3, 0.1, 0}, {0.1, 1, 0.05}, {0, 0.05, 2}};
        Jacobi j = jacobi(a);
        Integer[] order = byMagnitude(j.values());
        SymmetricSpectrum.Eigenpairs e = SymmetricSpectrum.powerIteration(SymmetricSpectrum.Operator.of(a), 3, 1e-14, 2000, 4, s -> { });
        for (int k = 0; k < 3; k++) {
            assertEquals(j.values()[order[k]], e.values()[k], 1e-9);
        }
        assertTrue(e.values()[0] < 0);
        assertThrows(IllegalArgumentException.class,
                () -> SymmetricSpectrum.powerIteration(SymmetricSpectrum.Operator.of(a), 4, 1e-3, 10, 0, s -> { }));
    }

    @Test
    void hutchinsonIsUnbiasedWithinItsStandardError() {
        int samples = 600;
        SymmetricSpectrum.TraceEstimate t = mlp.hessian().trace(Hessian.Options.defaults().withTrace(0, samples).withSeed(5));
        assertEquals(samples, t.samples().length);
        assertFalse(t.converged(), "tol 0 never stops early");
        double exact = trace(mlp.explicit());
        double se = hutchinsonSd(mlp.explicit()) / Math.sqrt(samples);
        assertEquals(exact, t.trace(), 4 * se, "Hutchinson against the explicit trace");
        assertEquals(se, t.standardError(), 0.15 * se, "the reported standard error against the exact one");
        // with PyHessian's tolerance it stops before its cap
        SymmetricSpectrum.TraceEstimate quick = mlp.hessian().trace(Hessian.Options.defaults().withSeed(6));
        assertTrue(quick.converged() && quick.samples().length < 100, "samples " + quick.samples().length);
    }

    @Test
    void hutchinsonIsExactForADiagonalHessian() {
        // y = x W^T with x = diag(1, 2, 3): each weight meets one residual, so the MSE Hessian is diagonal
        Module lin = f64(new Linear(arena, new Random(7), 3, 2, false), arena);
        Tensor x = Tensor.of(arena, DType.F64, new double[] {1, 0, 0, 0, 2, 0, 0, 0, 3}, 3, 3);
        Tensor y = Tensor.of(arena, DType.F64, new double[] {0.5, -1, 2, 0.25, -0.5, 1}, 3, 2);
        Problem p = problem(lin, List.of(new Hessian.Batch(x, y)), (ops, pred, t) -> ops.mse(pred, t));
        assertEquals(0, hutchinsonSd(p.explicit()), 1e-8, "the explicit Hessian is diagonal");
        SymmetricSpectrum.TraceEstimate t = p.hessian().trace(Hessian.Options.defaults().withSeed(8));
        assertTrue(t.converged());
        assertEquals(2, t.samples().length, "two equal samples meet any tolerance");
        for (double s : t.samples()) {
            assertEquals(trace(p.explicit()), s, 1e-8);
        }
        assertEquals(0, t.standardError(), 1e-8);
    }

    @Test
    void slqWithFullStepsFindsEveryEigenvalue() {
        // 6 eigenvalues are 0 (softmax ignores a shift of both logits): Lanczos breaks down and restarts
        for (SymmetricSpectrum.Probe probe : SymmetricSpectrum.Probe.values()) {
            HessianDensity d = HessianDensity.slq(mlp.hessian(), 1, mlp.n(), probe, 9, s -> { });
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
        HessianDensity d = mlp.hessian().density(Hessian.Options.defaults().withSlq(runs, 3).withSeed(10));
        assertEquals(runs, d.nodes().length);
        double[][] power = mlp.explicit();
        for (int p = 1; p <= 2; p++) {
            double exact = trace(power) / mlp.n();
            double se = hutchinsonSd(power) / mlp.n() / Math.sqrt(runs);
            assertEquals(exact, d.moment(p), 4 * se, "moment " + p);
            power = multiply(power, mlp.explicit());
        }
    }

    @Test
    void theDensityIntegratesToOneAndKeepsTheMean() {
        HessianDensity d = mlp.hessian().density(Hessian.Options.defaults().withSlq(4, 12).withSeed(11));
        HessianDensity.Curve c = d.smooth(1e-5, 10_000);
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
        List<Hessian.Block> blocks = mlp.hessian().blocks(groups, Hessian.Options.defaults().withPower(1e-12, 5000)
                .withTrace(0, samples).withSeed(12));
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
            Hessian.Block got = blocks.get(b);
            assertEquals(to - from, got.size());
            assertEquals(expected, got.top(), 1e-8 * Math.abs(expected), "block " + got.name());
            double se = hutchinsonSd(block) / Math.sqrt(samples);
            assertEquals(trace(block), got.trace().trace(), 4 * se + 1e-12, "block trace " + got.name());
            // the restricted product is the block times v, and its eigenvector lives in the block
            Hessian h = mlp.hessian().restrict(got.name(), got.parameters());
            double[] v = SymmetricSpectrum.Probe.GAUSSIAN.draw(new Random(b), to - from);
            assertArrayEquals(times(block, v), h.apply(v), 1e-7);
            Weights w = h.top(Hessian.Options.defaults().withSeed(13)).vectors().get(0);
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
    void tridiagonalSolverMatchesTheSecondDifferenceMatrix() {
        // tridiag(-1, 2, -1) of size n: lambda_k = 2 - 2 cos(k pi / (n + 1)), u_k[j] = sqrt(2 / (n + 1)) sin(j k pi / (n + 1))
        int n = 12;
        double[] d = new double[n];
        double[] e = new double[n - 1];
        Arrays.fill(d, 2);
        Arrays.fill(e, -1);
        Tridiagonal.Eigen t = Tridiagonal.eigen(d, e);
        for (int k = 1; k <= n; k++) {
            double angle = k * Math.PI / (n + 1);
            assertEquals(2 - 2 * Math.cos(angle), t.values()[k - 1], 1e-13);
            for (int j = 1; j <= n; j++) {
                assertEquals(Math.abs(Math.sqrt(2.0 / (n + 1)) * Math.sin(j * angle)), Math.abs(t.vectors()[k - 1][j - 1]), 1e-12);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Tridiagonal.eigen(d, new double[n]));
        assertThrows(IllegalArgumentException.class, () -> Tridiagonal.eigen(new double[] {1, Double.NaN}, new double[] {0}));
    }

    @Test
    void tridiagonalSolverMatchesJacobiWithSplitsAndRepeats() {
        Random r = new Random(14);
        for (int trial = 0; trial < 20; trial++) {
            int n = 1 + r.nextInt(25);
            double[] d = new double[n];
            double[] e = new double[n - 1];
            for (int i = 0; i < n; i++) {
                d[i] = trial % 4 == 0 ? 1 : r.nextGaussian() * 3; // some with a constant diagonal
            }
            for (int i = 0; i < n - 1; i++) {
                e[i] = r.nextInt(5) == 0 ? 0 : r.nextGaussian(); // zeros split the matrix
            }
            double[][] m = new double[n][n];
            for (int i = 0; i < n; i++) {
                m[i][i] = d[i];
                if (i + 1 < n) {
                    m[i][i + 1] = e[i];
                    m[i + 1][i] = e[i];
                }
            }
            Tridiagonal.Eigen t = Tridiagonal.eigen(d, e);
            double[] expected = jacobi(m).values().clone();
            Arrays.sort(expected);
            assertArrayEquals(expected, t.values(), 1e-12 * (1 + maxAbs(expected)));
            for (int j = 0; j < n; j++) {
                double[] u = t.vectors()[j];
                double[] mu = times(m, u);
                for (int i = 0; i < n; i++) {
                    assertEquals(t.values()[j] * u[i], mu[i], 1e-12 * (1 + maxAbs(expected)), "residual of vector " + j);
                }
                for (int k = 0; k <= j; k++) {
                    assertEquals(k == j ? 1 : 0, SymmetricSpectrum.dot(u, t.vectors()[k]), 1e-12, "orthonormal");
                }
            }
        }
    }

    @Test
    void badOptionsAndBatchesAreRejected() {
        Hessian.Options o = Hessian.Options.defaults();
        assertThrows(IllegalArgumentException.class, () -> o.withTopK(0));
        assertThrows(IllegalArgumentException.class, () -> o.withPower(-1, 10));
        assertThrows(IllegalArgumentException.class, () -> o.withTrace(1e-3, 1));
        assertThrows(IllegalArgumentException.class, () -> o.withSlq(0, 10));
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

    @Test
    @Tag("cpu")
    void theCommandWritesItsReportAndPlots(@TempDir Path dir) throws IOException {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new HessianCommand()).setCaseInsensitiveEnumValuesAllowed(true).setErr(new PrintWriter(new StringWriter()))
                    .execute("--data", "spirals", "--hidden", "8", "--batches", "2", "--batch-size", "16", "--top-k", "2",
                            "--slq-steps", "12", "--max-iter", "40", "--blocks", "--save-eigenvectors", "--out", dir.toString());
        } finally {
            System.setOut(old);
        }
        String printed = buf.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, printed);
        assertTrue(printed.contains("top eigenvalues") && printed.contains("trace") && printed.contains("block 0"), printed);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("hessian.json").toFile());
        assertEquals(2 * 8 + 8 + 8 * 2 + 2, json.get("parameters").asInt());
        JsonNode top = json.get("top").get("eigenvalues");
        assertEquals(2, top.size());
        assertTrue(Math.abs(top.get(0).asDouble()) >= Math.abs(top.get(1).asDouble()) * 0.99, "by magnitude: " + top);
        JsonNode density = json.get("density");
        assertEquals(12, density.get("nodes").get(0).size());
        double step = density.get("grid").get(1).asDouble() - density.get("grid").get(0).asDouble();
        double mass = 0;
        for (JsonNode v : density.get("density")) {
            mass += v.asDouble() * step;
        }
        assertEquals(1, mass, 1e-9);
        // a principal block's eigenvalues interlace the whole Hessian's: no block's top exceeds the top in magnitude,
        // and the block traces add up to the trace (each within its standard error)
        JsonNode blocks = json.get("blocks");
        assertEquals(2, blocks.size());
        double sum = 0;
        double variance = Math.pow(json.get("trace").get("standardError").asDouble(), 2);
        for (JsonNode b : blocks) {
            assertTrue(Math.abs(b.get("topEigenvalue").asDouble()) <= 1.01 * Math.abs(top.get(0).asDouble()), b.toString());
            sum += b.get("trace").asDouble();
            variance += Math.pow(b.get("traceStandardError").asDouble(), 2);
        }
        assertEquals(json.get("trace").get("estimate").asDouble(), sum, 4 * Math.sqrt(variance));
        for (String png : List.of("density.png", "blocks-top-eigenvalue.png", "blocks-trace.png")) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(dir.resolve(png)), 4);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, png);
        }
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> v = SafeTensors.load(dir.resolve("eigenvector-1.safetensors"), a);
            assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(v.keySet()));
        }
        assertEquals(2, new CommandLine(new HessianCommand()).setErr(new PrintWriter(new StringWriter())).execute("--batches", "0",
                "--data", "SPIRALS", "--out", dir.toString()));
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

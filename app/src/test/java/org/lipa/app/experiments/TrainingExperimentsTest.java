package org.lipa.app.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.analysis.Dense;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.tensor.Tensor;

/**
 * The four training experiments at {@link Experiment.Size#SMALL} on the CPU backend: each returns its
 * figures and plots, a rerun with the same seed gives the same figures, and {@code holds} is the decision the
 * experiment states, recomputed here from the figures. Where the claim is robust at this scale (Adam against
 * SGD, weight decay) it must hold.
 */
@Tag("cpu")
class TrainingExperimentsTest {
    private static CpuBackend cpu;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        cpu = CpuBackend.open();
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /** Runs {@code e} twice with seed 7 and checks what every experiment must give; returns the first result. */
    private Experiment.Result runTwice(Experiment e) throws IOException {
        List<String> lines = new ArrayList<>();
        Experiment.Result r = e.run(new Experiment.Context(cpu, dir.resolve("a"), 7, Experiment.Size.SMALL, lines::add));
        Experiment.Result again = e.run(new Experiment.Context(cpu, dir.resolve("b"), 7, Experiment.Size.SMALL, s -> { }));
        assertEquals(e.name(), r.name());
        assertEquals(e.claim(), r.claim());
        assertFalse(lines.isEmpty(), "no progress lines");
        assertFalse(r.plots().isEmpty(), "no plots");
        for (Path p : r.plots()) {
            assertTrue(p.startsWith(dir.resolve("a")), p + " is outside the output directory");
            assertTrue(Files.size(p) > 1000, p + " is missing or empty");
        }
        assertEquals(r.figures(), again.figures(), "a seeded rerun gave other figures");
        assertEquals(r.holds(), again.holds());
        assertEquals(r.evidence(), again.evidence());
        return r;
    }

    private static double num(Map<String, Object> f, String key) {
        assertTrue(f.containsKey(key), "figure " + key + " is missing: " + f.keySet());
        return ((Number) f.get(key)).doubleValue();
    }

    @SuppressWarnings("unchecked")
    private static double[] nums(Object list) {
        return ((List<Number>) list).stream().mapToDouble(Number::doubleValue).toArray();
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            m = Math.max(m, d);
        }
        return m;
    }

    private static double min(double[] v) {
        double m = Double.POSITIVE_INFINITY;
        for (double d : v) {
            m = Math.min(m, d);
        }
        return m;
    }

    @Test
    void adamBeatsSgdOnATransformer() throws IOException {
        Experiment.Result r = runTwice(new AdamVsSgd());
        Map<String, Object> f = r.figures();
        double[] adam = nums(f.get("adamFinalLoss"));
        double[] sgd = nums(f.get("sgdFinalLoss"));
        assertEquals(nums(f.get("adamRates")).length, adam.length);
        assertEquals(nums(f.get("sgdRates")).length, sgd.length);
        assertEquals(min(adam), num(f, "adamBestLoss"));
        assertEquals(min(sgd), num(f, "sgdBestLoss"));
        // the final loss is the mean of the last steps of the recorded curve
        @SuppressWarnings("unchecked")
        Map<String, Object> best = (Map<String, Object>) ((Map<String, Object>) f.get("runs")).get("adam lr=" + num(f, "adamBestRate"));
        double[] curve = nums(best.get("losses"));
        int window = (int) num(f, "finalLossWindow");
        double tail = 0;
        for (int i = curve.length - window; i < curve.length; i++) {
            tail += curve[i];
        }
        assertEquals(tail / window, num(f, "adamBestLoss"), 1e-12);
        assertEquals(min(adam) < min(sgd), r.holds());
        assertTrue(r.holds(), r.evidence());
        // training did something: the best run ends far below the initial loss, about ln(vocab)
        assertTrue(min(adam) < 0.5 * num(f, "initialLoss"), r.evidence());
    }

    @Test
    void weightDecayLowersTheLipschitzBound() throws IOException {
        Experiment.Result r = runTwice(new RegularizationLipschitz());
        Map<String, Object> f = r.figures();
        double[] plain = nums(f.get("plainNorms"));
        double[] decayed = nums(f.get("plainWeightDecayNorms"));
        double product = 1;
        double productDecayed = 1;
        boolean everyLower = true;
        for (int i = 0; i < plain.length; i++) {
            product *= plain[i];
            productDecayed *= decayed[i];
            everyLower &= decayed[i] < plain[i];
        }
        assertEquals(product, num(f, "plainBound"), 1e-12 * product);
        assertEquals(productDecayed, num(f, "plainWeightDecayBound"), 1e-12 * productDecayed);
        assertEquals(everyLower, f.get("weightDecayLowersEveryLayer"));
        assertEquals(everyLower && productDecayed < product, r.holds());
        assertTrue(r.holds(), r.evidence());
        assertEquals(num(f, "batchNormBound") < product, f.get("batchNormLowersBound"));
        assertEquals(num(f, "batchNormWeightDecayBound") < num(f, "batchNormBound"), f.get("weightDecayLowersBoundWithBatchNorm"));
    }

    @Test
    void initScaleSensitivityDecidesFromTheSpreads() throws IOException {
        Experiment.Result r = runTwice(new InitScaleSensitivity());
        Map<String, Object> f = r.figures();
        double[] scales = nums(f.get("scales"));
        double[] transformer = nums(f.get("transformerEarlyLoss"));
        double[] resnet = nums(f.get("resnetEarlyLoss"));
        assertEquals(scales.length, transformer.length);
        assertEquals(scales.length, resnet.length);
        assertEquals(max(transformer) / min(transformer), num(f, "transformerSpread"), 1e-12);
        assertEquals(max(resnet) / min(resnet), num(f, "resnetSpread"), 1e-12);
        assertEquals(num(f, "transformerSpread") > num(f, "resnetSpread"), r.holds());
    }

    @Test
    void warmupSpectralNormDecidesFromPeaksAndLosses() throws IOException {
        Experiment.Result r = runTwice(new WarmupSpectralNorm());
        Map<String, Object> f = r.figures();
        double[] none = nums(f.get("maxNormNoWarmup"));
        double[] warm = nums(f.get("maxNormWarmup"));
        // the per-checkpoint maximum is the largest of the per-matrix norms, and the peak the largest of those
        @SuppressWarnings("unchecked")
        Map<String, Object> perMatrix = (Map<String, Object>) f.get("normsNoWarmup");
        assertEquals(((List<?>) f.get("matrices")).size(), perMatrix.size());
        for (int i = 0; i < none.length; i++) {
            double m = Double.NEGATIVE_INFINITY;
            for (Object v : perMatrix.values()) {
                m = Math.max(m, nums(v)[i]);
            }
            assertEquals(m, none[i]);
        }
        assertEquals(max(none), num(f, "peakNormNoWarmup"));
        assertEquals(max(warm), num(f, "peakNormWarmup"));
        // both runs start from the same initialization
        assertEquals(none[0], warm[0]);
        double[] lossNone = nums(f.get("lossesNoWarmup"));
        double[] lossWarm = nums(f.get("lossesWarmup"));
        int from = (int) num(f, "earlyLossFrom");
        double a = 0;
        double b = 0;
        for (int i = from; i < lossNone.length; i++) {
            a += lossNone[i];
            b += lossWarm[i];
        }
        a /= lossNone.length - from;
        b /= lossWarm.length - from;
        assertEquals(a, num(f, "earlyLossNoWarmup"), 1e-12);
        assertEquals(b, num(f, "earlyLossWarmup"), 1e-12);
        assertEquals(max(none) > max(warm) && a > b, r.holds());
    }

    @Test
    void spectralNormMatchesADenseSvd() {
        Random rnd = new Random(11);
        for (int[] shape : new int[][] {{5, 3}, {16, 16}, {12, 32}}) {
            double[] a = new double[shape[0] * shape[1]];
            for (int i = 0; i < a.length; i++) {
                a[i] = rnd.nextGaussian();
            }
            double svd = Dense.singularValues(a, shape[0], shape[1])[0];
            assertEquals(svd, ExperimentSupport.spectralNorm(a, shape[0], shape[1], 3), 1e-5 * svd);
        }
    }

    @Test
    void batchNormNormIsTheLargestScaleOfItsAffineMap() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor gamma = Tensor.of(arena, new float[] {0.5f, -3f, 1f}, 3);
            Tensor var = Tensor.of(arena, new float[] {0.25f, 4f, 1e-6f}, 3);
            // |gamma| / sqrt(var + 1e-5): 0.99998, 1.49999, 1 / sqrt(1.1e-5) = 301.5
            assertEquals(1 / Math.sqrt(1e-6 + 1e-5), RegularizationLipschitz.batchNormNorm(gamma, var), 1e-3);
        }
    }
}

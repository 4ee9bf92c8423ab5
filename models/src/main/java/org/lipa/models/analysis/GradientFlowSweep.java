package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import org.lipa.backend.Backend;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.tensor.Tensor;

/**
 * {@link GradientFlow} over a grid of depths, variants and initializers on one batch: the numbers (as a JSON-ready
 * map); the plots are drawn by the application ({@code lipa gradflow} is a thin shell around both). One trace per depth and variant serves every
 * initializer; each network's weights come from {@code seed} and its depth only, so variants and initializers of one
 * depth share their random draws.
 *
 * <pre>{@code
 * var s = new GradientFlowSweep.Settings(784, 10, 64, List.of(4, 16), List.of(Variant.PLAIN, Variant.RESIDUAL_NORM),
 *         List.of(Init.Scheme.values()), Activation.RELU, 1, 2, 0);
 * List<GradientFlowSweep.Entry> r = GradientFlowSweep.run(cpu, s, x, y, System.out::println);
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class GradientFlowSweep {
    private GradientFlowSweep() {
    }

    /**
     * @param in             input features
     * @param out            classes
     * @param width          hidden width
     * @param depths         numbers of hidden blocks
     * @param variants       architectures
     * @param inits          weight initializers
     * @param activation     the nonlinearity
     * @param gain           every weight is multiplied by it after drawing
     * @param jacobianInputs examples (the batch's first ones) whose Jacobian spectra are averaged; 0 skips the Jacobian
     * @param seed           every weight derives from it
     */
    public record Settings(int in, int out, int width, List<Integer> depths, List<GradientFlow.Variant> variants,
                           List<Init.Scheme> inits, Activation activation, double gain, int jacobianInputs, long seed) {
        public Settings {
            depths = List.copyOf(depths);
            variants = List.copyOf(variants);
            inits = List.copyOf(inits);
            if (depths.isEmpty() || variants.isEmpty() || inits.isEmpty()) {
                throw new IllegalArgumentException("depths, variants and inits must not be empty");
            }
            if (jacobianInputs < 0) {
                throw new IllegalArgumentException("jacobianInputs must be >= 0, got " + jacobianInputs);
            }
        }
    }

    /** A batch of inputs {@code [n, in]} and one-hot targets, with a sentence saying what it is. */
    public record Batch(Tensor x, Tensor y, String description) {
    }

    /** {@code n} inputs of i.i.d. N(0, scale^2) features with uniformly random labels (nothing to learn: a probe only). */
    public static Batch gaussian(Arena arena, int n, int in, int classes, double scale, long seed) {
        java.util.Random r = new java.util.Random(seed);
        float[] x = new float[Math.multiplyExact(n, in)];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (scale * r.nextGaussian());
        }
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(classes);
        }
        return new Batch(Tensor.of(arena, x, n, in), Tensor.oneHot(arena, org.lipa.tensor.DType.F32, labels, classes),
                String.format(Locale.ROOT, "%d Gaussian inputs N(0, %.3g^2) of %d features with random labels of %d classes (seed %d)",
                        n, scale, in, classes, seed));
    }

    /** {@code n} examples of {@code set} in a seeded random order, features times {@code scale}. */
    public static Batch sample(Arena arena, org.lipa.models.data.Dataset set, String name, int n, double scale, long seed) {
        Tensor[] b = set.batch(arena, set.shuffled(seed), 0, n);
        if (scale != 1) {
            float[] x = b[0].toFloatArray();
            for (int i = 0; i < x.length; i++) {
                x[i] *= (float) scale;
            }
            b[0].copyFrom(x);
        }
        return new Batch(b[0], b[1], String.format(Locale.ROOT, "%d %s examples (seeded order %d)%s", n, name, seed,
                scale != 1 ? String.format(Locale.ROOT, ", features times %.3g", scale) : ""));
    }

    /** One network's measurements; {@code spectrum} is null when the Jacobian was skipped. */
    public record Entry(GradientFlow.Variant variant, int depth, Init.Scheme init, GradientFlow.Profile gradients,
                        JacobianSpectrum spectrum) {
    }

    /** Measures every (variant, depth, init) on the batch {@code (x, y)} with cross-entropy. */
    public static List<Entry> run(Backend backend, Settings s, Tensor x, Tensor y, Consumer<String> progress) {
        List<Entry> out = new ArrayList<>();
        for (GradientFlow.Variant v : s.variants()) {
            for (int depth : s.depths()) {
                long start = System.nanoTime();
                try (Arena model = Arena.ofConfined()) {
                    GradientFlow.Network net = new GradientFlow.Network(s.in(), s.width(), depth, s.out(), s.activation(), v);
                    GradientFlow flow = GradientFlow.of(backend, model, net, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
                    for (Init.Scheme scheme : s.inits()) {
                        try (Arena step = Arena.ofConfined()) {
                            List<Tensor> p = flow.initialize(step, scheme, s.gain(), s.seed() * 1_000_003L + depth);
                            GradientFlow.Profile g = flow.gradients(step, p, x, y);
                            JacobianSpectrum j = s.jacobianInputs() > 0 ? flow.jacobian(step, p, x, s.jacobianInputs()) : null;
                            out.add(new Entry(v, depth, scheme, g, j));
                        }
                    }
                }
                Entry last = out.getLast();
                progress.accept(String.format(Locale.ROOT, "%s depth %d: %d inits in %.1f s (%s: |dL/dh_0|/|dL/dh_L| = %.3g)",
                        v.label(), depth, s.inits().size(), (System.nanoTime() - start) / 1e9, last.init(),
                        last.gradients().signalRatio()));
            }
        }
        return out;
    }

    /** Every number, nested as settings and one map per entry (for Jackson). */
    public static Map<String, Object> json(Settings s, List<Entry> entries) {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("in", s.in());
        settings.put("out", s.out());
        settings.put("width", s.width());
        settings.put("depths", s.depths());
        settings.put("variants", s.variants().stream().map(GradientFlow.Variant::label).toList());
        settings.put("inits", s.inits().stream().map(Enum::name).toList());
        settings.put("activation", s.activation().name());
        settings.put("gain", s.gain());
        settings.put("jacobianInputs", s.jacobianInputs());
        settings.put("seed", s.seed());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (Entry e : entries) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("variant", e.variant().label());
            r.put("depth", e.depth());
            r.put("init", e.init().name());
            GradientFlow.Profile g = e.gradients();
            r.put("loss", g.loss());
            r.put("layers", g.layers());
            r.put("weightGradNorms", g.weightNorms());
            r.put("signalGradNorms", g.signalNorms());
            r.put("weightRatioFirstOverLastBlock", g.weightRatio());
            r.put("weightSpread", g.weightSpread());
            r.put("signalRatioFirstOverLast", g.signalRatio());
            r.put("signalSpread", g.signalSpread());
            if (e.spectrum() != null) {
                JacobianSpectrum j = e.spectrum();
                Map<String, Object> js = new LinkedHashMap<>();
                js.put("meanSquared", j.meanSquared());
                js.put("max", j.max());
                js.put("min", j.min());
                js.put("fractionWithin0.5to2", j.fractionWithin(0.5, 2));
                js.put("logSpread", j.logSpread());
                js.put("singularValues", j.singularValues());
                r.put("jacobian", js);
            }
            rows.add(r);
        }
        Map<String, Object> all = new LinkedHashMap<>();
        all.put("settings", settings);
        all.put("results", rows);
        return all;
    }
}

package org.lipa.app.report;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lipa.models.analysis.GradientFlow;
import org.lipa.models.analysis.GradientFlowSweep;
import org.lipa.models.analysis.GradientFlowSweep.Entry;
import org.lipa.models.analysis.GradientFlowSweep.Settings;
import org.lipa.models.init.Init;

/**
 * The plots of a {@link GradientFlowSweep}, drawn here rather than in the models library, which draws nothing.
 *
 * <pre>{@code
 * List<GradientFlowSweep.Entry> r = GradientFlowSweep.run(cpu, s, x, y, System.out::println);
 * List<Path> pngs = GradientFlowPlots.plot(dir, s, r);
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class GradientFlowPlots {
    private GradientFlowPlots() {
    }

    /**
     * Per variant and depth, gradient norms per layer (weights, and the back-propagated signal); per variant at up to
     * three depths, the sorted singular values; per variant, summaries against depth. Returns the files written.
     */
    public static List<Path> plot(Path dir, Settings s, List<Entry> entries) {
        List<Path> files = new ArrayList<>();
        for (GradientFlow.Variant v : s.variants()) {
            for (int depth : s.depths()) {
                List<Entry> here = select(entries, v, depth);
                List<Charts.Series> weights = new ArrayList<>();
                List<Charts.Series> signal = new ArrayList<>();
                for (Entry e : here) {
                    double[] w = e.gradients().weightNorms();
                    weights.add(new Charts.Series(e.init().name(), range(w.length), w, w.length <= 20));
                    double[] sg = e.gradients().signalNorms();
                    signal.add(new Charts.Series(e.init().name(), range(sg.length), sg, sg.length <= 20));
                }
                String tag = v.label() + "-d" + depth;
                files.add(chart(dir.resolve("gradflow-weights-" + tag + ".png"), "|dL/dW| per layer, " + v.label() + ", depth " + depth,
                        "layer (0 = input layer, last = head)", "gradient norm", Charts.Scale.LOG, weights));
                files.add(chart(dir.resolve("gradflow-signal-" + tag + ".png"), "|dL/dh_l| per layer, " + v.label() + ", depth " + depth,
                        "hidden representation l", "gradient norm", Charts.Scale.LOG, signal));
            }
            if (s.jacobianInputs() > 0) {
                List<Integer> ds = s.depths();
                for (int depth : List.copyOf(new java.util.LinkedHashSet<>(List.of(ds.getFirst(), ds.get(ds.size() / 2), ds.getLast())))) {
                    List<Charts.Series> spectra = new ArrayList<>();
                    for (Entry e : select(entries, v, depth)) {
                        double[] sigma = e.spectrum().pooled();
                        spectra.add(new Charts.Series(e.init().name(), range(sigma.length), sigma));
                    }
                    files.add(chart(dir.resolve("gradflow-spectrum-" + v.label() + "-d" + depth + ".png"),
                            "Jacobian dh_L/dh_0 singular values, " + v.label() + ", depth " + depth, "rank (all inputs pooled)", "singular value",
                            Charts.Scale.LOG, spectra));
                }
            }
            files.add(summary(dir, "signal-spread", v, s, entries, "max/min of |dL/dh_l| over layers", Charts.Scale.LOG,
                    e -> e.gradients().signalSpread()));
            files.add(summary(dir, "weight-spread", v, s, entries, "max/min of |dL/dW| over hidden blocks", Charts.Scale.LOG,
                    e -> e.gradients().weightSpread()));
            if (s.jacobianInputs() > 0) {
                files.add(summary(dir, "mean-squared-sigma", v, s, entries, "mean sigma^2 of dh_L/dh_0", Charts.Scale.LOG,
                        e -> e.spectrum().meanSquared()));
                files.add(summary(dir, "isometry", v, s, entries, "fraction of sigma in [0.5, 2]", Charts.Scale.LINEAR,
                        e -> e.spectrum().fractionWithin(0.5, 2)));
            }
        }
        return files;
    }

    private static Path summary(Path dir, String what, GradientFlow.Variant v, Settings s, List<Entry> entries, String yLabel,
            Charts.Scale scale, java.util.function.ToDoubleFunction<Entry> f) {
        double[] depths = s.depths().stream().mapToDouble(Integer::doubleValue).toArray();
        List<Charts.Series> series = new ArrayList<>();
        for (Init.Scheme scheme : s.inits()) {
            double[] y = new double[depths.length];
            for (int i = 0; i < depths.length; i++) {
                int d = s.depths().get(i);
                y[i] = f.applyAsDouble(entries.stream().filter(e -> e.variant() == v && e.depth() == d && e.init() == scheme)
                        .findFirst().orElseThrow());
            }
            series.add(new Charts.Series(scheme.name(), depths, y, true));
        }
        return chart(dir.resolve("gradflow-" + what + "-" + v.label() + ".png"), yLabel + " vs depth, " + v.label(), "depth", yLabel,
                scale, series);
    }

    private static Path chart(Path png, String title, String x, String y, Charts.Scale scale, List<Charts.Series> series) {
        Charts.line(png, title, x, y, scale, series);
        return png;
    }

    private static List<Entry> select(List<Entry> entries, GradientFlow.Variant v, int depth) {
        return entries.stream().filter(e -> e.variant() == v && e.depth() == depth).toList();
    }

    private static double[] range(int n) {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}

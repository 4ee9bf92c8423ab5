package org.lipa.app.experiments;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lipa.models.analysis.GradientFlow;
import org.lipa.models.analysis.GradientFlow.Variant;
import org.lipa.models.analysis.GradientFlowSweep;
import org.lipa.models.data.Mnist;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.app.report.Charts;

/**
 * Plain against residual networks at initialization (He et al. 2016; Balduzzi et al. 2017): ReLU MLPs with He-normal
 * weights, each hidden block normalized (layer norm, and batch norm on batch statistics, as He et al. normalize every
 * layer), with and without the identity skip. The deciding figure is the spread of the back-propagated gradient
 * {@code |dL/dh_l|} over the layers (largest over smallest) at the greatest depth; the claim holds when, for both
 * normalizations, the plain network's spread is at least ten times the residual network's. The networks without
 * normalization are measured too and reported beside it: there He init keeps a plain ReLU network's gradient in scale
 * (what it was designed for) while an unscaled residual sum makes it explode, which is why residual networks are
 * normalized (or scaled, as in Fixup) in practice.
 *
 * <pre>{@code
 * var r = new ResidualVsPlain().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class ResidualVsPlain implements Experiment {
    /** The experiment's name. */
    public static final String NAME = "residual-vs-plain";
    /** The decision: the plain network's spread over the residual network's, per normalization, at least this. */
    static final double FACTOR = 10;

    private static final List<Variant> VARIANTS = List.of(Variant.NORM, Variant.RESIDUAL_NORM, Variant.BATCH_NORM,
            Variant.RESIDUAL_BATCH_NORM, Variant.PLAIN, Variant.RESIDUAL);

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String claim() {
        return "At initialization, gradient norms of a deep plain network vanish or explode with depth, while a residual network "
                + "keeps them within a small factor across layers (He et al. 2016; Balduzzi et al. 2017).";
    }

    /** The work of one size. */
    private record Setup(int width, int batch, List<Integer> depths) {
    }

    private static Setup setup(Size size) {
        return size == Size.SMALL ? new Setup(32, 32, List.of(8, 32)) : new Setup(128, 128, List.of(4, 8, 16, 32, 64));
    }

    @Override
    public Result run(Context context) {
        Setup s = setup(context.size());
        long start = System.nanoTime();
        try (Arena arena = Arena.ofConfined()) {
            GradientFlowSweep.Batch batch = batch(arena, context, s);
            context.progress().accept(NAME + ": " + batch.description());
            GradientFlowSweep.Settings settings = new GradientFlowSweep.Settings(784, 10, s.width(), s.depths(), VARIANTS,
                    List.of(Init.Scheme.HE_NORMAL_IN), Activation.RELU, 1, 0, context.seed());
            List<GradientFlowSweep.Entry> entries = GradientFlowSweep.run(context.backend(), settings, batch.x(), batch.y(),
                    context.progress());
            int deepest = s.depths().getLast();
            Map<Variant, GradientFlow.Profile> at = new LinkedHashMap<>();
            for (GradientFlowSweep.Entry e : entries) {
                if (e.depth() == deepest) {
                    at.put(e.variant(), e.gradients());
                }
            }
            double layerRatio = at.get(Variant.NORM).signalSpread() / at.get(Variant.RESIDUAL_NORM).signalSpread();
            double batchRatio = at.get(Variant.BATCH_NORM).signalSpread() / at.get(Variant.RESIDUAL_BATCH_NORM).signalSpread();
            boolean holds = layerRatio >= FACTOR && batchRatio >= FACTOR;

            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("data", batch.description());
            figures.put("width", s.width());
            figures.put("depths", s.depths());
            figures.put("activation", "RELU");
            figures.put("init", Init.Scheme.HE_NORMAL_IN.name());
            figures.put("deepest", deepest);
            figures.put("decisionFactor", FACTOR);
            figures.put("layerNormPlainOverResidualSpread", layerRatio);
            figures.put("batchNormPlainOverResidualSpread", batchRatio);
            Map<String, Object> spreads = new LinkedHashMap<>();
            at.forEach((v, g) -> spreads.put(v.label(), Map.of("signalSpread", g.signalSpread(), "signalRatioFirstOverLast",
                    g.signalRatio(), "weightSpread", g.weightSpread(), "weightRatioFirstOverLastBlock", g.weightRatio())));
            figures.put("atDeepest", spreads);
            figures.put("sweep", GradientFlowSweep.json(settings, entries).get("results"));
            figures.put("seconds", (System.nanoTime() - start) / 1e9);

            String evidence = String.format(Locale.ROOT,
                    "At depth %d (width %d, ReLU, He init, %s), |dL/dh_l| spreads over the layers by %s (plain + layer norm) against %s "
                            + "(residual + layer norm), and %s (plain + batch norm) against %s (residual + batch norm): ratios %s and %s, "
                            + "%s the required %s. |dL/dW| first/last block: %s plain vs %s residual (layer norm). Without "
                            + "normalization the plain network keeps its gradient within %s (He init's design) and the residual "
                            + "one explodes by %s.",
                    deepest, s.width(), shortData(batch), g(at.get(Variant.NORM).signalSpread()),
                    g(at.get(Variant.RESIDUAL_NORM).signalSpread()), g(at.get(Variant.BATCH_NORM).signalSpread()),
                    g(at.get(Variant.RESIDUAL_BATCH_NORM).signalSpread()), g(layerRatio), g(batchRatio),
                    holds ? "both at least" : "not both at least", g(FACTOR), g(at.get(Variant.NORM).weightRatio()),
                    g(at.get(Variant.RESIDUAL_NORM).weightRatio()), g(at.get(Variant.PLAIN).signalSpread()),
                    g(at.get(Variant.RESIDUAL).signalSpread()));
            List<Path> plots = plots(context, s, entries, at, deepest);
            return new Result(NAME, claim(), holds, evidence, figures, plots);
        }
    }

    /** MNIST for the full run when it is in the cache, else (and always for SMALL) Gaussian inputs with random labels. */
    private static GradientFlowSweep.Batch batch(Arena arena, Context context, Setup s) {
        Path dir = Mnist.cacheDirectory();
        if (context.size() == Size.FULL && Mnist.present(dir)) {
            try {
                return GradientFlowSweep.sample(arena, Mnist.load(dir).train(), "MNIST training", s.batch(), 1, context.seed());
            } catch (IOException e) {
                context.progress().accept(NAME + ": MNIST unreadable (" + e.getMessage() + "), using Gaussian inputs");
            }
        }
        return GradientFlowSweep.gaussian(arena, s.batch(), 784, 10, 1, context.seed());
    }

    private static String shortData(GradientFlowSweep.Batch b) {
        return b.description().contains("MNIST") ? "an MNIST batch of " + b.x().shape().dim(0)
                : "Gaussian inputs with random labels, batch " + b.x().shape().dim(0);
    }

    private static List<Path> plots(Context context, Setup s, List<GradientFlowSweep.Entry> entries, Map<Variant, GradientFlow.Profile> at,
            int deepest) {
        Path dir = context.outputDir();
        List<Charts.Series> signal = new ArrayList<>();
        List<Charts.Series> weights = new ArrayList<>();
        at.forEach((v, g) -> {
            signal.add(new Charts.Series(v.label(), range(g.signalNorms().length), g.signalNorms()));
            double[] w = g.blockWeightNorms();
            double[] x = range(w.length + 1);
            weights.add(new Charts.Series(v.label(), java.util.Arrays.copyOfRange(x, 1, x.length), w));
        });
        Path signalPng = dir.resolve(NAME + "-signal.png");
        Charts.line(signalPng, "|dL/dh_l| per layer at depth " + deepest + " (ReLU, He init)", "hidden representation l",
                "gradient norm", Charts.Scale.LOG, signal);
        Path weightPng = dir.resolve(NAME + "-weights.png");
        Charts.line(weightPng, "|dL/dW| per hidden block at depth " + deepest + " (ReLU, He init)", "block", "gradient norm",
                Charts.Scale.LOG, weights);
        List<Charts.Series> spread = new ArrayList<>();
        double[] depths = s.depths().stream().mapToDouble(Integer::doubleValue).toArray();
        for (Variant v : VARIANTS) {
            double[] y = s.depths().stream().mapToDouble(d -> entries.stream().filter(e -> e.variant() == v && e.depth() == d)
                    .findFirst().orElseThrow().gradients().signalSpread()).toArray();
            spread.add(new Charts.Series(v.label(), depths, y, true));
        }
        Path spreadPng = dir.resolve(NAME + "-spread.png");
        Charts.line(spreadPng, "Spread of |dL/dh_l| over layers against depth", "depth", "max / min over layers", Charts.Scale.LOG,
                spread);
        return List.of(signalPng, weightPng, spreadPng);
    }

    private static double[] range(int n) {
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static String g(double v) {
        return String.format(Locale.ROOT, "%.3g", v);
    }
}

package org.lipa.app.experiments;

import static org.lipa.app.experiments.ExperimentSupport.f;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.tensor.Tensor;

/**
 * Learning-rate warmup and the spectral norms of a Transformer's weights (cf. Liu et al., 2020, RAdam and
 * "Understanding the difficulty of training Transformers"; Xiong et al., 2020; Kosson et al., 2024): a
 * post-norm {@link SequenceTransformer} (the original layout, the one that needs warmup) learns the
 * majority-token task with Adam at a large constant rate ({@code 1e-2}, ten times the usual {@code 1e-3}),
 * once from the first step and once after a linear warmup over the first quarter of the steps, from the
 * same initialization on the same batches. Every few steps the top singular value of each attention
 * projection ({@code q, k, v, out}) and MLP matrix of every block is measured by power iteration.
 *
 * <p>The claim holds when, without warmup, both (a) the peak over the run of the largest spectral norm is
 * higher and (b) the early loss, the mean training loss of the last quarter of the (short) run, is higher
 * than with warmup.
 *
 * <pre>{@code
 * var r = new WarmupSpectralNorm().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class WarmupSpectralNorm implements Experiment {
    /** The experiment's name. */
    public static final String NAME = "warmup-spectral-norm";

    private static final double LEARNING_RATE = 1e-2;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String claim() {
        return "Without learning-rate warmup, a Transformer trained with Adam at a large learning rate shows a spike in the spectral "
                + "norms of its weight matrices and a worse early loss than with linear warmup (cf. Liu et al. 2020).";
    }

    /** The work of one size. */
    private record Setup(int examples, int length, int vocab, int dim, int depth, int heads, int batch, int steps, int every) {
    }

    private static Setup setup(Size size) {
        return size == Size.SMALL
                ? new Setup(512, 8, 4, 16, 1, 2, 32, 32, 4)
                : new Setup(8192, 16, 8, 32, 2, 4, 64, 240, 6);
    }

    /** One run's measurements: the loss of every step, and at each checkpoint the steps done and every matrix's norm. */
    private record Trace(double[] losses, List<Integer> at, List<double[]> norms, List<String> names) {
        double[] maxNorm() {
            double[] m = new double[norms.size()];
            for (int i = 0; i < m.length; i++) {
                m[i] = max(norms.get(i));
            }
            return m;
        }
    }

    @Override
    public Result run(Context context) {
        Setup s = setup(context.size());
        Dataset data = Synthetic.majorityToken(s.examples(), s.length(), s.vocab(), context.seed());
        int warmup = s.steps() / 4;
        Trace none = train(context, s, data, 0);
        Trace warm = train(context, s, data, warmup);
        double[] maxNone = none.maxNorm();
        double[] maxWarm = warm.maxNorm();
        double peakNone = max(maxNone);
        double peakWarm = max(maxWarm);
        int from = s.steps() - s.steps() / 4;
        double earlyNone = ExperimentSupport.mean(none.losses(), from, s.steps());
        double earlyWarm = ExperimentSupport.mean(warm.losses(), from, s.steps());
        boolean holds = peakNone > peakWarm && earlyNone > earlyWarm;

        double[] x = new double[none.at().size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = none.at().get(i);
        }
        Path normsPlot = ExperimentSupport.plot(context, NAME, "spectral-norm");
        Charts.line(normsPlot, "Largest spectral norm of the attention and MLP matrices", "step", "max top singular value",
                Charts.Scale.LINEAR, List.of(new Charts.Series("no warmup", x, maxNone, true),
                        new Charts.Series("warmup " + warmup + " steps", x, maxWarm, true)));
        Path lossPlot = ExperimentSupport.plot(context, NAME, "loss");
        double[] steps = ExperimentSupport.steps(s.steps());
        int window = Math.max(1, s.steps() / 40);
        Charts.line(lossPlot, "Training loss, Adam at lr " + LEARNING_RATE, "step", "cross-entropy (smoothed)", Charts.Scale.LOG,
                List.of(new Charts.Series("no warmup", steps, ExperimentSupport.smooth(none.losses(), window)),
                        new Charts.Series("warmup " + warmup + " steps", steps, ExperimentSupport.smooth(warm.losses(), window))));

        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("learningRate", LEARNING_RATE);
        figures.put("steps", s.steps());
        figures.put("warmupSteps", warmup);
        figures.put("earlyLossFrom", from);
        figures.put("checkpoints", none.at());
        figures.put("matrices", none.names());
        figures.put("maxNormNoWarmup", ExperimentSupport.list(maxNone));
        figures.put("maxNormWarmup", ExperimentSupport.list(maxWarm));
        figures.put("peakNormNoWarmup", peakNone);
        figures.put("peakNormWarmup", peakWarm);
        figures.put("initialMaxNorm", maxNone[0]);
        figures.put("earlyLossNoWarmup", earlyNone);
        figures.put("earlyLossWarmup", earlyWarm);
        figures.put("normsNoWarmup", perMatrix(none));
        figures.put("normsWarmup", perMatrix(warm));
        figures.put("lossesNoWarmup", ExperimentSupport.list(none.losses()));
        figures.put("lossesWarmup", ExperimentSupport.list(warm.losses()));
        String evidence = "Peak spectral norm over the run " + f(peakNone) + " without warmup against " + f(peakWarm) + " with "
                + warmup + " warmup steps (initially " + f(maxNone[0]) + "); mean loss of steps " + (from + 1) + ".." + s.steps()
                + " " + f(earlyNone) + " against " + f(earlyWarm)
                + (holds ? ": warmup avoided the spike and the worse loss." : ": the claim did not hold in this run.");
        return new Result(NAME, claim(), holds, evidence, figures, List.of(normsPlot, lossPlot));
    }

    private static Map<String, Object> perMatrix(Trace t) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int j = 0; j < t.names().size(); j++) {
            double[] v = new double[t.norms().size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.norms().get(i)[j];
            }
            m.put(t.names().get(j), ExperimentSupport.list(v));
        }
        return m;
    }

    private static Trace train(Context context, Setup s, Dataset data, int warmup) {
        try (Arena arena = Arena.ofConfined()) {
            var net = new SequenceTransformer(arena, new Random(context.seed()), Attention.Kind.DOT, TransformerBlock.Norm.POST,
                    s.length(), s.vocab(), s.dim(), s.depth(), s.heads(), s.vocab());
            // the attention projections and MLP matrices: every rank-2 weight inside the blocks
            Map<String, Tensor> matrices = new LinkedHashMap<>();
            net.parameters().forEach((name, t) -> {
                if (name.startsWith("blocks.") && name.endsWith(".weight") && t.rank() == 2) {
                    matrices.put(name, t);
                }
            });
            List<Integer> at = new ArrayList<>();
            List<double[]> norms = new ArrayList<>();
            at.add(0);
            norms.add(norms(matrices, context.seed()));
            List<Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = Optimizer.adam(p, arena, LEARNING_RATE, 0.9, 0.999, 1e-8, 0);
            Schedule schedule = Schedule.constant(LEARNING_RATE).withWarmup(warmup);
            String label = warmup == 0 ? "no warmup" : "warmup " + warmup;
            double[] losses = ExperimentSupport.train(context.backend(), net, opt, schedule, data, s.batch(), s.steps(), context.seed(),
                    (t, loss) -> {
                        if (t % s.every() == 0 || t == s.steps()) {
                            double[] n = norms(matrices, context.seed() + t);
                            at.add(t);
                            norms.add(n);
                            context.progress().accept(label + ", step " + t + ": loss " + f(loss) + ", max spectral norm " + f(max(n)));
                        }
                    }, (long) s.length() * s.vocab());
            return new Trace(losses, at, norms, List.copyOf(matrices.keySet()));
        }
    }

    private static double[] norms(Map<String, Tensor> matrices, long seed) {
        double[] n = new double[matrices.size()];
        int i = 0;
        for (Tensor w : matrices.values()) {
            n[i] = ExperimentSupport.spectralNorm(w, seed + i);
            i++;
        }
        return n;
    }

    private static double max(double[] v) {
        double m = Double.NEGATIVE_INFINITY;
        for (double d : v) {
            m = Math.max(m, d);
        }
        return m;
    }
}

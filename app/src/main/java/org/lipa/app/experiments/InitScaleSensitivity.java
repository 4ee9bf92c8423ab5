package org.lipa.app.experiments;

import static org.lipa.app.experiments.ExperimentSupport.f;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.arch.ModuleInit;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.tensor.Tensor;

/**
 * Sensitivity to the initialization's scale, Transformer against ResNet (cf. Liu et al., 2020,
 * "Understanding the difficulty of training Transformers"; Zhang et al., 2019, Fixup): both models start
 * from their default initialization with every weight matrix, convolution kernel and embedding multiplied
 * by a factor {@code c} (biases and normalization parameters unchanged), and train with Adam at
 * {@code 1e-3} for a fixed small number of steps on the same task, the majority token of a sequence
 * ({@link Synthetic#majorityToken}), which the Transformer reads as tokens and the ResNet as a one-channel
 * {@code length x vocab} image of one-hot rows. Both are the project's defaults: a pre-norm Transformer
 * and a ResNet with batch norm.
 *
 * <p>Each run's early loss is the mean training loss of its last tenth of steps; a model's spread is the
 * largest over the smallest early loss across the factors. The claim holds when the Transformer's spread
 * exceeds the ResNet's.
 *
 * <pre>{@code
 * var r = new InitScaleSensitivity().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class InitScaleSensitivity implements Experiment {
    /** The experiment's name. */
    public static final String NAME = "init-scale-sensitivity";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String claim() {
        return "Transformers are more sensitive to the initialization scale than ResNets: scaling the initial weights by a factor "
                + "changes a small Transformer's early training loss more than a ResNet's (larger max/min ratio of the loss across "
                + "factors); cf. Liu et al. 2020, Zhang et al. 2019.";
    }

    /** The work of one size. */
    private record Setup(int examples, int length, int vocab, int dim, int depth, int heads, int resnetWidth, int batch, int steps,
                         double[] scales) {
    }

    private static Setup setup(Size size) {
        return size == Size.SMALL
                ? new Setup(512, 8, 4, 16, 1, 2, 4, 32, 20, new double[] {0.25, 1, 4})
                : new Setup(8192, 16, 8, 32, 2, 4, 8, 64, 200, new double[] {0.25, 0.5, 1, 2, 4});
    }

    private static final double LEARNING_RATE = 1e-3;
    private static final String[] MODELS = {"transformer", "resnet"};

    @Override
    public Result run(Context context) {
        Setup s = setup(context.size());
        Dataset data = Synthetic.majorityToken(s.examples(), s.length(), s.vocab(), context.seed());
        int tail = Math.max(3, s.steps() / 10);
        int n = s.scales().length;
        double[][] early = new double[2][n];
        double[][] first = new double[2][n];
        Map<String, Object> curves = new LinkedHashMap<>();
        for (int m = 0; m < 2; m++) {
            for (int i = 0; i < n; i++) {
                double[] losses = train(context, s, data, m, s.scales()[i]);
                early[m][i] = ExperimentSupport.tailMean(losses, tail);
                first[m][i] = losses[0];
                curves.put(MODELS[m] + " x" + s.scales()[i], ExperimentSupport.list(losses));
                context.progress().accept(MODELS[m] + " at init scale " + s.scales()[i] + ": first loss " + f(losses[0])
                        + ", early loss " + f(early[m][i]));
            }
        }
        double[] spread = {spread(early[0]), spread(early[1])};
        boolean holds = spread[0] > spread[1];
        Path plot = ExperimentSupport.plot(context, NAME, "loss-vs-scale");
        double[] log2 = new double[n];
        for (int i = 0; i < n; i++) {
            log2[i] = Math.log(s.scales()[i]) / Math.log(2);
        }
        List<Charts.Series> series = new ArrayList<>();
        for (int m = 0; m < 2; m++) {
            series.add(new Charts.Series(MODELS[m], log2, early[m], true));
        }
        Charts.line(plot, "Loss after " + s.steps() + " Adam steps against the initialization scale", "log2 scale factor",
                "training loss (last " + tail + " steps)", Charts.Scale.LOG, series);

        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("scales", ExperimentSupport.list(s.scales()));
        figures.put("steps", s.steps());
        figures.put("batch", s.batch());
        figures.put("learningRate", LEARNING_RATE);
        figures.put("earlyLossWindow", tail);
        figures.put("transformerEarlyLoss", ExperimentSupport.list(early[0]));
        figures.put("resnetEarlyLoss", ExperimentSupport.list(early[1]));
        figures.put("transformerFirstLoss", ExperimentSupport.list(first[0]));
        figures.put("resnetFirstLoss", ExperimentSupport.list(first[1]));
        figures.put("transformerSpread", spread[0]);
        figures.put("resnetSpread", spread[1]);
        figures.put("curves", curves);
        String evidence = "Early loss (mean of the last " + tail + " of " + s.steps() + " steps) across init scales "
                + s.scales()[0] + ".." + s.scales()[n - 1] + " varies by a factor " + f(spread[0]) + " for the Transformer ("
                + range(early[0]) + ") and " + f(spread[1]) + " for the ResNet (" + range(early[1]) + ")"
                + (holds ? ": the Transformer is more sensitive." : ": the Transformer is not more sensitive.");
        return new Result(NAME, claim(), holds, evidence, figures, List.of(plot));
    }

    /** Largest over smallest; infinite when a run diverged (NaN) or reached zero. */
    static double spread(double[] v) {
        double max = Double.NEGATIVE_INFINITY;
        double min = Double.POSITIVE_INFINITY;
        for (double d : v) {
            if (Double.isNaN(d)) {
                return Double.POSITIVE_INFINITY;
            }
            max = Math.max(max, d);
            min = Math.min(min, d);
        }
        return min > 0 ? max / min : Double.POSITIVE_INFINITY;
    }

    private static String range(double[] v) {
        StringBuilder b = new StringBuilder();
        for (double d : v) {
            b.append(b.isEmpty() ? "" : ", ").append(f(d));
        }
        return b.toString();
    }

    private static double[] train(Context context, Setup s, Dataset data, int model, double scale) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(context.seed());
            Module net = model == 0
                    ? new SequenceTransformer(arena, rnd, Attention.Kind.DOT, TransformerBlock.Norm.PRE, s.length(), s.vocab(), s.dim(),
                            s.depth(), s.heads(), s.vocab())
                    : new ResNet(arena, rnd, 1, s.vocab(), s.resnetWidth(), 1, ResNet.Norm.BATCH, true);
            for (Tensor w : ModuleInit.weights(net)) {
                float[] v = w.toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] *= (float) scale;
                }
                w.copyFrom(v);
            }
            List<Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = Optimizer.adam(p, arena, LEARNING_RATE, 0.9, 0.999, 1e-8, 0);
            long[] dims = model == 0 ? new long[] {(long) s.length() * s.vocab()} : new long[] {1, s.length(), s.vocab()};
            return ExperimentSupport.train(context.backend(), net, opt, Schedule.constant(LEARNING_RATE), data, s.batch(), s.steps(),
                    context.seed(), (t, loss) -> { }, dims);
        }
    }
}

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
 * Adam against SGD with momentum on a Transformer (Zhang et al., 2020, "Why are adaptive methods good for
 * attention models?"): a pre-norm {@link SequenceTransformer} learns the majority-token task
 * ({@link Synthetic#majorityToken}) with each optimizer at every learning rate of a small grid, from the
 * same initialization and on the same batches; each optimizer is represented by its best rate, the one
 * with the lowest final training loss (the mean of the last tenth of the steps). The claim holds when
 * Adam's best final loss is below SGD's.
 *
 * <pre>{@code
 * var r = new AdamVsSgd().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class AdamVsSgd implements Experiment {
    /** The experiment's name. */
    public static final String NAME = "adam-vs-sgd-transformer";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String claim() {
        return "On a Transformer, Adam reaches a lower training loss than SGD with momentum in the same number of steps, each at "
                + "its best learning rate from a small grid (Zhang et al. 2020).";
    }

    /** The work of one size. */
    private record Setup(int examples, int length, int vocab, int dim, int depth, int heads, int batch, int steps,
                         double[] adamRates, double[] sgdRates) {
    }

    private static Setup setup(Size size) {
        return size == Size.SMALL
                ? new Setup(1024, 16, 8, 16, 1, 2, 32, 40, new double[] {1e-2, 3e-2}, new double[] {0.1, 0.3})
                : new Setup(8192, 32, 16, 32, 2, 4, 64, 200, new double[] {1e-3, 3e-3, 1e-2, 3e-2}, new double[] {0.01, 0.03, 0.1, 0.3});
    }

    @Override
    public Result run(Context context) {
        Setup s = setup(context.size());
        Dataset data = Synthetic.majorityToken(s.examples(), s.length(), s.vocab(), context.seed());
        int tail = Math.max(5, s.steps() / 10);
        Map<String, Object> runs = new LinkedHashMap<>();
        double[][] best = {null, null};
        double[] bestLoss = {Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY};
        double[] bestRate = new double[2];
        double[][] finals = {new double[s.adamRates().length], new double[s.sgdRates().length]};
        String[] optimizers = {"adam", "sgd-momentum"};
        for (int o = 0; o < 2; o++) {
            double[] rates = o == 0 ? s.adamRates() : s.sgdRates();
            for (int i = 0; i < rates.length; i++) {
                double[] losses = train(context, s, data, o == 0, rates[i]);
                double fin = ExperimentSupport.tailMean(losses, tail);
                // a diverged run (NaN) loses to every finite one
                double rank = Double.isNaN(fin) ? Double.POSITIVE_INFINITY : fin;
                finals[o][i] = fin;
                runs.put(optimizers[o] + " lr=" + rates[i], Map.of("lr", rates[i], "finalLoss", fin, "losses", ExperimentSupport.list(losses)));
                context.progress().accept(optimizers[o] + " lr " + rates[i] + ": final loss " + f(fin));
                if (rank < bestLoss[o] || best[o] == null) {
                    bestLoss[o] = rank;
                    bestRate[o] = rates[i];
                    best[o] = losses;
                }
            }
        }
        boolean holds = bestLoss[0] < bestLoss[1];
        List<Path> plots = plots(context, s, best, bestRate, finals);
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("steps", s.steps());
        figures.put("batch", s.batch());
        figures.put("finalLossWindow", tail);
        figures.put("model", Map.of("dim", s.dim(), "depth", s.depth(), "heads", s.heads(), "length", s.length(), "vocab", s.vocab()));
        figures.put("adamRates", ExperimentSupport.list(s.adamRates()));
        figures.put("sgdRates", ExperimentSupport.list(s.sgdRates()));
        figures.put("adamFinalLoss", ExperimentSupport.list(finals[0]));
        figures.put("sgdFinalLoss", ExperimentSupport.list(finals[1]));
        figures.put("adamBestRate", bestRate[0]);
        figures.put("sgdBestRate", bestRate[1]);
        figures.put("adamBestLoss", bestLoss[0]);
        figures.put("sgdBestLoss", bestLoss[1]);
        figures.put("initialLoss", best[0] == null ? Double.NaN : best[0][0]);
        figures.put("runs", runs);
        String evidence = "After " + s.steps() + " steps, Adam's best final loss is " + f(bestLoss[0]) + " (lr " + bestRate[0]
                + ") against SGD with momentum's " + f(bestLoss[1]) + " (lr " + bestRate[1] + ")"
                + (holds ? ": Adam is lower." : ": Adam is not lower.");
        return new Result(NAME, claim(), holds, evidence, figures, plots);
    }

    private static double[] train(Context context, Setup s, Dataset data, boolean adam, double lr) {
        try (Arena arena = Arena.ofConfined()) {
            // the same seed for every run: one initialization, one batch order
            var net = new SequenceTransformer(arena, new Random(context.seed()), Attention.Kind.DOT, TransformerBlock.Norm.PRE,
                    s.length(), s.vocab(), s.dim(), s.depth(), s.heads(), s.vocab());
            List<Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = adam ? Optimizer.adam(p, arena, lr, 0.9, 0.999, 1e-8, 0) : Optimizer.sgd(p, arena, lr, 0.9, false, 0);
            return ExperimentSupport.train(context.backend(), net, opt, Schedule.constant(lr), data, s.batch(), s.steps(),
                    context.seed(), (t, loss) -> { }, (long) s.length() * s.vocab());
        }
    }

    private static List<Path> plots(Context context, Setup s, double[][] best, double[] bestRate, double[][] finals) {
        Path curves = ExperimentSupport.plot(context, NAME, "loss");
        double[] x = ExperimentSupport.steps(s.steps());
        int window = Math.max(1, s.steps() / 40);
        List<Charts.Series> series = new ArrayList<>();
        series.add(new Charts.Series("Adam, lr " + bestRate[0], x, ExperimentSupport.smooth(best[0], window)));
        series.add(new Charts.Series("SGD momentum 0.9, lr " + bestRate[1], x, ExperimentSupport.smooth(best[1], window)));
        Charts.line(curves, "Transformer training loss at each optimizer's best rate", "step", "cross-entropy (smoothed)",
                Charts.Scale.LOG, series);
        Path grid = ExperimentSupport.plot(context, NAME, "grid");
        Charts.line(grid, "Final training loss against the learning rate", "log10 learning rate", "final loss", Charts.Scale.LOG,
                List.of(new Charts.Series("Adam", log10(s.adamRates()), finals[0], true),
                        new Charts.Series("SGD momentum", log10(s.sgdRates()), finals[1], true)));
        return List.of(curves, grid);
    }

    private static double[] log10(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.log10(v[i]);
        }
        return r;
    }
}

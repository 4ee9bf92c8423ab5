package org.lipa.app.experiments;

import static org.lipa.app.experiments.ExperimentSupport.f;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.arch.Mlp;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.tensor.Tensor;

/**
 * Weight decay, batch norm and the naive Lipschitz upper bound of a trained MLP (cf. Yoshida and Miyato,
 * 2017; Santurkar et al., 2018): a plain ReLU {@link Mlp} and the same MLP with batch norm before each hidden
 * linear layer learn the two spirals, each with and without weight decay (SGD with momentum 0.9, coupled
 * weight decay on every parameter), from the same initialization on the same batches. Afterwards each
 * layer's operator norm is measured: a linear layer's largest singular value by power iteration, and a
 * batch norm in evaluation mode, the affine map {@code x -> diag(gamma / sqrt(var + eps)) x + ...}, by
 * {@code max |gamma / sqrt(var + eps)|}. The naive bound is their product (ReLU is 1-Lipschitz).
 *
 * <p>The claim tested ({@code holds}): in the plain MLP, weight decay lowers every linear layer's operator
 * norm and the naive bound. The batch-norm effects are measured and reported beside it, not forced into
 * {@code holds}: whether batch norm lowers the bound (without weight decay) against the plain MLP, and
 * whether weight decay still lowers the bound with batch norm (weights before a batch norm are
 * scale-invariant, so their decay can be undone by the norm's own scale). Layer norm is left out: it is not
 * a linear map and its Lipschitz constant is unbounded near inputs of zero variance, so it has no finite
 * factor in a naive bound.
 *
 * <pre>{@code
 * var r = new RegularizationLipschitz().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class RegularizationLipschitz implements Experiment {
    /** The experiment's name. */
    public static final String NAME = "bn-wd-lipschitz";

    private static final double LEARNING_RATE = 0.05;
    private static final double MOMENTUM = 0.9;
    /** The eps of {@link org.lipa.models.nn.BatchNorm}'s default constructor, which {@link Mlp} uses. */
    private static final double BN_EPS = 1e-5;

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String claim() {
        return "Weight decay lowers every layer's operator norm and the naive Lipschitz upper bound (product of the layers' norms) of "
                + "a trained ReLU MLP compared to no weight decay (Yoshida and Miyato 2017); the effect of batch norm on the bound "
                + "(Santurkar et al. 2018) is measured and reported beside it.";
    }

    /** The work of one size. */
    private record Setup(int points, int width, int depth, int batch, int steps, double weightDecay) {
    }

    private static Setup setup(Size size) {
        return size == Size.SMALL ? new Setup(256, 16, 2, 32, 100, 5e-3) : new Setup(1000, 64, 3, 64, 2000, 5e-3);
    }

    /**
     * One trained network's measurements.
     *
     * @param layers     layer names, in order
     * @param norms      each layer's operator norm
     * @param bound      their product
     * @param finalLoss  mean training loss of the last tenth of the steps
     * @param accuracy   training accuracy in evaluation mode
     */
    record Measured(List<String> layers, double[] norms, double bound, double finalLoss, double accuracy) {
        Map<String, Object> figures() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("layers", layers);
            m.put("norms", ExperimentSupport.list(norms));
            m.put("bound", bound);
            m.put("finalLoss", finalLoss);
            m.put("trainAccuracy", accuracy);
            return m;
        }
    }

    @Override
    public Result run(Context context) {
        Setup s = setup(context.size());
        Dataset data = Synthetic.twoSpirals(s.points(), 1.5, 0.02, context.seed());
        Mlp.Norm[] norms = {Mlp.Norm.NONE, Mlp.Norm.BATCH};
        double[] decays = {0, s.weightDecay()};
        Measured[][] m = new Measured[2][2];
        Map<String, Object> runs = new LinkedHashMap<>();
        for (int n = 0; n < 2; n++) {
            for (int d = 0; d < 2; d++) {
                m[n][d] = train(context, s, data, norms[n], decays[d]);
                String key = label(norms[n], decays[d]);
                runs.put(key, m[n][d].figures());
                context.progress().accept(key + ": bound " + f(m[n][d].bound()) + ", final loss " + f(m[n][d].finalLoss())
                        + ", train accuracy " + f(m[n][d].accuracy()));
            }
        }
        Measured plain = m[0][0];
        Measured plainWd = m[0][1];
        boolean everyLayerLower = true;
        for (int i = 0; i < plain.norms().length; i++) {
            everyLayerLower &= plainWd.norms()[i] < plain.norms()[i];
        }
        boolean holds = everyLayerLower && plainWd.bound() < plain.bound();
        boolean bnLowersBound = m[1][0].bound() < plain.bound();
        boolean wdLowersBoundWithBn = m[1][1].bound() < m[1][0].bound();

        List<Path> plots = new ArrayList<>();
        for (int n = 0; n < 2; n++) {
            Path p = ExperimentSupport.plot(context, NAME, (norms[n] == Mlp.Norm.NONE ? "plain" : "batchnorm") + "-layer-norms");
            Charts.bars(p, "Operator norm per layer, " + (norms[n] == Mlp.Norm.NONE ? "plain MLP" : "MLP with batch norm"),
                    "log10 operator norm", Charts.Scale.LINEAR, m[n][0].layers(), List.of("no weight decay", "weight decay " + s.weightDecay()),
                    List.of(log10(m[n][0].norms()), log10(m[n][1].norms())));
            plots.add(p);
        }
        Path bounds = ExperimentSupport.plot(context, NAME, "bounds");
        Charts.bars(bounds, "Naive Lipschitz upper bound (product of layer norms)", "log10 bound", Charts.Scale.LINEAR,
                List.of("plain", "batch norm"), List.of("no weight decay", "weight decay " + s.weightDecay()),
                List.of(log10(new double[] {m[0][0].bound(), m[1][0].bound()}), log10(new double[] {m[0][1].bound(), m[1][1].bound()})));
        plots.add(bounds);

        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("steps", s.steps());
        figures.put("learningRate", LEARNING_RATE);
        figures.put("momentum", MOMENTUM);
        figures.put("weightDecay", s.weightDecay());
        figures.put("width", s.width());
        figures.put("depth", s.depth());
        figures.put("plainBound", plain.bound());
        figures.put("plainWeightDecayBound", plainWd.bound());
        figures.put("batchNormBound", m[1][0].bound());
        figures.put("batchNormWeightDecayBound", m[1][1].bound());
        figures.put("plainNorms", ExperimentSupport.list(plain.norms()));
        figures.put("plainWeightDecayNorms", ExperimentSupport.list(plainWd.norms()));
        figures.put("weightDecayLowersEveryLayer", everyLayerLower);
        figures.put("batchNormLowersBound", bnLowersBound);
        figures.put("weightDecayLowersBoundWithBatchNorm", wdLowersBoundWithBn);
        figures.put("runs", runs);
        String evidence = "Plain MLP: naive bound " + f(plain.bound()) + " without and " + f(plainWd.bound()) + " with weight decay "
                + s.weightDecay() + ", " + (everyLayerLower ? "every" : "not every") + " layer's norm lower. Batch norm: bound "
                + f(m[1][0].bound()) + " without and " + f(m[1][1].bound()) + " with weight decay; batch norm "
                + (bnLowersBound ? "lowered" : "raised") + " the bound against the plain MLP (the claim that it lowers it did "
                + (bnLowersBound ? "" : "not ") + "hold), and weight decay " + (wdLowersBoundWithBn ? "lowered" : "did not lower")
                + " it with batch norm.";
        return new Result(NAME, claim(), holds, evidence, figures, plots);
    }

    /** Bar charts on XChart's logarithmic axis fail (bars start at zero), so the bars show log10 on a linear axis. */
    private static double[] log10(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = Math.log10(v[i]);
        }
        return r;
    }

    private static String label(Mlp.Norm norm, double wd) {
        return (norm == Mlp.Norm.NONE ? "plain" : "batch norm") + (wd == 0 ? "" : ", weight decay " + wd);
    }

    private static Measured train(Context context, Setup s, Dataset data, Mlp.Norm norm, double wd) {
        try (Arena arena = Arena.ofConfined()) {
            Mlp net = new Mlp(arena, new Random(context.seed()), 2, s.width(), s.depth(), 2, Activation.RELU, false, norm);
            List<Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = Optimizer.sgd(p, arena, LEARNING_RATE, MOMENTUM, false, wd);
            double[] losses = ExperimentSupport.train(context.backend(), net, opt, Schedule.constant(LEARNING_RATE), data, s.batch(),
                    s.steps(), context.seed(), (t, loss) -> { }, 2);
            double accuracy = new org.lipa.models.train.Evaluator(context.backend(), net,
                    new org.lipa.tensor.TensorSpec(org.lipa.tensor.Shape.of(s.batch(), 2), org.lipa.tensor.DType.F32)).accuracy(data);
            List<String> names = new ArrayList<>();
            List<Double> values = new ArrayList<>();
            Map<String, Tensor> params = net.parameters();
            Map<String, Tensor> buffers = net.buffers();
            // in forward order: input, then each block's [batch norm,] linear, then the head
            names.add("input");
            values.add(ExperimentSupport.spectralNorm(params.get("input.weight"), context.seed()));
            for (int b = 0; b < s.depth(); b++) {
                String prefix = "blocks." + b + ".branch.";
                int linear = 0;
                if (norm == Mlp.Norm.BATCH) {
                    names.add("bn" + b);
                    values.add(batchNormNorm(params.get(prefix + "0.weight"), buffers.get(prefix + "0.running_var")));
                    linear = 1;
                }
                names.add("hidden" + b);
                values.add(ExperimentSupport.spectralNorm(params.get(prefix + linear + ".weight"), context.seed() + b + 1));
            }
            names.add("head");
            values.add(ExperimentSupport.spectralNorm(params.get("head.weight"), context.seed() + s.depth() + 1));
            double[] v = values.stream().mapToDouble(Double::doubleValue).toArray();
            double bound = 1;
            for (double x : v) {
                bound *= x;
            }
            return new Measured(names, v, bound, ExperimentSupport.tailMean(losses, Math.max(5, s.steps() / 10)), accuracy);
        }
    }

    /** The operator norm of batch norm in evaluation mode: {@code max_c |gamma_c| / sqrt(var_c + eps)}. */
    static double batchNormNorm(Tensor gamma, Tensor runningVar) {
        double[] g = gamma.toDoubleArray();
        double[] var = runningVar.toDoubleArray();
        double m = 0;
        for (int c = 0; c < g.length; c++) {
            m = Math.max(m, Math.abs(g[c]) / Math.sqrt(var[c] + BN_EPS));
        }
        return m;
    }
}

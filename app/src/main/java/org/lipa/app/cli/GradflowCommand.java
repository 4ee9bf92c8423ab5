package org.lipa.app.cli;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.GradientFlow;
import org.lipa.models.analysis.GradientFlowSweep;
import org.lipa.app.report.GradientFlowPlots;
import org.lipa.app.report.Json;
import org.lipa.models.data.Mnist;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Gradient flow at initialization across depth: per-layer gradient norms and the Jacobian spectrum of deep MLPs for
 * each variant and initializer, written as {@code gradflow.json} and PNG plots.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "gradflow", mixinStandardHelpOptions = true,
        description = {"Gradient flow across depth at initialization: for MLPs of each depth, variant and initializer, the norm of",
                "the loss gradient for every layer's weight and for every hidden representation (dL/dh_l), and the singular",
                "values of the Jacobian dh_L/dh_0 of the hidden blocks. Writes DIR/gradflow.json and PNG plots."})
public final class GradflowCommand implements Callable<Integer> {
    /** Where the batch comes from. */
    enum Data { AUTO, MNIST, GAUSSIAN }

    @Option(names = "--depths", split = ",", description = "Numbers of hidden blocks (default: ${DEFAULT-VALUE}).")
    List<Integer> depths = List.of(4, 8, 16, 32);

    @Option(names = "--width", description = "Hidden width (default: ${DEFAULT-VALUE}).")
    int width = 64;

    @Option(names = "--variants", split = ",", description = "plain, residual, norm (layer norm in each block), residual-norm, "
            + "batch-norm, residual-batch-norm (default: plain,residual,norm,residual-norm).")
    List<String> variants = List.of("plain", "residual", "norm", "residual-norm");

    @Option(names = "--inits", split = ",", description = "Initializers (default: all of " + "lecun_normal, xavier_uniform, "
            + "xavier_normal, he_normal_in, he_normal_out, he_uniform_in, he_uniform_out, orthogonal, geometric).")
    List<String> inits;

    @Option(names = "--activation", description = "relu, tanh, gelu, sigmoid (default: ${DEFAULT-VALUE}).")
    Activation activation = Activation.RELU;

    @Option(names = "--gain", description = "Every weight is multiplied by this after drawing (default: ${DEFAULT-VALUE}).")
    double gain = 1;

    @Option(names = "--data", description = "auto (MNIST when in the cache or --data-dir, else Gaussian), mnist, gaussian "
            + "(N(0,1) features, random labels) (default: ${DEFAULT-VALUE}).")
    Data data = Data.AUTO;

    @Option(names = "--data-dir", description = "A folder with the MNIST IDX files (default: the cache).")
    Path dataDir;

    @Option(names = "--input-scale", description = "Inputs are multiplied by this; small values put tanh networks in their "
            + "near-linear regime (default: ${DEFAULT-VALUE}).")
    double inputScale = 1;

    @Option(names = "--batch", description = "Examples in the batch (default: ${DEFAULT-VALUE}).")
    int batch = 64;

    @Option(names = "--jacobian-inputs", description = "Examples whose Jacobian spectra are averaged; 0 skips the Jacobian "
            + "(default: ${DEFAULT-VALUE}).")
    int jacobianInputs = 2;

    @Option(names = "--seed", description = "Seed for the weights and the batch (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "gradflow");

    @Option(names = "--no-plots", negatable = true, description = "Skip the PNG plots.")
    boolean plots = true;

    @Override
    public Integer call() throws Exception {
        List<GradientFlow.Variant> vs = new ArrayList<>();
        for (String v : variants) {
            try {
                vs.add(GradientFlow.Variant.valueOf(v.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                System.err.println("lipa gradflow: unknown variant '" + v + "'");
                return 2;
            }
        }
        List<Init.Scheme> schemes = new ArrayList<>();
        for (String s : inits != null ? inits : java.util.Arrays.stream(Init.Scheme.values()).map(Enum::name).toList()) {
            try {
                schemes.add(Init.Scheme.valueOf(s.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
            } catch (IllegalArgumentException e) {
                System.err.println("lipa gradflow: unknown initializer '" + s + "'");
                return 2;
            }
        }
        if (width < 1 || batch < 1 || jacobianInputs < 0 || jacobianInputs > batch || depths.stream().anyMatch(d -> d < 1)) {
            System.err.println("lipa gradflow: need --width, --batch, --depths >= 1 and 0 <= --jacobian-inputs <= --batch");
            return 2;
        }
        long start = System.nanoTime();
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Path mnistDir = dataDir != null ? dataDir : Mnist.cacheDirectory();
            boolean mnist = data == Data.MNIST || (data == Data.AUTO && Mnist.present(mnistDir));
            GradientFlowSweep.Batch b;
            if (mnist) {
                Path dir = dataDir != null ? dataDir : Mnist.obtain(mnistDir);
                b = GradientFlowSweep.sample(arena, Mnist.load(dir).train(), "MNIST training", batch, inputScale, seed);
            } else {
                b = GradientFlowSweep.gaussian(arena, batch, 784, 10, inputScale, seed);
            }
            GradientFlowSweep.Settings s = new GradientFlowSweep.Settings(784, 10, width, depths, vs, schemes, activation, gain,
                    jacobianInputs, seed);
            System.out.printf(Locale.ROOT, "gradient flow at initialization: %s MLPs of width %d, depths %s, %d variants x %d inits; "
                    + "data: %s; backend %s%n", activation, width, depths, vs.size(), schemes.size(), b.description(), cpu.name());
            List<GradientFlowSweep.Entry> entries = GradientFlowSweep.run(cpu, s, b.x(), b.y(), System.out::println);
            double measured = (System.nanoTime() - start) / 1e9;
            Files.createDirectories(out);
            List<Path> pngs = plots ? GradientFlowPlots.plot(out, s, entries) : List.of();
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("data", b.description());
            json.put("inputScale", inputScale);
            json.put("backend", cpu.name());
            json.put("secondsMeasuring", measured);
            json.putAll(GradientFlowSweep.json(s, entries));
            json.put("plots", pngs.stream().map(p -> p.getFileName().toString()).toList());
            Path file = out.resolve("gradflow.json");
            Json.write(file, json);
            summarize(s, entries);
            System.out.printf(Locale.ROOT, "wrote %s and %d plots in %.1f s%n", file, pngs.size(), (System.nanoTime() - start) / 1e9);
            return 0;
        }
    }

    /** One line per variant at the deepest depth: the spread of the gradient norms and the Jacobian's isometry. */
    private static void summarize(GradientFlowSweep.Settings s, List<GradientFlowSweep.Entry> entries) {
        int deepest = s.depths().stream().mapToInt(Integer::intValue).max().orElseThrow();
        for (GradientFlowSweep.Entry e : entries) {
            if (e.depth() != deepest) {
                continue;
            }
            GradientFlow.Profile g = e.gradients();
            String jac = e.spectrum() == null ? "" : String.format(Locale.ROOT, "; Jacobian mean sigma^2 %.3g, sigma in [%.3g, %.3g], "
                    + "%.0f%% in [0.5, 2]", e.spectrum().meanSquared(), e.spectrum().min(), e.spectrum().max(),
                    100 * e.spectrum().fractionWithin(0.5, 2));
            System.out.printf(Locale.ROOT, "  depth %d %-13s %-14s |dL/dh_0|/|dL/dh_L| %9.3g, |dL/dW| first/last block %7.3g%s%n",
                    deepest, e.variant().label(), e.init(), g.signalRatio(), g.weightRatio(), jac);
        }
    }
}

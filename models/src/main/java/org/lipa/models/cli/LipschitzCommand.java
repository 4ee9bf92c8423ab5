package org.lipa.models.cli;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.lipa.analysis.Lipschitz;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.LipschitzPlots;
import org.lipa.models.analysis.LipschitzReport;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.report.Json;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Per-module and whole-network Lipschitz bounds of a model, at initialization or with weights from a file.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "lipschitz", mixinStandardHelpOptions = true,
        description = "Per-module upper bounds (operator norms) and local lower bounds, the naive product bound and a certified "
                + "lower bound for the whole network; writes lipschitz.json and lipschitz.png.")
public final class LipschitzCommand implements Callable<Integer> {
    @Option(names = "--model", description = "mlp, resnet, vit, transformer (default: ${DEFAULT-VALUE}).")
    Workload.Model model = Workload.Model.MLP;

    @Option(names = "--data", description = "mnist, fashion_mnist, spirals, sequence: where the examples come from (default: ${DEFAULT-VALUE}).")
    Workload.Data data = Workload.Data.MNIST;

    @Option(names = "--data-dir", description = "A folder holding the data set's files (default: the cache).")
    Path dataDir;

    @Option(names = "--weights", description = "Load the model's weights from this safetensors file (PyTorch names); default: a seeded initialization.")
    Path weights;

    @Option(names = "--attention", description = "Attention of vit/transformer: dot, l2, cosine (default: ${DEFAULT-VALUE}).")
    Attention.Kind attention = Attention.Kind.DOT;

    @Option(names = "--examples", description = "Test examples the local norms are measured at (default: ${DEFAULT-VALUE}).")
    int examples = 8;

    @Option(names = "--depth", description = "Report modules down to this depth of their dotted names (default: ${DEFAULT-VALUE}).")
    int depth = 2;

    @Option(names = "--ascent-steps", description = "Gradient-ascent steps for the network's lower bound (default: ${DEFAULT-VALUE}).")
    int ascentSteps = 20;

    @Option(names = "--tol", description = "Power-iteration tolerance (default: ${DEFAULT-VALUE}).")
    double tolerance = 1e-4;

    @Option(names = "--max-iter", description = "Power-iteration cap (default: ${DEFAULT-VALUE}).")
    int maxIterations = 300;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "lipschitz");

    @Override
    public Integer call() throws Exception {
        Workload.Task task;
        try {
            task = Workload.load(data, model, dataDir, seed);
        } catch (IllegalArgumentException e) {
            System.err.println("lipa lipschitz: " + e.getMessage());
            return 2;
        }
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Module net = Workload.build(model, task, arena, new Random(seed), null, null, attention);
            if (weights != null) {
                SafeTensors.copyInto(SafeTensors.load(weights, arena), net.stateDict());
            }
            Tensor x = examples(arena, task, examples, seed);
            long t0 = System.nanoTime();
            LipschitzReport.Report r = LipschitzReport.measure(cpu, net, x, new LipschitzReport.Options(depth, examples,
                    new Lipschitz.Options(tolerance, maxIterations, ascentSteps, 0.05, seed)));
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%-28s %-14s %12s %12s  %s%n", "module", "type", "upper", "local", "upper from");
            for (LipschitzReport.Part p : r.parts()) {
                System.out.printf(Locale.ROOT, "%-28s %-14s %12.5g %12.5g  %s%n", p.name(), p.type(), p.upper(), p.local(), p.why());
            }
            System.out.printf(Locale.ROOT, "network: %.5g <= L <= %.5g (product bound; gap %.3g), best on data %.5g, %.1f s%n",
                    r.lowerBound(), r.productBound(), r.gap(), r.datasetBest(), seconds);
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("model", model.name().toLowerCase(Locale.ROOT));
            json.put("data", task.note());
            json.put("weights", weights == null ? "initialization, seed " + seed : weights.toString());
            json.put("report", r);
            json.put("seconds", seconds);
            Json.write(out.resolve("lipschitz.json"), json);
            LipschitzPlots.bars(out.resolve("lipschitz.png"), "Per-module Lipschitz bounds", List.of(r), List.of(""));
            System.out.println("wrote " + out.resolve("lipschitz.json") + " and " + out.resolve("lipschitz.png"));
            return 0;
        }
    }

    /** The first {@code n} examples of the test set in a seeded order, shaped as the model takes them. */
    static Tensor examples(Arena arena, Workload.Task task, int n, long seed) {
        int[] order = task.test().shuffled(seed);
        Tensor x = task.test().batch(arena, order, 0, Math.min(n, order.length))[0];
        long[] dims = new long[task.example().length + 1];
        dims[0] = x.shape().dim(0);
        System.arraycopy(task.example(), 0, dims, 1, task.example().length);
        return x.reshape(dims);
    }
}

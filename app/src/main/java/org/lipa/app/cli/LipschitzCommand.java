package org.lipa.app.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import org.lipa.analysis.FeedForward;
import org.lipa.analysis.LipSdp;
import org.lipa.analysis.Lipschitz;
import org.lipa.analysis.LowerBoundSearch;
import org.lipa.analysis.NetworkBounds;
import org.lipa.analysis.Nonlinearity;
import org.lipa.analysis.OperatorNorm;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.FeedForwardNets;
import org.lipa.models.analysis.LipschitzJson;
import org.lipa.app.report.LipschitzPlots;
import org.lipa.models.analysis.LipschitzReport;
import org.lipa.models.io.NumPy;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.app.report.Json;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Lipschitz constant of a model, bracketed: of a plain feed-forward network given by its weights and
 * widths ({@code --weights net.safetensors --layers 784,50,10 --activation relu}), or of a model Lipa
 * builds (per module, and whole).
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "lipschitz", mixinStandardHelpOptions = true,
        description = {"Certified lower and upper bounds on a network's l2 Lipschitz constant.",
            "With --weights and --layers: a feed-forward net from a PyTorch nn.Sequential state dict (0.weight, 0.bias, 2.weight, ...;"
                + " missing biases are zero): AutoLip, SeqLip (an estimate), ECLipsE-Fast, LipSDP-Layer and LipSDP-Neuron (certified),"
                + " and a certified lower bound from a search over inputs.",
            "Otherwise: a model Lipa builds (--model), per module and whole.",
            "Writes lipschitz.json (top level: lowerBound, upperBound = the best certified one), lipschitz.png and the input"
                + " where the lower bound was found (lower-bound-input.npy)."})
public final class LipschitzCommand implements Callable<Integer> {
    @Option(names = "--model", description = "mlp, resnet, vit, transformer (default: ${DEFAULT-VALUE}); ignored with --layers.")
    Workload.Model model = Workload.Model.MLP;

    @Option(names = "--data", description = "mnist, fashion_mnist, spirals, sequence: where the examples come from (default: ${DEFAULT-VALUE}). "
            + "With --layers they are the search's starting points when their size is the input width.")
    Workload.Data data = Workload.Data.MNIST;

    @Option(names = "--data-dir", description = "A folder holding the data set's files (default: the cache).")
    Path dataDir;

    @Option(names = "--weights", description = "A safetensors file of weights (PyTorch names); default: a seeded initialization of --model.")
    Path weights;

    @Option(names = "--layers", split = ",", description = "Widths of a feed-forward net, input to output (784,50,10): analyze --weights as one.")
    int[] layers;

    @Option(names = "--activation", description = "With --layers: relu, leaky_relu[:slope], tanh, sigmoid, gelu (default: ${DEFAULT-VALUE}).")
    String activation = "relu";

    @Option(names = "--attention", description = "Attention of vit/transformer: dot, l2, cosine (default: ${DEFAULT-VALUE}).")
    Attention.Kind attention = Attention.Kind.DOT;

    @Option(names = "--examples", description = "Test examples the local norms are measured at and the search starts from (default: ${DEFAULT-VALUE}).")
    int examples = 8;

    @Option(names = "--depth", description = "Report modules down to this depth of their dotted names (default: ${DEFAULT-VALUE}).")
    int depth = 2;

    @Option(names = "--ascent-steps", description = "Perturbation and gradient-ascent steps of the float32 search (default: ${DEFAULT-VALUE}).")
    int ascentSteps = 20;

    @Option(names = "--tol", description = "Power-iteration tolerance (default: ${DEFAULT-VALUE}).")
    double tolerance = 1e-4;

    @Option(names = "--max-iter", description = "Power-iteration cap (default: ${DEFAULT-VALUE}).")
    int maxIterations = 300;

    @Option(names = "--seconds", description = "Time for LipSDP-Neuron, certificate included (default: ${DEFAULT-VALUE}); LipSDP-Layer gets a quarter.")
    double seconds = 50;

    @Option(names = "--search-evaluations", description = "Jacobian norms the lower-bound search may evaluate (default: ${DEFAULT-VALUE}).")
    int searchEvaluations = 5000;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "lipschitz");

    @Option(names = "--json", description = "Where to write the JSON (default: lipschitz.json in --out).")
    Path json;

    @Override
    public Integer call() throws Exception {
        String bad = checkOptions();
        if (bad != null) {
            System.err.println("lipa lipschitz: " + bad);
            return 2;
        }
        Path jsonFile = json != null ? json : out.resolve("lipschitz.json");
        return layers != null ? feedForward(jsonFile) : modules(jsonFile);
    }

    /** Every option checked before any work, so that a typo costs nothing. */
    private String checkOptions() {
        if (examples < 1) {
            return "--examples must be at least 1, got " + examples;
        }
        if (depth < 0) {
            return "--depth must be >= 0, got " + depth;
        }
        if (ascentSteps < 0 || maxIterations < 1 || !(tolerance > 0)) {
            return "need --ascent-steps >= 0, --max-iter >= 1 and --tol > 0; got " + ascentSteps + ", " + maxIterations + ", " + tolerance;
        }
        if (!(seconds > 0) || searchEvaluations < 1) {
            return "need --seconds > 0 and --search-evaluations >= 1; got " + seconds + ", " + searchEvaluations;
        }
        if (layers != null) {
            if (weights == null) {
                return "--layers describes the network in --weights: give --weights too";
            }
            if (layers.length < 2) {
                return "--layers needs at least an input and an output width, got " + layers.length + " number(s)";
            }
            for (int w : layers) {
                if (w < 1) {
                    return "--layers: widths must be positive, got " + w;
                }
            }
            try {
                Nonlinearity.parse(activation);
            } catch (IllegalArgumentException e) {
                return "--" + e.getMessage();
            }
        }
        if (weights != null && !java.nio.file.Files.isReadable(weights)) {
            return "--weights: cannot read " + weights;
        }
        return null;
    }

    private Integer feedForward(Path jsonFile) throws IOException {
        FeedForward net;
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = SafeTensors.load(weights, arena);
            net = FeedForwardNets.fromStateDict(tensors, layers, Nonlinearity.parse(activation));
        } catch (IllegalArgumentException e) {
            System.err.println("lipa lipschitz: " + e.getMessage());
            return 2;
        }
        List<double[]> starts = startingPoints(net.inputSize());
        Lipschitz.Options options = bracketOptions();
        long t0 = System.nanoTime();
        Lipschitz.Bracket r = Lipschitz.analyze(net, starts, options);
        double total = (System.nanoTime() - t0) / 1e9;
        print(net, r, total);
        Map<String, Object> doc = new LinkedHashMap<>(LipschitzJson.of(net, r));
        doc.put("weights", weights.toString());
        doc.put("startingPoints", starts.isEmpty() ? "seeded random inputs" : starts.size() + " " + data.name().toLowerCase(Locale.ROOT)
                + " test examples");
        doc.put("seconds", total);
        Json.write(jsonFile, doc);
        LipschitzPlots.bracket(out.resolve("lipschitz.png"), "Lipschitz constant of " + widths(net), r);
        if (r.lower().x() != null) {
            try (Arena a = Arena.ofConfined()) {
                NumPy.saveNpy(out.resolve("lower-bound-input.npy"), Tensor.of(a, DType.F64, r.lower().x(), net.inputSize()));
            }
        }
        System.out.println("wrote " + jsonFile + ", " + out.resolve("lipschitz.png") + " and " + out.resolve("lower-bound-input.npy"));
        return 0;
    }

    /** Every upper-bound method within --seconds and the lower-bound search within --search-evaluations, progress on stderr. */
    private Lipschitz.Options bracketOptions() {
        return new Lipschitz.Options(new NetworkBounds.Options(true, LipSdp.Options.layer().withBudget(200, seconds / 4),
                LipSdp.Options.neuron().withBudget(2000, seconds), s -> { }),
                LowerBoundSearch.Options.defaults().withMaxEvaluations(searchEvaluations).withSeed(seed), s -> { })
                .withProgress(s -> System.err.println("  " + s));
    }

    /** The test examples, when the data set's examples have the network's input size; else none (the search draws its own). */
    private List<double[]> startingPoints(int inputSize) {
        List<double[]> starts = new ArrayList<>();
        try {
            Workload.Task task = Workload.load(data, data == Workload.Data.SEQUENCE ? Workload.Model.TRANSFORMER : Workload.Model.MLP,
                    dataDir, seed);
            long size = 1;
            for (long d : task.example()) {
                size *= d;
            }
            if (size != inputSize) {
                System.err.println("lipa lipschitz: " + task.note() + " examples have " + size + " values, the network takes " + inputSize
                        + ": the search starts from seeded random inputs");
                return starts;
            }
            try (Arena a = Arena.ofConfined()) {
                Tensor x = examples(a, task, examples, seed);
                double[] all = x.toDoubleArray();
                int n = Math.toIntExact(x.shape().dim(0));
                for (int i = 0; i < n; i++) {
                    starts.add(java.util.Arrays.copyOfRange(all, i * inputSize, (i + 1) * inputSize));
                }
            }
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("lipa lipschitz: no examples (" + e.getMessage() + "): the search starts from seeded random inputs");
        }
        return starts;
    }

    private static void print(FeedForward net, Lipschitz.Bracket r, double seconds) {
        System.out.printf(Locale.ROOT, "network %s, activation %s (slopes in [%.6g, %.6g])%n", widths(net), net.activation(),
                net.activation().slopeLower(), net.activation().slopeUpper());
        System.out.printf(Locale.ROOT, "%-16s %16s  %-10s %9s  %s%n", "method", "value", "guarantee", "seconds", "how");
        System.out.printf(Locale.ROOT, "%-16s %16.10g  %-10s %9.2f  %s at an input of norm %.4g, %d Jacobians%n", "lower bound",
                r.lowerBound(), "certified", r.lower().seconds(), r.lower().method().label(), inputNorm(r.lower()), r.lower().evaluations());
        for (NetworkBounds.Bound b : r.upperBounds()) {
            System.out.printf(Locale.ROOT, "%-16s %16.10g  %-10s %9.2f  %s%n", b.method(), b.value(),
                    b.guarantee().name().toLowerCase(Locale.ROOT), b.seconds(), b.detail());
        }
        System.out.printf(Locale.ROOT, "per layer: %s%n", layerNorms(r.layers()));
        System.out.printf(Locale.ROOT, "%.8g <= L <= %.8g (%s, certified); gap %.5g; %.1f s%n", r.lowerBound(), r.upperBound(),
                r.upper().method(), r.gap(), seconds);
    }

    private static double inputNorm(LowerBoundSearch.Result r) {
        double s = 0;
        if (r.x() != null) {
            for (double v : r.x()) {
                s += v * v;
            }
        }
        return Math.sqrt(s);
    }

    private static String layerNorms(List<OperatorNorm.Bound> layers) {
        List<String> parts = new ArrayList<>();
        for (int l = 0; l < layers.size(); l++) {
            parts.add(String.format(Locale.ROOT, "||W%d|| = %.8g (<= %.8g)", l, layers.get(l).estimate(), layers.get(l).upper()));
        }
        return String.join(", ", parts);
    }

    private static String widths(FeedForward net) {
        return String.join("-", java.util.Arrays.stream(net.widths()).mapToObj(Integer::toString).toList());
    }

    private Integer modules(Path jsonFile) throws Exception {
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
                try {
                    SafeTensors.copyInto(SafeTensors.load(weights, arena), net.stateDict());
                } catch (IllegalArgumentException e) {
                    System.err.println("lipa lipschitz: " + e.getMessage() + " (for a feed-forward net of other widths, give --layers)");
                    return 2;
                }
            }
            Tensor x = examples(arena, task, examples, seed);
            long t0 = System.nanoTime();
            Lipschitz.Options ff = bracketOptions();
            LipschitzReport.Result r = LipschitzReport.measure(cpu, net, x, new LipschitzReport.Options(depth, examples,
                    new Lipschitz.SearchOptions(tolerance, maxIterations, ascentSteps, 0.05, seed), ff));
            double secs = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%-28s %-14s %12s %-10s %12s  %s%n", "module", "type", "upper", "guarantee", "local", "upper from");
            for (LipschitzReport.Part p : r.parts()) {
                System.out.printf(Locale.ROOT, "%-28s %-14s %12.5g %-10s %12.5g  %s%n", p.name(), p.type(), p.upper(),
                        Double.isInfinite(p.upper()) ? "none" : p.certified() ? "certified" : "estimate", p.local(), p.why());
            }
            if (r.feedForward() != null) {
                print(FeedForwardNets.of(net).orElseThrow(), r.feedForward(), secs);
            } else {
                System.out.printf(Locale.ROOT, "network: %.5g (float32 search, an estimate) <= L <= %.5g (composed bound, %s); gap %.3g; %.1f s%n",
                        r.lowerBound(), r.productBound(), r.productCertified() ? "certified" : "an estimate", r.gap(), secs);
            }
            Map<String, Object> header = new LinkedHashMap<>();
            header.put("model", model.name().toLowerCase(Locale.ROOT));
            header.put("data", task.note());
            header.put("weights", weights == null ? "initialization, seed " + seed : weights.toString());
            header.put("seconds", secs);
            Json.write(jsonFile, LipschitzJson.of(header, r, FeedForwardNets.of(net).orElse(null)));
            LipschitzPlots.bars(out.resolve("lipschitz.png"), "Per-module Lipschitz bounds", List.of(r), List.of(""));
            System.out.println("wrote " + jsonFile + " and " + out.resolve("lipschitz.png"));
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

package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.Lipschitz;
import org.lipa.analysis.OperatorNorm;
import org.lipa.analysis.PowerIteration;
import org.lipa.analysis.FeedForward;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.eval.Eager;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.BatchNorm;
import org.lipa.models.nn.Container;
import org.lipa.models.nn.Dropout;
import org.lipa.models.nn.ForwardHooks;
import org.lipa.models.nn.LayerNorm;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.LinearModule;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Reshape;
import org.lipa.models.nn.Residual;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The Lipschitz report of a network, per module and whole (all norms Euclidean, {@code l2 -> l2}, per example).
 *
 * <p>Per module, down to a depth: an upper bound on its global Lipschitz constant, composed from its parts
 * (the certified spectral norms of its linear maps, {@link OperatorNorm} for dense layers and for
 * convolutions as the operators they are, times its activations' constants, through the rules of
 * sequences and residual sums, every product and sum rounded up), labelled certified when every part
 * is; and the largest local Jacobian norm at the inputs the module receives from the data (in float32:
 * an estimate of a lower bound).
 *
 * <p>For the whole network: that composed bound (AutoLip), and when the network is a plain feed-forward
 * one ({@link FeedForwardNets#of}) the full bracket of {@link Lipschitz#analyze}: SeqLip (an estimate),
 * ECLipsE-Fast, LipSDP-Layer and LipSDP-Neuron (certified) and a certified lower bound from a search that
 * moves between activation regions, started at the examples. For other networks the lower end is
 * {@link Lipschitz#search}'s largest local norm (data, perturbations, ascent), an estimate in the
 * network's precision.
 *
 * <p>Modules without a global bound (layer norm and dot-product attention are not Lipschitz on all
 * inputs; the L2 attention bound of Kim et al. is not implemented here, nor are bounds for containers
 * whose forward pass is not a plain sequence) get an infinite upper bound with the reason, and still their
 * local norms. The network is switched to evaluation mode.
 *
 * <pre>{@code
 * LipschitzReport.Result r = LipschitzReport.measure(cpu, mlp, examples, LipschitzReport.Options.defaults());
 * r.parts().forEach(p -> System.out.println(p.name() + " <= " + p.upper() + ", >= " + p.local()));
 * System.out.println(r.lowerBound() + " <= L <= " + r.upperBound());
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class LipschitzReport {
    private LipschitzReport() {
    }

    /**
     * A module's bounds.
     *
     * @param name      its path in the network ({@code blocks.0}); the network itself is {@code ""}
     * @param type      its class
     * @param upper     an upper bound on its Lipschitz constant; infinite when it has none
     * @param certified whether {@code upper} is certified (every part of it is); false for an estimate or none
     * @param why       how the upper bound was obtained, or why there is none
     * @param local     the largest local Jacobian norm at its inputs from the data (float32: an estimate of a lower bound)
     */
    public record Part(String name, String type, double upper, boolean certified, String why, double local) {
    }

    /**
     * @param parts           every module down to the requested depth, in call order
     * @param productBound    the composed bound of the whole network (AutoLip)
     * @param productCertified whether it is certified
     * @param datasetBest     the largest local Jacobian norm over the examples (float32)
     * @param search          the float32 search from the examples (perturbations and ascent)
     * @param feedForward     the full bracket, for a plain feed-forward network; null otherwise
     */
    public record Result(List<Part> parts, double productBound, boolean productCertified, double datasetBest,
                         Lipschitz.LocalSearch search, Lipschitz.Bracket feedForward) {
        /** The best lower bound: certified for a feed-forward network, else the float32 search's estimate. */
        public double lowerBound() {
            return feedForward != null ? Math.max(feedForward.lowerBound(), 0) : search.best();
        }

        /** Whether {@link #lowerBound()} is certified. */
        public boolean lowerCertified() {
            return feedForward != null;
        }

        /** The best upper bound: the smallest certified one (or the composed bound when it is not certified). */
        public double upperBound() {
            return feedForward != null ? Math.min(feedForward.upperBound(), productBound) : productBound;
        }

        /** Upper over lower: how far apart the two ends are (infinite when there is no upper bound). */
        public double gap() {
            return upperBound() / lowerBound();
        }
    }

    /**
     * @param depth       modules down to this many path components are reported (1: the network's children)
     * @param examples    how many examples the local norms are measured at
     * @param search      the float32 local search (power iteration, perturbations, ascent)
     * @param feedForward what a plain feed-forward network gets (upper-bound methods, lower-bound search); null to skip
     */
    public record Options(int depth, int examples, Lipschitz.SearchOptions search, Lipschitz.Options feedForward) {
        public Options {
            if (depth < 0 || examples <= 0) {
                throw new IllegalArgumentException("options: depth must be >= 0 and examples > 0, got " + depth + ", " + examples);
            }
            java.util.Objects.requireNonNull(search, "search");
        }

        public static Options defaults() {
            return new Options(2, 8, Lipschitz.SearchOptions.defaults(), Lipschitz.Options.defaults());
        }
    }

    /** Measures the report for {@code net} on a batch {@code x [B, ...]}; the first {@code examples} rows are used. */
    public static Result measure(Backend backend, Module net, Tensor x, Options o) {
        if (x.rank() < 2) {
            throw new IllegalArgumentException("x: expected a batch [B, ...], got " + x.shape());
        }
        net.train(false);
        int n = (int) Math.min(o.examples(), x.shape().dim(0));
        try (Arena arena = Arena.ofConfined()) {
            Eager ops = new Eager(backend, arena);
            Tensor batch = ops.slice(x, 0, 0, n);
            Map<String, Module> modules = new LinkedHashMap<>();
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            Map<String, Shape> outputs = new LinkedHashMap<>();
            ForwardHooks.observe((path, m, in, out) -> {
                if (in instanceof Tensor t && out instanceof Tensor y && !inputs.containsKey(path)) {
                    modules.put(path, m);
                    inputs.put(path, t);
                    outputs.put(path, y.shape());
                }
            }, () -> net.forward(ops, batch));
            modules.put("", net);
            inputs.put("", batch);
            Bounds bounds = new Bounds(backend, inputs, outputs, o.search());

            List<Part> parts = new ArrayList<>();
            for (String path : modules.keySet()) {
                int depth = path.isEmpty() ? 0 : path.split("\\.").length;
                if (depth == 0 || depth > o.depth()) {
                    continue;
                }
                Module m = modules.get(path);
                Bound b = bounds.of(m, path);
                // a linear map's Jacobian is the map itself, everywhere: its local norm is its operator norm
                double local = m instanceof LinearModule ? bounds.estimate(path) : local(backend, m, inputs.get(path), n, o);
                parts.add(new Part(path, m.getClass().getSimpleName(), b.value(), b.certified(), b.why(), local));
            }
            Bound whole = bounds.of(net, "");
            List<Tensor> examples = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                examples.add(ops.slice(batch, 0, i, i + 1));
            }
            Differentiable f = Differentiable.trace(backend, List.of(examples.get(0).spec()), (g, in) -> List.of(net.forward(g, in.get(0))));
            Lipschitz.LocalSearch search = Lipschitz.search(arena, f, examples, o.search());
            Lipschitz.Bracket ff = null;
            java.util.Optional<FeedForward> plain = FeedForwardNets.of(net);
            if (plain.isPresent() && o.feedForward() != null) {
                List<double[]> data = new ArrayList<>();
                for (Tensor e : examples) {
                    data.add(e.toDoubleArray());
                }
                ff = Lipschitz.analyze(plain.get(), data, o.feedForward());
            }
            return new Result(List.copyOf(parts), whole.value(), whole.certified(), search.datasetBest(), search, ff);
        }
    }

    /** The largest ||J_m(x_i)|| over the first {@code n} rows of the module's captured input. */
    private static double local(Backend backend, Module m, Tensor in, int n, Options o) {
        long rows = Math.min(n, in.shape().dim(0));
        TensorSpec one = new TensorSpec(withBatchOne(in.shape()), in.dtype());
        Differentiable f = Differentiable.trace(backend, List.of(one), (g, x) -> List.of(m.forward(g, x.get(0))));
        double best = 0;
        for (int i = 0; i < rows; i++) {
            try (Arena a = Arena.ofConfined()) {
                Tensor xi = new Eager(backend, a).slice(in, 0, i, i + 1);
                LinearOperator jac = LinearOperator.jacobian(f, a, List.of(xi), 0, 0);
                best = Math.max(best, PowerIteration.run(jac, o.search().tolerance(), o.search().maxIterations(), o.search().seed()).sigma());
            }
        }
        return best;
    }

    private static Shape withBatchOne(Shape s) {
        long[] d = s.toArray();
        d[0] = 1;
        return Shape.of(d);
    }

    /** A bound, how it was obtained, and whether it is certified. Products and sums round up. */
    private record Bound(double value, String why, boolean certified) {
        static Bound none(String why) {
            return new Bound(Double.POSITIVE_INFINITY, why, false);
        }

        static Bound exact(double value, String why) {
            return new Bound(value, why, true);
        }

        Bound times(Bound o) {
            return new Bound(Math.nextUp(value * o.value), why.isEmpty() ? o.why : o.why.isEmpty() ? why : why + " * " + o.why,
                    certified && o.certified);
        }

        Bound plus(Bound o, String how) {
            return new Bound(Math.nextUp(value + o.value), how, certified && o.certified);
        }
    }

    /** Upper bounds by module type, composed through sequences and residual sums. */
    private static final class Bounds {
        private final Backend backend;
        private final Map<String, Tensor> inputs;
        private final Map<String, Shape> outputs;
        private final Lipschitz.SearchOptions o;
        /** Per linear map, its norm by power iteration on the operator it is (a value at or below the exact norm). */
        private final Map<String, Double> estimates = new LinkedHashMap<>();

        Bounds(Backend backend, Map<String, Tensor> inputs, Map<String, Shape> outputs, Lipschitz.SearchOptions o) {
            this.backend = backend;
            this.inputs = inputs;
            this.outputs = outputs;
            this.o = o;
        }

        Bound of(Module m, String path) {
            return switch (m) {
                case LinearModule l -> operatorNorm(l, path);
                case Activation a -> Bound.exact(a.lipschitz(), a.lipschitz() == 1 ? "" : a.name().toLowerCase() + " " + a.lipschitz());
                case BatchNorm bn -> Bound.exact(batchNorm(bn), "max|gamma|/sqrt(var+eps)");
                case Dropout d -> Bound.exact(1, "");
                case Reshape.Flatten f -> Bound.exact(1, "");
                // an input lies in up to ceil(k/s)^2 windows, each passing at most its own change
                case Reshape.MaxPool p -> Bound.exact(Math.ceil((double) p.kernel() / p.stride()), "max pool");
                case Reshape.GlobalAvgPool p -> Bound.exact(Math.nextUp(1 / Math.sqrt(spatial(inputs.get(path).shape()))), "1/sqrt(HW)");
                case Sequential s -> chain(s, path, s.named().keySet().stream().toList());
                case Residual r -> residual(r, path);
                case Mlp mlp -> child(mlp, path, "input").times(of(mlp.activation(), path)).times(child(mlp, path, "blocks"))
                        .times(child(mlp, path, "head"));
                case ResNet net -> resnet(net, path);
                case ResNet.BasicBlock b -> basicBlock(b, path);
                case LayerNorm ln -> Bound.none("layer norm is not globally Lipschitz: its gain grows as the input's variance shrinks");
                case Attention a when a.kind() == Attention.Kind.DOT -> Bound.none(
                        "dot-product attention is not globally Lipschitz (Kim et al., 2021)");
                default -> Bound.none("no global bound implemented for " + m.getClass().getSimpleName());
            };
        }

        /** The power-iteration norm of the linear map at {@code path} (computed by {@link #of}). */
        double estimate(String path) {
            return estimates.getOrDefault(path, Double.NaN);
        }

        private Bound child(Container c, String path, String name) {
            Module m = c.named().get(name);
            return m == null ? Bound.exact(1, "") : of(m, join(path, name));
        }

        private Bound chain(Container c, String path, List<String> names) {
            Bound b = Bound.exact(1, "");
            for (String name : names) {
                b = b.times(child(c, path, name));
            }
            return new Bound(b.value(), "product", b.certified());
        }

        private Bound residual(Residual r, String path) {
            Bound branch = child(r, path, "branch");
            if (!r.hasShortcut()) {
                return branch;
            }
            Bound shortcut = r.named().containsKey("shortcut") ? child(r, path, "shortcut") : Bound.exact(1, "");
            return shortcut.plus(branch, "shortcut + branch");
        }

        private Bound resnet(ResNet net, String path) {
            Bound b = chain(net, path, net.named().keySet().stream().filter(k -> !k.equals("fc")).toList());
            // global average pooling over H x W: each channel's mean has norm 1/sqrt(HW) per unit input
            Shape last = outputs.get(join(path, "layer3"));
            Bound pool = Bound.exact(last == null ? 1 : Math.nextUp(1 / Math.sqrt(spatial(last))), "");
            Bound whole = b.times(pool).times(child(net, path, "fc"));
            return new Bound(whole.value(), "product with pooling", whole.certified());
        }

        private Bound basicBlock(ResNet.BasicBlock b, String path) {
            Bound branch = chain(b, path, b.named().keySet().stream().filter(k -> !k.equals("shortcut")).toList());
            Tensor scale = b.parameters().get("scale");
            Bound s = Bound.exact(scale == null ? 1 : Math.abs(scale.toDoubleArray()[0]), "");
            Bound shortcut = !b.hasShortcut() ? Bound.exact(0, "") : b.named().containsKey("shortcut") ? child(b, path, "shortcut")
                    : Bound.exact(1, "");
            return shortcut.plus(s.times(branch), "shortcut + branch");
        }

        /** max_i |gamma_i| / sqrt(var_i + eps) in double precision, rounded up past the division's and root's rounding. */
        private static double batchNorm(BatchNorm bn) {
            double[] g = bn.parameters().get("weight").toDoubleArray();
            double[] v = bn.buffers().get("running_var").toDoubleArray();
            double max = 0;
            for (int i = 0; i < g.length; i++) {
                max = Math.max(max, Math.abs(g[i]) / Math.sqrt(v[i] + bn.eps()));
            }
            return Math.nextUp(Math.nextUp(Math.nextUp(max)));
        }

        /**
         * The spectral norm of the layer's linear part on the input shape it receives (batch 1): a certified
         * upper bound for dense layers and convolutions ({@link OperatorNorm}); for other linear maps (weight and
         * spectral normalization wrappers) power iteration's value, an estimate.
         */
        private Bound operatorNorm(LinearModule l, String path) {
            Tensor in = inputs.get(path);
            if (in == null) {
                throw new IllegalStateException("layer " + path + " was not called in the forward pass");
            }
            Tensor w = l.parameters().get("weight");
            TensorSpec dom = new TensorSpec(withBatchOne(in.shape()), in.dtype());
            TensorSpec ran;
            try (Arena a = Arena.ofConfined()) {
                ran = l.operator(new Eager(backend, a), w, Tensor.zeros(a, dom.dtype(), dom.shape())).spec();
            }
            LinearOperator op = new LinearOperator() {
                public TensorSpec domain() {
                    return dom;
                }

                public TensorSpec range() {
                    return ran;
                }

                public Tensor apply(Arena arena, Tensor v) {
                    return l.operator(new Eager(backend, arena), w, v);
                }

                public Tensor applyTranspose(Arena arena, Tensor u) {
                    return l.adjoint(new Eager(backend, arena), w, u, dom.shape());
                }
            };
            double estimate = PowerIteration.run(op, o.tolerance(), o.maxIterations(), o.seed()).sigma();
            estimates.put(path, estimate);
            return switch (l) {
                case Linear lin -> {
                    OperatorNorm.Bound b = OperatorNorm.dense(w.toDoubleArray(), Math.toIntExact(w.shape().dim(0)),
                            Math.toIntExact(w.shape().dim(1)));
                    yield Bound.exact(b.upper(), "||W|| (certified)");
                }
                case Conv2d conv -> {
                    OperatorNorm.Bound b = OperatorNorm.conv2d(w.toDoubleArray(), w.shape(), dom.shape(), conv.op());
                    yield Bound.exact(b.upper(), "||conv|| (certified: " + b.method() + ")");
                }
                default -> new Bound(estimate, "||W|| (power iteration: an estimate)", false);
            };
        }

        private static double spatial(Shape nchw) {
            return (double) nchw.dim(2) * nchw.dim(3);
        }

        private static String join(String path, String name) {
            return path.isEmpty() ? name : path + "." + name;
        }
    }
}

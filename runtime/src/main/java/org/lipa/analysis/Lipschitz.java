package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import java.util.function.Consumer;
import org.lipa.autodiff.Autodiff;
import org.lipa.autodiff.Differentiable;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The l2 Lipschitz constant of a network, bracketed.
 *
 * <p>Feed-forward networks ({@link #analyze}): every upper bound of {@link NetworkBounds} (AutoLip, SeqLip,
 * ECLipsE-Fast, LipSDP-Layer, LipSDP-Neuron, each labelled certified or estimate), the certified lower
 * bound of {@link LowerBoundSearch}, the certified spectral norm of each layer, and the gap between the
 * best certified upper bound and the lower bound. Both ends hold for the exact real-valued function the
 * weights define, floating-point error included.
 *
 * <p>Any traced network ({@link #search}): the largest local Jacobian norm found over data points, random
 * perturbations of the best one and gradient ascent on {@code ||J(x)||}, computed in the network's own
 * precision (an estimate of a lower bound, accurate to that precision's rounding), with {@link #local} and
 * {@link Ascent} for custom searches.
 *
 * <pre>{@code
 * Lipschitz.Bracket r = Lipschitz.analyze(net, data, Lipschitz.Options.defaults());
 * System.out.println(r.lowerBound() + " <= L <= " + r.upperBound() + " (" + r.upper().method() + ")");
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Lipschitz {
    private Lipschitz() {
    }

    /**
     * What to compute for a feed-forward network.
     *
     * @param upper    the upper-bound methods
     * @param lower    the lower-bound search's budget
     * @param progress a line now and then
     */
    public record Options(NetworkBounds.Options upper, LowerBoundSearch.Options lower, Consumer<String> progress) {
        public Options {
            Objects.requireNonNull(upper, "upper");
            Objects.requireNonNull(lower, "lower");
            Objects.requireNonNull(progress, "progress");
        }

        /** Every upper-bound method and the search's defaults, silent. */
        public static Options defaults() {
            return new Options(NetworkBounds.Options.all(), LowerBoundSearch.Options.defaults(), s -> { });
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(upper.withProgress(p), lower, p);
        }
    }

    /**
     * The bracket of a feed-forward network's constant.
     *
     * @param lower       the certified lower bound, where and how it was found
     * @param upperBounds every upper-bound method's value, certified or estimate
     * @param upper       the smallest certified upper bound
     * @param layers      each linear layer's spectral norm: its value and a certified upper bound
     */
    public record Bracket(LowerBoundSearch.Result lower, List<NetworkBounds.Bound> upperBounds, NetworkBounds.Bound upper,
                         List<OperatorNorm.Bound> layers) {
        public double lowerBound() {
            return lower.value();
        }

        public double upperBound() {
            return upper.value();
        }

        /** Best certified upper over certified lower: at least 1; 1 when the constant is pinned down. */
        public double gap() {
            return upper.value() / lower.value();
        }
    }

    /**
     * Brackets the Lipschitz constant of {@code net}, the lower-bound search starting from {@code data}
     * (points of the input size; may be empty).
     */
    public static Bracket analyze(FeedForward net, List<double[]> data, Options o) {
        List<OperatorNorm.Bound> layers = NetworkBounds.layerNorms(net);
        List<NetworkBounds.Bound> upper = NetworkBounds.compute(net, layers, o.upper());
        LowerBoundSearch.Result lower = LowerBoundSearch.search(net, data, o.lower(), o.progress());
        return new Bracket(lower, upper, NetworkBounds.bestCertified(upper), layers);
    }

    /**
     * How hard {@link #search} looks: power-iteration tolerance and cap for each local norm, perturbation
     * and ascent steps, the ascent's step size (relative to ||x||) and the seed.
     */
    public record SearchOptions(double tolerance, int maxIterations, int ascentSteps, double stepSize, long seed) {
        public SearchOptions {
            if (!(tolerance > 0) || maxIterations < 1 || ascentSteps < 0 || !(stepSize >= 0)) {
                throw new IllegalArgumentException("search options: need tolerance > 0, maxIterations >= 1, ascentSteps >= 0, "
                        + "stepSize >= 0; got " + tolerance + ", " + maxIterations + ", " + ascentSteps + ", " + stepSize);
            }
        }

        public static SearchOptions defaults() {
            return new SearchOptions(1e-6, 500, 20, 0.05, 42);
        }
    }

    /**
     * A search's result.
     *
     * @param datasetBest the largest local Jacobian norm over the data points
     * @param best        the largest found (data, perturbations, ascent)
     * @param where       where the largest was found
     * @param trace       the best value after each perturbation and ascent step
     */
    public record LocalSearch(double datasetBest, double best, Tensor where, double[] trace) {
    }

    /**
     * The largest local Jacobian norm of {@code net} (one input, one output) found from {@code data} (each
     * shaped like the input): the data points, then alternately a random perturbation of the best point
     * (relative radius 1e-3 to 0.3: it moves between the activation regions of piecewise-linear nets,
     * where ascent cannot) and a gradient-ascent step on {@code ||J(x)||}. Intermediate results live in
     * {@code arena}. Values are in the network's precision: an estimate of a lower bound.
     */
    public static LocalSearch search(Arena arena, Differentiable net, List<Tensor> data, SearchOptions o) {
        if (net.graph().inputs().size() != 1 || net.graph().outputs().size() != 1) {
            throw new IllegalArgumentException("net: must have one input and one output, got " + net.graph().inputs().size() + " and "
                    + net.graph().outputs().size());
        }
        if (data.isEmpty()) {
            throw new IllegalArgumentException("data: empty; at least one point is needed to search from");
        }
        double best = -1;
        Tensor where = null;
        for (Tensor x : data) {
            try (Arena step = Arena.ofConfined()) {
                double s = local(step, net, x, o).sigma();
                if (s > best) {
                    best = s;
                    where = x;
                }
            }
        }
        double datasetBest = best;
        Ascent ascent = o.ascentSteps() > 0 && o.stepSize() > 0 ? new Ascent(net) : null;
        Random rnd = new Random(o.seed());
        double[] trace = new double[2 * o.ascentSteps()];
        for (int k = 0; k < trace.length; k++) {
            double[] next;
            double[] x = where.toDoubleArray();
            double xn = Math.max(Vectors.norm(x), 1e-12);
            if (k % 2 == 0) {
                double radius = xn * Math.pow(10, -3 + 2.5 * rnd.nextDouble());
                double[] d = new double[x.length];
                for (int i = 0; i < d.length; i++) {
                    d[i] = rnd.nextGaussian();
                }
                double dn = Vectors.norm(d);
                next = x.clone();
                for (int i = 0; i < next.length; i++) {
                    next[i] += radius * d[i] / dn;
                }
            } else if (ascent != null) {
                try (Arena step = Arena.ofConfined()) {
                    Local at = local(step, net, where, o);
                    double[] g = ascent.gradient(step, where, at).toDoubleArray();
                    double gn = Vectors.norm(g);
                    next = x.clone();
                    for (int i = 0; i < next.length; i++) {
                        next[i] += gn == 0 ? 0 : o.stepSize() * xn * g[i] / gn;
                    }
                }
            } else {
                trace[k] = best;
                continue;
            }
            Tensor candidate = Tensor.of(arena, where.dtype(), next, where.shape().toArray());
            double s;
            try (Arena step = Arena.ofConfined()) {
                s = local(step, net, candidate, o).sigma();
            }
            if (s > best) {
                best = s;
                where = candidate;
            }
            trace[k] = best;
        }
        return new LocalSearch(datasetBest, best, where, trace);
    }

    /** A local Jacobian norm with its top singular vectors: {@code J v = sigma u}. */
    public record Local(double sigma, Tensor u, Tensor v) {
    }

    /**
     * ||J(x)|| of {@code net} (one input, one output) by power iteration, with its singular vectors as tensors
     * allocated in {@code arena}.
     */
    public static Local local(Arena arena, Differentiable net, Tensor x, SearchOptions o) {
        LinearOperator jac = LinearOperator.jacobian(net, arena, List.of(x), 0, 0);
        PowerIteration.Result r = PowerIteration.run(jac, o.tolerance(), o.maxIterations(), o.seed());
        TensorSpec in = jac.domain();
        Tensor v = Tensor.of(arena, in.dtype(), r.v(), in.shape().toArray());
        Tensor av = jac.apply(arena, v);
        double[] u = av.toDoubleArray();
        double n = Vectors.norm(u);
        for (int i = 0; i < u.length; i++) {
            u[i] = n == 0 ? 0 : u[i] / n;
        }
        return new Local(r.sigma(), Tensor.of(arena, av.dtype(), u, av.shape().toArray()), v);
    }

    /**
     * The gradient in x of {@code <u, J(x) v>}, which at the top singular pair is the gradient of ||J(x)||:
     * a reverse pass through the network's JVP, planned once. Searches for large local norms step along it.
     */
    public static final class Ascent {
        private final Executable grad;

        public Ascent(Differentiable net) {
            Graph jvp = Autodiff.jvp(net.graph());
            TensorSpec xs = net.graph().inputs().get(0).spec();
            TensorSpec ys = net.graph().outputs().get(0).spec();
            Graph bilinear = Graph.trace(List.of(xs, xs, ys), (ops, in) -> {
                List<Node> out = jvp.replay(ops, List.of(in.get(0), in.get(1)));
                return List.of(ops.sum(ops.mul(out.get(1), in.get(2)), false));
            });
            Graph g = Autodiff.grad(bilinear);
            this.grad = g.compile(net.backend());
        }

        /** d/dx {@code <at.u, J(x) at.v>}, allocated in {@code arena}. */
        public Tensor gradient(Arena arena, Tensor x, Local at) {
            return grad.run(arena, List.of(x, at.v(), at.u())).get(1);
        }
    }
}

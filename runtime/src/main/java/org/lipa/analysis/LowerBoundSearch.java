package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * A certified lower bound on the global Lipschitz constant (l2 to l2) of a feed-forward network, by
 * searching for inputs where the local Jacobian norm {@code ||J(x)||} is large.
 *
 * <p>Why it is a lower bound: wherever the network is differentiable, {@code L >= ||J(x)||}. For relu
 * and leaky relu nets that means every hidden pre-activation nonzero at x (x is inside a linear region,
 * whose Jacobian the function has on an open set); the search checks this with the rounding error of
 * every pre-activation bounded, and reports {@code ||J(x) v|| / ||v||} for the top right singular
 * vector v found, less a bound on its own rounding error ({@link CertifiedNorm}: typically 1e-15 to
 * 1e-11 of the value, more for wide layers with much cancellation; {@link Result#estimate()} is the
 * value before it). So every value this class reports, in the result and in its trace, holds for the
 * exact real-valued function the double weights define.
 *
 * <p>How it searches, phase by phase. One evaluation is one local Jacobian norm, on the real network
 * or on a smooth stand-in; each phase may use a share of the evaluations left (30%, 15%, 35%, then
 * all), and what a phase leaves goes to the next.
 * <ol>
 * <li>starting points: the data points given, or, when none are, seeded Gaussian directions at radii
 * from 1/16 to 65536 times the first layer's median distance from the origin to a neuron's boundary
 * (with biases the activation pattern changes with scale, out to the conic regions at infinity);</li>
 * <li>perturbation: random steps of relative radius 1e-4 to 0.5 around the best points;</li>
 * <li>ascent: for relu-type nets, gradient ascent of {@code ||J||} on softplus stand-ins with sharpness
 * rising from 1 to 64 over the typical pre-activation, every iterate judged on the real network (whose
 * own gradient of {@code ||J||} is zero: J is piecewise constant); for smooth activations, gradient
 * ascent on the real network itself, restarted until the budget is spent ({@link SmoothAscent});</li>
 * <li>activation-region search, relu-type nets only: best-first over regions, each expanded by the
 * neuron flips that promise the largest norm, realized by stepping just across the neurons' boundaries
 * ({@link RegionSearch}); from the best points, then from alternately perturbed best points and fresh
 * random points until the budget is spent.</li>
 * </ol>
 * The Jacobian's norm is exact (a dense decomposition) when the input or output has at most 64
 * dimensions, and power iteration otherwise, which underestimates it.
 *
 * <pre>{@code
 * FeedForward net = FeedForward.of(List.of(w1, w2), null, Nonlinearity.RELU);    // 784-50-10
 * LowerBoundSearch.Result r = LowerBoundSearch.search(net, List.of(), LowerBoundSearch.Options.defaults(),
 *         System.out::println);
 * double lower = r.value();       // L >= lower, certified; r.x() is where, r.method() how it was found
 * }</pre>
 *
 * <p>Deterministic for a given seed, unless {@link Options#maxSeconds()} cuts the search short.
 * Thread safety: stateless static methods; each search runs on the calling thread.
 */
public final class LowerBoundSearch {
    /** Region expansions without a better region before a best-first search gives up on its start. */
    private static final int PATIENCE = 10;
    /** Pool points that gradient ascent starts from before any restart. */
    private static final int ASCENT_STARTS = 3;
    /** Steps of ascent on the real (smooth) network from one start, at most. */
    private static final int ASCENT_STEPS = 200;
    /** Softplus sharpness, in units of the typical pre-activation, rising from a blur of the regions to nearly relu. */
    private static final double[] SHARPNESS = {1, 4, 16, 64};
    /** Steps of ascent per sharpness. */
    private static final int SURROGATE_STEPS = 25;

    private LowerBoundSearch() {
    }

    /** How a value was found. */
    public enum Method {
        /** Nothing could be certified (every point tried sat on a kink): the value is the trivial 0. */
        NONE("none"),
        DATA_POINT("data point"),
        RANDOM_POINT("random point"),
        PERTURBATION("perturbation"),
        /** An iterate of gradient ascent on a softplus stand-in, evaluated on the real network. */
        SURROGATE_ASCENT("smoothed-surrogate ascent"),
        /** Gradient ascent on the real network (smooth activations). */
        GRADIENT_ASCENT("gradient ascent"),
        REGION_SEARCH("activation-region search");

        private final String label;

        Method(String label) {
            this.label = label;
        }

        /** For reports: "activation-region search". */
        public String label() {
            return label;
        }
    }

    /**
     * How hard to look.
     *
     * @param maxEvaluations local Jacobian norms to evaluate in all (the budget), at least 1
     * @param maxSeconds     a wall-clock cap (positive; infinite for none); when it bites, the result depends on the machine
     * @param seed           seeds every random choice
     * @param randomPoints   starting points to draw when no data points are given, at least 1 (later phases draw more)
     */
    public record Options(int maxEvaluations, double maxSeconds, long seed, int randomPoints) {
        public Options {
            if (maxEvaluations < 1) {
                throw new IllegalArgumentException("maxEvaluations: must be at least 1, got " + maxEvaluations);
            }
            if (!(maxSeconds > 0)) {
                throw new IllegalArgumentException("maxSeconds: must be positive (infinite for no cap), got " + maxSeconds);
            }
            if (randomPoints < 1) {
                throw new IllegalArgumentException("randomPoints: must be at least 1, got " + randomPoints);
            }
        }

        /**
         * 5,000 evaluations, no time cap, seed 42, 128 random starting points: a second or two for LipSDP's
         * 784-50-10 MNIST net, ten to thirty seconds for a 784-256-256-10 one, on two cores.
         */
        public static Options defaults() {
            return new Options(5_000, Double.POSITIVE_INFINITY, 42, 128);
        }

        public Options withMaxEvaluations(int n) {
            return new Options(n, maxSeconds, seed, randomPoints);
        }

        public Options withMaxSeconds(double s) {
            return new Options(maxEvaluations, s, seed, randomPoints);
        }

        public Options withSeed(long s) {
            return new Options(maxEvaluations, maxSeconds, s, randomPoints);
        }
    }

    /**
     * The state after one phase.
     *
     * @param name        "starting points", "perturbation", "surrogate ascent", "gradient ascent", "region search"
     * @param best        the best certified value after it
     * @param evaluations evaluations used so far
     * @param seconds     time so far
     */
    public record Phase(String name, double best, int evaluations, double seconds) {
    }

    /**
     * The search's answer.
     *
     * @param value       the certified lower bound: {@code L >= value}
     * @param x           the input where it was found, a copy (null only when nothing could be certified)
     * @param method      how x was found
     * @param estimate    the floating-point {@code ||J(x)||} there, before the rounding allowance
     * @param evaluations local Jacobian norms evaluated
     * @param seconds     wall-clock time of the search
     * @param trace       the best value after each phase
     */
    public record Result(double value, double[] x, Method method, double estimate, int evaluations, double seconds,
                         List<Phase> trace) {
    }

    /** {@link #search(FeedForward, List, Options, Consumer)} with default options and no progress messages. */
    public static Result search(FeedForward net, List<double[]> data) {
        return search(net, data, Options.defaults(), message -> { });
    }

    /**
     * Searches for a large local Jacobian norm of {@code net}.
     *
     * @param data     points to start from (each of the network's input size; may be empty); not modified
     * @param progress receives a line after each phase and every few seconds
     * @throws IllegalArgumentException naming the data point that has the wrong length or a value that is not finite
     */
    public static Result search(FeedForward net, List<double[]> data, Options options, Consumer<String> progress) {
        Objects.requireNonNull(net, "net");
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        List<double[]> starts = checked(data, net.inputSize());
        SearchState state = new SearchState(net, options, progress);
        double scale = referenceScale(net);
        boolean given = !starts.isEmpty();
        if (!given) {
            starts = StartingPoints.random(net.inputSize(), options.randomPoints(), scale, state.random);
        }
        state.beginPhase(0.3);
        double[] warm = null;
        for (double[] x : starts) {
            if (state.exhausted()) {
                break;
            }
            LocalJacobian p = state.evaluate(net, x.clone(), warm);
            warm = p.v;
            state.offer(p, given ? Method.DATA_POINT : Method.RANDOM_POINT);
        }
        state.endPhase("starting points");
        if (net.layers() == 1) {
            return state.result(); // a linear map: every point has the same Jacobian
        }
        state.beginPhase(0.15);
        StartingPoints.perturb(state, scale);
        state.endPhase("perturbation");
        if (net.activation().piecewiseLinear()) {
            state.beginPhase(0.35);
            ascendFromPool(state, scale);
            state.endPhase("surrogate ascent");
            state.beginPhase(1);
            searchRegions(state, scale);
            state.endPhase("region search");
        } else {
            state.beginPhase(1);
            ascendFromPool(state, scale);
            for (int k = 0; !state.exhausted(); k++) {
                LocalJacobian p = restart(state, scale, k);
                if (p.differentiable) {
                    ascend(state, p, scale);
                }
            }
            state.endPhase("gradient ascent");
        }
        return state.result();
    }

    private static void ascendFromPool(SearchState state, double scale) {
        List<LocalJacobian> pool = state.pool();
        for (LocalJacobian p : pool.subList(0, Math.min(ASCENT_STARTS, pool.size()))) {
            if (state.exhausted()) {
                return;
            }
            ascend(state, p, scale);
        }
    }

    /** Best-first region search from every pool point, then from restarts until the budget is spent. */
    private static void searchRegions(SearchState state, double scale) {
        RegionSearch regions = new RegionSearch(state);
        for (LocalJacobian p : state.pool()) {
            if (state.exhausted()) {
                return;
            }
            regions.explore(p, PATIENCE);
        }
        for (int k = 0; !state.exhausted(); k++) {
            LocalJacobian p = restart(state, scale, k);
            if (p.differentiable) {
                regions.explore(p, PATIENCE);
            }
        }
    }

    /**
     * Gradient ascent of {@code ||J||} from {@code start}: on the real network when its activation is
     * smooth; else on softplus stand-ins of rising sharpness (in units of the typical pre-activation at
     * the start), each continuing from where the last stopped.
     */
    private static void ascend(SearchState state, LocalJacobian start, double scale) {
        double step = 0.05 * Math.max(Vectors.norm(start.x), scale);
        if (!state.net.activation().piecewiseLinear()) {
            SmoothAscent.climb(state, state.net, start.x, ASCENT_STEPS, step, Method.GRADIENT_ASCENT);
            return;
        }
        double zScale = typicalPreActivation(start);
        double[] x = start.x;
        for (double sharpness : SHARPNESS) {
            FeedForward smooth = state.net.withActivation(Nonlinearity.softplus(sharpness / zScale));
            x = SmoothAscent.climb(state, smooth, x, SURROGATE_STEPS, step, Method.SURROGATE_ASCENT);
        }
    }

    /**
     * A real-network evaluation to search on from: alternately a pool point moved by a random step of
     * relative radius 1e-3 to 0.3 (refine what was found) and a fresh random point (look elsewhere;
     * also whenever the pool is empty). Offered to the state.
     */
    private static LocalJacobian restart(SearchState state, double scale, int k) {
        List<LocalJacobian> pool = state.pool();
        if (k % 2 == 0 && !pool.isEmpty()) {
            LocalJacobian from = pool.get(state.random.nextInt(Math.min(4, pool.size())));
            double radius = Math.pow(10, -3 + 2.5 * state.random.nextDouble()) * Math.max(Vectors.norm(from.x), scale);
            LocalJacobian p = state.evaluate(state.net, StartingPoints.step(from.x, radius, state.random), from.v);
            state.offer(p, Method.PERTURBATION);
            return p;
        }
        LocalJacobian p = state.evaluate(state.net, StartingPoints.anywhere(state.net.inputSize(), scale, state.random), null);
        state.offer(p, Method.RANDOM_POINT);
        return p;
    }

    /** The root-mean-square hidden pre-activation at a point (1 if all are zero): the unit of softplus sharpness. */
    private static double typicalPreActivation(LocalJacobian p) {
        double s = 0;
        int count = 0;
        for (double[] z : p.z) {
            for (double v : z) {
                s += v * v;
                count++;
            }
        }
        double rms = count == 0 ? 0 : Math.sqrt(s / count);
        return rms > 0 ? rms : 1;
    }

    /**
     * The input scale at which the first layer's boundaries lie: the median distance from the origin to
     * a first-layer neuron's hyperplane {@code w_k . x + b_k = 0}; 1 when that is 0 (no biases: then only
     * directions matter for the first layer).
     */
    static double referenceScale(FeedForward net) {
        double[] w = net.weightView(0);
        double[] b = net.bias(0);
        int n = net.inputSize();
        double[] d = new double[b.length];
        for (int k = 0; k < b.length; k++) {
            double s = 0;
            for (int j = 0; j < n; j++) {
                s += w[k * n + j] * w[k * n + j];
            }
            d[k] = s > 0 ? Math.abs(b[k]) / Math.sqrt(s) : 0;
        }
        java.util.Arrays.sort(d);
        double median = d[d.length / 2];
        return median > 0 ? median : 1;
    }

    private static List<double[]> checked(List<double[]> data, int n) {
        Objects.requireNonNull(data, "data");
        List<double[]> out = new ArrayList<>(data.size());
        for (int i = 0; i < data.size(); i++) {
            double[] x = data.get(i);
            if (x == null) {
                throw new IllegalArgumentException("data[" + i + "]: is null");
            }
            if (x.length != n) {
                throw new IllegalArgumentException("data[" + i + "]: expected " + n + " values (the network's input size), got " + x.length);
            }
            for (int j = 0; j < n; j++) {
                if (!Double.isFinite(x[j])) {
                    throw new IllegalArgumentException("data[" + i + "][" + j + "]: must be finite, got " + x[j]);
                }
            }
            out.add(x);
        }
        return out;
    }
}

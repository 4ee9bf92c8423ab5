package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * What one run of {@link LowerBoundSearch} has found so far: the evaluation count against the budget,
 * the best certified value and where, and a small pool of the best distinct points to search from.
 *
 * <p>Only certified values become the best: a point is certified ({@link CertifiedNorm}) when its
 * floating-point estimate beats the best so far.
 *
 * <p>Not thread-safe: one search, one thread.
 */
final class SearchState {
    /** How many of the best distinct points are kept to search from. */
    static final int POOL = 8;

    final FeedForward net;
    final LowerBoundSearch.Options options;
    final Random random;
    private final Consumer<String> progress;
    private final long started = System.nanoTime();
    private long lastReport = started;

    private int evaluations;
    /** The evaluation count at which the current phase ends. */
    private int phaseEnd;

    private double best;
    private double bestEstimate;
    private double[] bestX;
    private LowerBoundSearch.Method bestMethod = LowerBoundSearch.Method.NONE;
    private final List<LocalJacobian> pool = new ArrayList<>();
    private final List<LowerBoundSearch.Phase> trace = new ArrayList<>();

    SearchState(FeedForward net, LowerBoundSearch.Options options, Consumer<String> progress) {
        this.net = net;
        this.options = options;
        this.progress = progress;
        this.random = new Random(options.seed());
        this.phaseEnd = options.maxEvaluations();
    }

    /** Evaluates {@code which} (the real network or a smooth stand-in) at x, which is handed over, counting one evaluation. */
    LocalJacobian evaluate(FeedForward which, double[] x, double[] warmV) {
        evaluations++;
        LocalJacobian p = LocalJacobian.at(which, x, warmV, random.nextLong());
        long now = System.nanoTime();
        if (now - lastReport > 2_000_000_000L) {
            lastReport = now;
            progress.accept(String.format("%d evaluations, best %.6g (%s), %.1f s", evaluations, best, bestMethod.label(), seconds()));
        }
        return p;
    }

    /**
     * Offers a real-network evaluation: into the pool if it is among the best, and certified if its
     * estimate beats the best certified value.
     *
     * @return whether it became the best
     */
    boolean offer(LocalJacobian p, LowerBoundSearch.Method how) {
        if (p.net != net || !p.differentiable) {
            return false;
        }
        pool(p);
        if (!(p.sigma > best)) {
            return false;
        }
        double certified = CertifiedNorm.lowerBound(net, p.x, p.v);
        if (!(certified > best)) {
            return false; // NaN: the pattern at x is within rounding of a kink
        }
        best = certified;
        bestEstimate = p.sigma;
        bestX = p.x.clone();
        bestMethod = how;
        return true;
    }

    private void pool(LocalJacobian p) {
        for (LocalJacobian q : pool) {
            if (Math.abs(q.sigma - p.sigma) <= 1e-12 * p.sigma) {
                return; // most likely the same region (or the same smooth optimum)
            }
        }
        int at = 0;
        while (at < pool.size() && pool.get(at).sigma >= p.sigma) {
            at++;
        }
        if (at < POOL) {
            pool.add(at, p);
            if (pool.size() > POOL) {
                pool.remove(POOL);
            }
        }
    }

    /** A copy of the pool, best first. */
    List<LocalJacobian> pool() {
        return List.copyOf(pool);
    }

    /** Starts a phase that may use {@code share} of the evaluations left (all of them when 1). */
    void beginPhase(double share) {
        int left = options.maxEvaluations() - evaluations;
        phaseEnd = share >= 1 ? options.maxEvaluations() : evaluations + (int) Math.ceil(share * left);
    }

    void endPhase(String name) {
        trace.add(new LowerBoundSearch.Phase(name, best, evaluations, seconds()));
        progress.accept(String.format("%s: best %.6g (%s) after %d evaluations, %.2f s", name, best, bestMethod.label(), evaluations,
                seconds()));
    }

    /** Whether the current phase's share, the whole budget or the time is used up. */
    boolean exhausted() {
        return evaluations >= phaseEnd || outOfTime();
    }

    private boolean outOfTime() {
        return seconds() >= options.maxSeconds();
    }

    int evaluations() {
        return evaluations;
    }

    double seconds() {
        return (System.nanoTime() - started) * 1e-9;
    }

    double best() {
        return best;
    }

    LowerBoundSearch.Result result() {
        return new LowerBoundSearch.Result(best, bestX == null ? null : bestX.clone(), bestMethod, bestEstimate, evaluations, seconds(),
                List.copyOf(trace));
    }
}

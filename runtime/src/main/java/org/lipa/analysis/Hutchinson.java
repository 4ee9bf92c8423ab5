package org.lipa.analysis;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The trace of a square operator known through products: exact for small ones, else by Hutchinson's
 * estimator with Rademacher probes ({@code E[z.Az] = tr A} with per-sample variance
 * {@code 2 sum_{i != j} A_ij^2} for symmetric A, zero when A is diagonal), as PyHessian's {@code trace} but
 * with an honest stopping rule and an interval.
 *
 * <p>Samples are drawn until the two-sided Student-t confidence interval of their mean,
 * {@code mean +- t_{(1+c)/2, s-1} sd / sqrt(s)}, has a half-width of at most {@code tolerance |mean|}, but at
 * least {@code minSamples} and at most {@code maxSamples}. The interval assumes the mean is about normal
 * (the central limit theorem); its coverage is nominal, checked in the tests at 95% over seeds, and slightly
 * optimistic after a data-dependent stop, which the minimum sample count keeps small. A trace near zero
 * cannot meet a relative tolerance: the run then uses every sample and says it did not converge.
 *
 * <pre>{@code
 * TraceEstimate t = Hutchinson.trace(op, Hutchinson.Options.defaults(), 42, s -> { });  // exact when n <= 200
 * TraceEstimate e = Hutchinson.estimate(op, Hutchinson.Options.defaults().withTolerance(1e-3), 42, s -> { });
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads on thread-safe operators.
 */
public final class Hutchinson {
    private Hutchinson() {
    }

    /**
     * How long to sample.
     *
     * @param tolerance  stop when the interval's half-width is at most this times |mean| (0: always maxSamples)
     * @param minSamples never stop before this many (at least 2, for a standard error)
     * @param maxSamples never draw more
     * @param confidence the interval's nominal coverage, in (0, 1)
     * @param exactLimit {@link #trace} computes the trace exactly, with n products, when n is at most this
     *                   (then it costs no more than this many samples would)
     */
    public record Options(double tolerance, int minSamples, int maxSamples, double confidence, int exactLimit) {
        public Options {
            if (!(tolerance >= 0)) {
                throw new IllegalArgumentException("tolerance must be >= 0, got " + tolerance);
            }
            if (minSamples < 2 || maxSamples < minSamples) {
                throw new IllegalArgumentException("need 2 <= minSamples <= maxSamples, got " + minSamples + ", " + maxSamples);
            }
            if (!(confidence > 0 && confidence < 1)) {
                throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
            }
            if (exactLimit < 0) {
                throw new IllegalArgumentException("exactLimit must be >= 0, got " + exactLimit);
            }
        }

        /** Relative half-width 1e-2 at 95%, 10 to 200 samples, exact up to n = 200. */
        public static Options defaults() {
            return new Options(1e-2, 10, 200, 0.95, 200);
        }

        public Options withTolerance(double t) {
            return new Options(t, minSamples, maxSamples, confidence, exactLimit);
        }

        public Options withSamples(int min, int max) {
            return new Options(tolerance, min, max, confidence, exactLimit);
        }

        public Options withConfidence(double c) {
            return new Options(tolerance, minSamples, maxSamples, c, exactLimit);
        }

        public Options withExactLimit(int limit) {
            return new Options(tolerance, minSamples, maxSamples, confidence, limit);
        }
    }

    /** Exact when {@code n <= o.exactLimit()}, else {@link #estimate}. */
    public static TraceEstimate trace(LinearOperator a, Options o, long seed, Consumer<String> progress) {
        return square(a) <= o.exactLimit() ? exact(a) : estimate(a, o, seed, progress);
    }

    /** {@code sum_i e_i.A e_i}: n products, exact up to rounding. */
    public static TraceEstimate exact(LinearOperator a) {
        int n = square(a);
        double[] diagonal = new double[n];
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double[] e = new double[n];
            e[i] = 1;
            diagonal[i] = a.apply(e)[i];
            sum += diagonal[i];
        }
        return new TraceEstimate(sum, 0, sum, sum, 1, n, true, true, diagonal);
    }

    /**
     * Hutchinson's estimate with Rademacher probes drawn from {@code new Random(seed)}.
     *
     * @throws IllegalArgumentException when a is not square
     */
    public static TraceEstimate estimate(LinearOperator a, Options o, long seed, Consumer<String> progress) {
        int n = square(a);
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        Random rnd = new Random(seed);
        double[] values = new double[o.maxSamples()];
        double mean = 0;
        double m2 = 0; // Welford: the sum of squared deviations
        int count = 0;
        double half = Double.POSITIVE_INFINITY;
        boolean converged = false;
        while (!converged && count < o.maxSamples()) {
            double[] z = Probe.RADEMACHER.draw(rnd, n);
            double s = Vectors.dot(a.apply(z), z);
            values[count++] = s;
            double previous = mean;
            mean += (s - mean) / count;
            m2 += (s - previous) * (s - mean);
            if (count >= o.minSamples()) {
                half = halfWidth(m2, count, o.confidence());
                converged = half <= o.tolerance() * Math.abs(mean);
            }
            if (count % 10 == 0) {
                progress.accept("trace: " + count + " samples, " + mean + " +- " + half);
            }
        }
        double se = Math.sqrt(m2 / (count - 1) / count);
        progress.accept("trace = " + mean + " +- " + half + " (" + Math.round(100 * o.confidence()) + "%) after " + count + " samples"
                + (converged ? "" : " (not converged)"));
        event.method = "hutchinson";
        event.iterations = count;
        event.converged = converged;
        event.commit();
        return new TraceEstimate(mean, se, mean - half, mean + half, o.confidence(), count, false, converged,
                Arrays.copyOf(values, count));
    }

    /** The half-width of the two-sided Student-t interval of a mean of {@code count} samples. */
    private static double halfWidth(double m2, int count, double confidence) {
        double se = Math.sqrt(m2 / (count - 1) / count);
        return StudentT.quantile(0.5 * (1 + confidence), count - 1) * se;
    }

    private static int square(LinearOperator a) {
        int n = a.domainSize();
        if (a.rangeSize() != n) {
            throw new IllegalArgumentException("a: a trace needs a square operator, got " + a.rangeSize() + " x " + n);
        }
        return n;
    }
}

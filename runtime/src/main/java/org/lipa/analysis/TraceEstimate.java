package org.lipa.analysis;

/**
 * A trace: exact ({@code sum_i e_i.A e_i}, n products) or Hutchinson's estimate with its standard error and a
 * Student-t confidence interval.
 *
 * <pre>{@code
 * TraceEstimate t = Hutchinson.trace(h, Hutchinson.Options.defaults(), 0, s -> { });
 * System.out.printf("%.4g, %.0f%% interval [%.4g, %.4g]%s%n", t.mean(), 100 * t.confidence(), t.lower(), t.upper(),
 *         t.exact() ? " (exact)" : "");
 * }</pre>
 *
 * @param mean          the trace (exact) or the mean of the samples {@code z.Az}
 * @param standardError the samples' standard deviation over the square root of their number (0 when exact)
 * @param lower         the interval's lower end: {@code mean - t_{(1+confidence)/2, samples-1} standardError}
 * @param upper         its upper end
 * @param confidence    the interval's nominal coverage (1 when exact)
 * @param samples       probe vectors used: Hutchinson's samples, or n unit vectors when exact (one product each)
 * @param exact         whether the trace was computed exactly (up to rounding)
 * @param converged     whether the interval's half-width met the relative tolerance (always when exact)
 * @param values        each sample {@code z.Az} in order (the diagonal of A when exact)
 *
 * <p>Thread safety: a record of values the estimator filled; share it read-only (its sample array is not copied).
 */
public record TraceEstimate(double mean, double standardError, double lower, double upper, double confidence, int samples,
                            boolean exact, boolean converged, double[] values) {
    /** Half the interval's width. */
    public double halfWidth() {
        return 0.5 * (upper - lower);
    }

    /**
     * One line for reports: {@code "41.2 (exact, 32 products)"} or
     * {@code "41.2 +- 3.1 (95% interval [38.1, 44.3], standard error 1.5, 37 samples, converged)"}.
     */
    public String describe() {
        if (exact) {
            return String.format(java.util.Locale.ROOT, "%.6g (exact, %d products)", mean, samples);
        }
        return String.format(java.util.Locale.ROOT, "%.6g +- %.2g (%s%% interval [%.6g, %.6g], standard error %.2g, %d samples, %s)",
                mean, halfWidth(), java.math.BigDecimal.valueOf(100 * confidence).stripTrailingZeros().toPlainString(), lower, upper,
                standardError, samples, converged ? "converged" : "not converged");
    }
}

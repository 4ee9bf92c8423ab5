package org.lipa.analysis;

import org.apache.commons.numbers.gamma.RegularizedBeta;

/**
 * Quantiles of Student's t distribution, for the confidence intervals of sample means: the cumulative
 * distribution through the regularized incomplete beta function ({@code P(T <= t) = 1 - I_x(df/2, 1/2) / 2}
 * for {@code t >= 0}, {@code x = df / (df + t^2)}), inverted by bisection to a relative 1e-13.
 */
final class StudentT {
    private StudentT() {
    }

    /**
     * The p-quantile for {@code df} degrees of freedom: {@code quantile(0.975, 9)} is 2.262..., the multiplier of
     * a 95% two-sided interval from 10 samples.
     *
     * @throws IllegalArgumentException when p is not in [0.5, 1) or df is below 1
     */
    static double quantile(double p, int df) {
        if (!(p >= 0.5 && p < 1)) {
            throw new IllegalArgumentException("p must be in [0.5, 1), got " + p);
        }
        if (df < 1) {
            throw new IllegalArgumentException("df must be at least 1, got " + df);
        }
        double lo = 0;
        double hi = 1;
        while (cdf(hi, df) < p) {
            lo = hi;
            hi *= 2;
        }
        while (hi - lo > 1e-13 * hi) {
            double mid = 0.5 * (lo + hi);
            if (cdf(mid, df) < p) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        return 0.5 * (lo + hi);
    }

    /** {@code P(T <= t)} for {@code t >= 0}. */
    static double cdf(double t, int df) {
        return 1 - 0.5 * RegularizedBeta.value(df / (df + t * t), 0.5 * df, 0.5);
    }
}

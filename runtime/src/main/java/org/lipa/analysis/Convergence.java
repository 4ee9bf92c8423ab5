package org.lipa.analysis;

/**
 * The convergence rule every spectral method here reports by: a value {@code theta} whose residual {@code r}
 * (measured with the operator) satisfies {@code r <= tolerance |theta|} is within a relative
 * {@code tolerance} of an eigenvalue (singular value); one whose residual is at most {@code 1e-12 ||A||} is
 * exact to working precision (this is what lets a zero eigenvalue converge, where no relative test can).
 * {@code ||A||} is estimated from below by the largest value in magnitude seen.
 */
final class Convergence {
    /** Residuals below this fraction of the operator's norm are rounding noise, not approximation error. */
    static final double ROUNDING = 1e-12;

    private Convergence() {
    }

    /** Whether a value with this residual has converged, for an operator of norm about {@code norm}. */
    static boolean met(double residual, double value, double norm, double tolerance) {
        return residual <= Math.max(tolerance * Math.abs(value), ROUNDING * norm);
    }

    /** The largest absolute value in {@code values}: a lower bound of the norm of the operator they came from. */
    static double norm(double[] values) {
        double m = 0;
        for (double v : values) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }
}

package org.lipa.analysis;

/**
 * The largest singular value of a {@link LinearOperator} by power iteration on {@code A^T A}.
 *
 * <p>Each step costs one {@code A v} and one {@code A^T u}: {@code u = A v / ||A v||}, then
 * {@code sigma = ||A^T u||} and {@code v = A^T u / sigma}, so that {@code A^T u = sigma v} holds exactly. The
 * residual is measured with the operator on the very pair returned: {@code ||A v - sigma u|| / sigma}, and
 * the iteration stops when it is at most {@code tolerance} ({@code converged}) or after
 * {@code maxIterations} steps (not converged).
 *
 * <p>What the numbers certify: {@code sigma <= ||A||} always ({@code ||A^T u|| <= ||A||} for a unit u), so
 * sigma is a lower bound of the spectral norm whatever the residual. And when {@code residual < 1} the
 * interval {@code sigma (1 +- residual)} contains a singular value of A (the pair {@code (u, v) / sqrt 2}
 * has residual {@code ||A v - sigma u|| / sqrt 2} for the symmetric matrix {@code [0 A; A^T 0]}, whose
 * positive eigenvalues are A's singular values). Usually that value is the largest one, but power iteration
 * cannot certify it: a random start with no component along the top singular vector, or a top value
 * repeated or close to the next, converges to (or stalls near) another. The value's actual error is
 * typically far below its bound (about {@code residual^2 sigma^2 / gap}).
 *
 * <pre>{@code
 * PowerIteration.Result r = PowerIteration.run(LinearOperator.matrix(cpu, w), 1e-6, 500, 42);
 * double sigma = r.sigma();              // <= ||w||, within sigma * r.residual() of a singular value
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class PowerIteration {
    private PowerIteration() {
    }

    /**
     * @param sigma      the estimate of the largest singular value (a lower bound of the spectral norm)
     * @param v          the right singular vector estimate (unit length)
     * @param iterations steps taken (each one {@code A v} and one {@code A^T u}; one more {@code A v} checks the last)
     * @param residual   {@code ||A v - sigma u|| / sigma} for the returned v and {@code u = A v' / ||A v'||} of the step
     *                   before, measured with the operator ({@code A^T u = sigma v} holds by construction)
     * @param converged  whether the residual met the tolerance
     */
    public record Result(double sigma, double[] v, int iterations, double residual, boolean converged) {
    }

    /**
     * Runs power iteration from a seeded random start.
     *
     * @param tolerance the relative residual to reach
     * @throws IllegalArgumentException if tolerance is not positive or maxIterations < 1
     */
    public static Result run(LinearOperator op, double tolerance, int maxIterations, long seed) {
        if (!(tolerance > 0) || maxIterations < 1) {
            throw new IllegalArgumentException("tolerance must be > 0 and maxIterations >= 1, got " + tolerance + ", " + maxIterations);
        }
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        Result r = iterate(op, tolerance, maxIterations, seed);
        event.method = "power iteration";
        event.iterations = r.iterations();
        event.converged = r.converged();
        event.commit();
        return r;
    }

    private static Result iterate(LinearOperator op, double tolerance, int maxIterations, long seed) {
        double[] v = Vectors.randomUnit(op.domainSize(), seed);
        double[] av = op.apply(v);
        for (int k = 1; ; k++) {
            double s = Vectors.norm(av);
            if (s == 0) { // v is in the null space: for a random start, A = 0 (almost surely)
                return new Result(0, v, k, 0, true);
            }
            double[] u = av;
            Vectors.scale(u, 1 / s);
            double[] w = op.applyTranspose(u);
            double sigma = Vectors.norm(w); // >= u.A v = s > 0
            Vectors.scale(w, 1 / sigma);
            v = w;
            av = op.apply(v); // the next step's product, and the check of this step's pair
            double residual = Vectors.residual(av, sigma, u) / sigma;
            if (residual <= tolerance || k == maxIterations) {
                return new Result(sigma, v, k, residual, residual <= tolerance);
            }
        }
    }
}

package org.lipa.analysis;

/**
 * The largest singular value of a {@link LinearOperator} by power iteration on {@code A^T A}.
 *
 * <p>Each step costs one {@code A v} and one {@code A^T u}. It stops when the estimate changes by less
 * than {@code tolerance} relative, or after {@code maxIterations}. The residual reported is
 * {@code ||A^T u - sigma v|| / sigma} for the final unit vectors {@code u = A v / ||A v||}: zero exactly
 * when {@code (sigma, u, v)} is a singular triple.
 *
 * <pre>{@code
 * PowerIteration.Result r = PowerIteration.run(LinearOperator.matrix(cpu, w), 1e-6, 500, 42);
 * double sigma = r.sigma();
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class PowerIteration {
    private PowerIteration() {
    }

    /**
     * @param sigma      the estimate of the largest singular value
     * @param v          the right singular vector estimate (unit length)
     * @param iterations steps taken
     * @param residual   {@code ||A^T u - sigma v|| / sigma}
     * @param converged  whether the tolerance was met before the cap
     */
    public record Result(double sigma, double[] v, int iterations, double residual, boolean converged) {
    }

    /**
     * Runs power iteration from a seeded random start.
     *
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
        double[] v = Spectral.randomUnit(Spectral.size(op.domain()), seed);
        double sigma = 0;
        double[] u = null;
        double[] w = null;
        for (int k = 1; k <= maxIterations; k++) {
            u = Spectral.apply(op, v);
            double s = Spectral.norm(u);
            if (s == 0) {
                return new Result(0, v, k, 0, true);
            }
            Spectral.scale(u, 1 / s);
            w = Spectral.applyTranspose(op, u); // = A^T A v / s, whose norm is the next estimate
            double next = Spectral.norm(w);
            boolean done = Math.abs(next - sigma) <= tolerance * next;
            sigma = next;
            double[] r = w.clone();
            Spectral.axpy(r, s, v); // A^T u - s v with the current pair
            double residual = Spectral.norm(r) / s;
            Spectral.scale(w, 1 / next);
            v = w;
            if (done) {
                return new Result(sigma, v, k, residual, true);
            }
            if (k == maxIterations) {
                return new Result(sigma, v, k, residual, false);
            }
        }
        throw new AssertionError("unreachable");
    }
}

package org.lipa.analysis;

import java.util.Objects;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The k eigenvalues of largest magnitude of a symmetric operator by power iteration with deflation, as
 * PyHessian's {@code eigenvalues} computes them (Yao et al., "PyHessian: Neural Networks Through the Lens of
 * the Hessian", 2020): kept for parity with published numbers; {@link Lanczos#eigenpairs} is the method to
 * trust, being faster and stopping on residuals.
 *
 * <p>PyHessian's stopping rule, unchanged: per eigenvalue, from a Gaussian start, each step orthogonalizes v
 * against the eigenvectors already found (deflation), sets {@code lambda = v.Av} and {@code v = Av / |Av|},
 * and stops when lambda changes by less than {@code tol} relatively ({@code |lambda - previous| /
 * (|previous| + 1e-6)}) or after {@code maxIter} products. That rule says nothing about accuracy: with
 * PyHessian's tol = 1e-3 a value can stop several percent off, and a later (deflated) one can come out
 * larger than an earlier one. So, unlike PyHessian, the results are then checked like every spectral result
 * here ({@link Eigenpairs}): each returned vector's Rayleigh quotient and residual {@code ||A y - theta y||}
 * are measured with the operator (one more product each), {@code converged} means that residual is at most
 * {@code tol |theta|} (not that the stopping rule fired), and the values are sorted by decreasing magnitude.
 *
 * <pre>{@code
 * Eigenpairs top = DeflatedPowerIteration.run(hessian, 3, 1e-3, 100, 0, s -> { });   // PyHessian's defaults
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads on thread-safe operators.
 */
public final class DeflatedPowerIteration {
    /** PyHessian's guard in relative changes, so that an estimate near zero does not divide by zero. */
    static final double GUARD = 1e-6;

    private DeflatedPowerIteration() {
    }

    /**
     * Runs k deflated power iterations from seeded Gaussian starts.
     *
     * @throws IllegalArgumentException when a is not square, k is outside [1, n], tol is not in (0, 1) or maxIter is below 1
     */
    public static Eigenpairs run(LinearOperator a, int k, double tol, int maxIter, long seed, Consumer<String> progress) {
        int n = a.domainSize();
        if (a.rangeSize() != n) {
            throw new IllegalArgumentException("a: a symmetric operator is square, got " + a.rangeSize() + " x " + n);
        }
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k must be in [1, " + n + "], got " + k);
        }
        if (!(tol > 0) || tol >= 1) {
            throw new IllegalArgumentException("tol must be in (0, 1), got " + tol);
        }
        if (maxIter < 1) {
            throw new IllegalArgumentException("maxIter must be at least 1, got " + maxIter);
        }
        Objects.requireNonNull(progress, "progress");
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        Random rnd = new Random(seed);
        double[][] vectors = new double[k][];
        double norm = 0;
        int products = 0;
        for (int j = 0; j < k; j++) {
            double[] v = Probe.GAUSSIAN.draw(rnd, n);
            double lambda = 0;
            int it = 0;
            boolean stopped = false;
            while (!stopped && it < maxIter) {
                it++;
                Vectors.orthogonalize(v, vectors, j);
                Vectors.normalize(v);
                double[] av = a.apply(v);
                double next = Vectors.dot(av, v);
                stopped = it > 1 && Math.abs(next - lambda) / (Math.abs(lambda) + GUARD) < tol;
                lambda = next;
                if (Vectors.normalize(av) == 0) { // v lies in the null space: an eigenvector of eigenvalue 0
                    break;
                }
                v = av;
                if (it % 10 == 0) {
                    progress.accept("eigenvalue " + (j + 1) + ": iteration " + it + ", " + lambda);
                }
            }
            Vectors.orthogonalize(v, vectors, j);
            Vectors.normalize(v);
            vectors[j] = v;
            products += it;
            norm = Math.max(norm, Math.abs(lambda));
            progress.accept("eigenvalue " + (j + 1) + " = " + lambda + " after " + it + " products" + (stopped ? "" : " (cap reached)"));
        }
        Eigenpairs e = Residuals.eigenpairs(a, vectors, Eigenpairs.Which.LARGEST_MAGNITUDE, norm, tol, SpectralMethod.POWER_ITERATION,
                products + k);
        event.method = "eigenpairs, " + e.method().label();
        event.iterations = e.products();
        event.converged = e.allConverged();
        event.commit();
        return e;
    }
}

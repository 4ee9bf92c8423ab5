package org.lipa.analysis;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * The top of a spectrum by Krylov methods, for operators known only through products: the largest singular
 * values of any {@link LinearOperator} (wide, tall or square) by Golub-Kahan-Lanczos bidiagonalization, and
 * the eigenvalues at either end of a symmetric one (largest, smallest, or largest in magnitude) by symmetric
 * Lanczos; both with full reorthogonalization. An operator small enough ({@code denseLimit}) is written out
 * and decomposed exactly instead.
 *
 * <p>Every result is checked with the operator at the end: each returned vector is applied once more, and
 * the residual reported is that measured one, not the in-exact-arithmetic estimate the iteration steers by.
 * For a symmetric operator a value {@code theta} with residual {@code r} is within r of <em>some</em>
 * eigenvalue; a singular value within r of some singular value (or zero), see {@link Eigenpairs} and
 * {@link SingularValues}. A value has converged when {@code r <= tolerance |theta|} (relative accuracy
 * {@code tolerance}), or when {@code r <= 1e-12 ||A||} (exact to working precision, how a zero converges);
 * the iteration stops when all k have, when the Krylov space is exhausted, or after {@code maxSteps} steps,
 * and says which. What no residual certifies is that nothing was missed: a single-vector Krylov method finds
 * one copy of a repeated eigenvalue at a time (the others after a restart, or not within maxSteps), so the
 * values are the top k only with high probability for distinct eigenvalues; the dense path has no such gap.
 *
 * <pre>{@code
 * SingularValues s = Lanczos.singularValues(LinearOperator.jacobian(net, arena, List.of(x), 0, 0), 3,
 *         Lanczos.Options.defaults());
 * Eigenpairs h = Lanczos.eigenpairs(LinearOperator.symmetric(n, hvp), 5, Eigenpairs.Which.LARGEST,
 *         Lanczos.Options.defaults().withTolerance(1e-4));
 * double lambda = h.values()[0], bound = h.residuals()[0];  boolean ok = h.converged()[0];
 * }</pre>
 *
 * <p>Cost: one product per symmetric step, two ({@code A v} and {@code A^T u}) per bidiagonalization step, one
 * (two) per returned value for the check; memory: the Krylov basis, {@code steps} vectors (per side). The
 * dense path costs n products (min(rows, cols) for singular values) and O(n^3) arithmetic.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads on thread-safe operators.
 */
public final class Lanczos {
    /** The dense paths stop at {@code DENSE_MAX^2} entries whatever the limit: 2^22 doubles, 32 MiB per written-out matrix. */
    public static final int DENSE_MAX = 2048;

    private static final long DENSE_ENTRIES = (long) DENSE_MAX * DENSE_MAX;

    private Lanczos() {
    }

    /**
     * How hard to look.
     *
     * @param tolerance  the relative residual each value must reach, {@code r <= tolerance |theta|}
     * @param maxSteps   the cap on Krylov steps (the basis' dimension; at most n anyway)
     * @param denseLimit write the operator out and decompose it exactly when its dimension (min(rows, cols) for
     *                   singular values) is at most this and the matrix has at most {@code DENSE_MAX^2} entries; 0 never
     *                   does
     * @param seed       seeds the start vector and any restart
     * @param progress   receives a line now and then
     */
    public record Options(double tolerance, int maxSteps, int denseLimit, long seed, Consumer<String> progress) {
        public Options {
            if (!(tolerance > 0) || tolerance >= 1) {
                throw new IllegalArgumentException("tolerance must be in (0, 1), got " + tolerance);
            }
            if (maxSteps < 1) {
                throw new IllegalArgumentException("maxSteps must be at least 1, got " + maxSteps);
            }
            if (denseLimit < 0) {
                throw new IllegalArgumentException("denseLimit must be >= 0, got " + denseLimit);
            }
            Objects.requireNonNull(progress, "progress");
        }

        /** Tolerance 1e-8, at most 300 steps, dense up to 100, seed 0, silent. */
        public static Options defaults() {
            return new Options(1e-8, 300, 100, 0, s -> { });
        }

        public Options withTolerance(double t) {
            return new Options(t, maxSteps, denseLimit, seed, progress);
        }

        public Options withMaxSteps(int s) {
            return new Options(tolerance, s, denseLimit, seed, progress);
        }

        public Options withDenseLimit(int d) {
            return new Options(tolerance, maxSteps, d, seed, progress);
        }

        public Options withSeed(long s) {
            return new Options(tolerance, maxSteps, denseLimit, s, progress);
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(tolerance, maxSteps, denseLimit, seed, p);
        }
    }

    /**
     * The k largest singular values of {@code a} with their vectors, by Golub-Kahan-Lanczos (or densely, see
     * {@link Options#denseLimit}).
     *
     * @throws IllegalArgumentException when k is outside [1, min(rows, cols)] or {@code maxSteps < k}
     */
    public static SingularValues singularValues(LinearOperator a, int k, Options o) {
        int n = a.domainSize();
        int m = a.rangeSize();
        int most = Math.min(m, n);
        check(k, most, o);
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        SingularValues s = most <= o.denseLimit() && (long) m * n <= DENSE_ENTRIES ? Exact.singularValues(a, k, o.tolerance())
                : GolubKahan.run(a, k, o);
        event.method = "singular values, " + s.method().label();
        event.iterations = s.products();
        event.converged = s.allConverged();
        event.commit();
        return s;
    }

    /**
     * The k eigenpairs {@code which} of the symmetric operator {@code a} (symmetry is assumed, not checked), by
     * symmetric Lanczos (or densely, see {@link Options#denseLimit}).
     *
     * @throws IllegalArgumentException when a is not square, k is outside [1, n] or {@code maxSteps < k}
     */
    public static Eigenpairs eigenpairs(LinearOperator a, int k, Eigenpairs.Which which, Options o) {
        int n = a.domainSize();
        if (a.rangeSize() != n) {
            throw new IllegalArgumentException("a: a symmetric operator is square, got " + a.rangeSize() + " x " + n);
        }
        Objects.requireNonNull(which, "which");
        check(k, n, o);
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        Eigenpairs e = n <= o.denseLimit() && (long) n * n <= DENSE_ENTRIES ? Exact.eigenpairs(a, k, which, o.tolerance())
                : SymmetricLanczos.run(a, k, which, o);
        event.method = "eigenpairs, " + e.method().label();
        event.iterations = e.products();
        event.converged = e.allConverged();
        event.commit();
        return e;
    }

    private static void check(int k, int most, Options o) {
        if (k < 1 || k > most) {
            throw new IllegalArgumentException("k must be in [1, " + most + "], got " + k);
        }
        if (o.maxSteps() < k) {
            throw new IllegalArgumentException("maxSteps must be at least k = " + k + ", got " + o.maxSteps());
        }
    }
}

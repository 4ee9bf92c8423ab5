package org.lipa.analysis;

import java.util.Arrays;
import java.util.function.Supplier;

/**
 * The symmetric Lanczos process with full reorthogonalization: after j steps, {@code A Q_j = Q_j T_j + w e_j^T}
 * with Q_j's columns orthonormal, {@code T_j} tridiagonal ({@link #alphas()} on the diagonal,
 * {@link #betas()} beside it) and w orthogonal to Q_j. A Ritz pair {@code (theta, Q_j s)} of T_j then has
 * residual {@code ||w|| |s_j|} in exact arithmetic.
 *
 * <p>Every new vector is orthogonalized twice against all earlier ones, which keeps Ritz values from repeating
 * (ghosts) at the price of storing the j vectors. When the Krylov space becomes invariant (w negligible: a
 * breakdown, e.g. for repeated eigenvalues or a start that misses part of the spectrum) the process continues,
 * as PyHessian's SLQ does, from a fresh random vector orthogonal to all earlier ones, with a zero coupling in
 * T; at most n steps are possible. Shared by {@link Lanczos} (eigenpairs) and {@link SpectralDensity} (SLQ).
 */
final class LanczosProcess {
    /** w is negligible, an invariant subspace found, when it is this small relative to the largest |A q| seen. */
    private static final double BREAKDOWN = 1e-10;

    private final LinearOperator a;
    private final int n;
    private final Supplier<double[]> fresh;
    private final double[][] q;
    private final double[] alpha;
    private final double[] beta;
    private double[] w;
    private double scale;
    private int size;

    /**
     * @param capacity the most steps that will be taken (at most n)
     * @param fresh    random vectors of length n: the start and the restarts (not necessarily normalized)
     */
    LanczosProcess(LinearOperator a, int capacity, Supplier<double[]> fresh) {
        this.a = a;
        this.n = a.domainSize();
        if (capacity < 1 || capacity > n) {
            throw new IllegalArgumentException("capacity must be in [1, " + n + "], got " + capacity);
        }
        this.fresh = fresh;
        this.q = new double[capacity][];
        this.alpha = new double[capacity];
        this.beta = new double[capacity];
    }

    /** Steps taken: the dimension of the basis. */
    int size() {
        return size;
    }

    /** Whether every step the capacity allows has been taken. */
    boolean full() {
        return size == q.length;
    }

    /** One more step: one product with the operator. */
    void step() {
        if (full()) {
            throw new IllegalStateException("the Lanczos process is full at " + size + " steps");
        }
        double[] next;
        if (size == 0) {
            next = freshDirection();
        } else {
            double b = Vectors.norm(w);
            if (b <= BREAKDOWN * scale) { // invariant subspace: start afresh, uncoupled
                next = freshDirection();
                b = 0;
            } else {
                next = w;
                Vectors.scale(next, 1 / b);
            }
            beta[size - 1] = b;
        }
        q[size] = next;
        double[] aq = a.apply(next);
        scale = Math.max(scale, Vectors.norm(aq));
        alpha[size] = Vectors.dot(aq, next);
        Vectors.axpy(aq, -alpha[size], next);
        if (size > 0) {
            Vectors.axpy(aq, -beta[size - 1], q[size - 1]);
        }
        size++;
        Vectors.orthogonalize(aq, q, size); // full reorthogonalization
        w = aq;
    }

    /** The diagonal of T_j. */
    double[] alphas() {
        return Arrays.copyOf(alpha, size);
    }

    /** The off-diagonal of T_j (length j - 1); a zero marks a restart. */
    double[] betas() {
        return Arrays.copyOf(beta, Math.max(0, size - 1));
    }

    /** {@code ||w||}: the coupling to the next vector, which scales every Ritz residual estimate. */
    double residualNorm() {
        return Vectors.norm(w);
    }

    /** {@code Q_j s}: the Ritz vector of T_j's eigenvector s, normalized. */
    double[] vector(double[] s) {
        double[] y = Vectors.combine(q, s);
        Vectors.normalize(y);
        return y;
    }

    /** A random unit vector orthogonal to the basis so far. */
    private double[] freshDirection() {
        double[] v = fresh.get();
        Vectors.orthogonalize(v, q, size);
        if (Vectors.normalize(v) == 0) {
            throw new ArithmeticException("Lanczos: a random direction orthogonal to " + size + " vectors in R^" + n + " came out zero");
        }
        return v;
    }
}

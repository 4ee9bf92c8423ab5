package org.lipa.analysis;

import java.util.Random;

/**
 * The vector arithmetic of the spectral methods, on heap {@code double[]} vectors: dot products, norms,
 * BLAS-style updates and Gram-Schmidt against a basis. One meaning per name, the BLAS one:
 * {@code axpy(y, a, x)} is {@code y += a x}.
 *
 * <pre>{@code
 * double[] v = Vectors.randomUnit(n, 42);          // seeded, unit length
 * Vectors.axpy(r, -theta, y);                      // r -= theta y
 * Vectors.orthogonalize(w, basis, j);              // w minus its components along basis[0..j)
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads (on vectors no other
 * thread writes).
 */
public final class Vectors {
    private Vectors() {
    }

    /** A seeded standard-normal vector scaled to unit length. */
    public static double[] randomUnit(int n, long seed) {
        double[] v = Probe.GAUSSIAN.draw(new Random(seed), n);
        scale(v, 1 / norm(v));
        return v;
    }

    /** {@code a . b}. */
    public static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("b: expected " + a.length + " entries, got " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /** The Euclidean norm. */
    public static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    /** {@code y *= s}, in place. */
    public static void scale(double[] y, double s) {
        for (int i = 0; i < y.length; i++) {
            y[i] *= s;
        }
    }

    /** {@code y += a x}, in place (BLAS's axpy). */
    public static void axpy(double[] y, double a, double[] x) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("x: expected " + y.length + " entries, got " + x.length);
        }
        for (int i = 0; i < y.length; i++) {
            y[i] += a * x[i];
        }
    }

    /** Scales v to unit length in place and returns its former norm; a zero vector stays zero. */
    public static double normalize(double[] v) {
        double n = norm(v);
        if (n > 0) {
            scale(v, 1 / n);
        }
        return n;
    }

    /**
     * Removes from v its components along {@code basis[0..count)} (assumed orthonormal), in two passes of
     * classical Gram-Schmidt: "twice is enough" to keep v orthogonal to the basis in floating point.
     */
    public static void orthogonalize(double[] v, double[][] basis, int count) {
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < count; i++) {
                axpy(v, -dot(v, basis[i]), basis[i]);
            }
        }
    }

    /** {@code sum_i coefficients[i] basis[i]} over the first {@code coefficients.length} basis vectors. */
    public static double[] combine(double[][] basis, double[] coefficients) {
        double[] r = new double[basis[0].length];
        for (int i = 0; i < coefficients.length; i++) {
            axpy(r, coefficients[i], basis[i]);
        }
        return r;
    }

    /** {@code ||a x - theta y||} for vectors of the same length: the residual of a Ritz pair. */
    static double residual(double[] ax, double theta, double[] y) {
        double s = 0;
        for (int i = 0; i < ax.length; i++) {
            double d = ax[i] - theta * y[i];
            s += d * d;
        }
        return Math.sqrt(s);
    }
}

package org.lipa.analysis;

import java.util.Random;

/** Test matrices with known spectra, row-major, built from seeded random orthogonal factors. */
final class Matrices {
    private Matrices() {
    }

    static double[] gaussian(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    /** {@code count} orthonormal vectors of length n (Gram-Schmidt, twice, on Gaussian draws). */
    static double[][] orthonormal(Random r, int n, int count) {
        double[][] q = new double[count][];
        for (int i = 0; i < count; i++) {
            q[i] = gaussian(r, n);
            Vectors.orthogonalize(q[i], q, i);
            Vectors.normalize(q[i]);
        }
        return q;
    }

    /** {@code U diag(sigma) V^T} (m x n) with random orthonormal U and V; sigma has at most min(m, n) entries. */
    static double[] withSingularValues(Random r, int m, int n, double[] sigma) {
        double[][] u = orthonormal(r, m, sigma.length);
        double[][] v = orthonormal(r, n, sigma.length);
        double[] a = new double[m * n];
        for (int k = 0; k < sigma.length; k++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    a[i * n + j] += sigma[k] * u[k][i] * v[k][j];
                }
            }
        }
        return a;
    }

    /** {@code Q diag(lambda) Q^T} with a random orthogonal Q, exactly symmetric. */
    static double[] withEigenvalues(Random r, double[] lambda) {
        int n = lambda.length;
        double[][] q = orthonormal(r, n, n);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = 0; k < n; k++) {
                    s += lambda[k] * q[k][i] * q[k][j];
                }
                a[i * n + j] = s;
                a[j * n + i] = s;
            }
        }
        return a;
    }

    /** The distance from x to the nearest entry of {@code spectrum}. */
    static double distance(double x, double[] spectrum) {
        double d = Double.POSITIVE_INFINITY;
        for (double s : spectrum) {
            d = Math.min(d, Math.abs(x - s));
        }
        return d;
    }

    static double[] sorted(double[] values, Eigenpairs.Which which) {
        Integer[] order = which.order(values);
        double[] s = new double[values.length];
        for (int i = 0; i < s.length; i++) {
            s[i] = values[order[i]];
        }
        return s;
    }
}

package org.lipa.analysis;

import java.util.Arrays;

/**
 * Singular value decomposition of small dense matrices in double precision by one-sided Jacobi
 * rotations (Hestenes): accurate to a few ulps of the largest singular value, and simple enough to be
 * an independent reference for the iterative methods.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class DenseSvd {
    private final double[] sigma;
    private final double[][] v;

    private DenseSvd(double[] sigma, double[][] v) {
        this.sigma = sigma;
        this.v = v;
    }

    /** Singular values, largest first. */
    public double[] singularValues() {
        return sigma.clone();
    }

    /** Right singular vector i (of unit length), in the order of {@link #singularValues()}. */
    public double[] rightVector(int i) {
        return v[i].clone();
    }

    /** The SVD of the row-major {@code rows x cols} matrix {@code a}. */
    public static DenseSvd of(double[] a, int rows, int cols) {
        if (a.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix has " + a.length + " entries, not " + rows + " x " + cols);
        }
        // columns of u are rotated until mutually orthogonal; v accumulates the rotations
        double[][] u = new double[cols][rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                u[j][i] = a[i * cols + j];
            }
        }
        double[][] vv = new double[cols][cols];
        for (int j = 0; j < cols; j++) {
            vv[j][j] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            boolean rotated = false;
            for (int p = 0; p < cols - 1; p++) {
                for (int q = p + 1; q < cols; q++) {
                    double alpha = dot(u[p], u[p]);
                    double beta = dot(u[q], u[q]);
                    double gamma = dot(u[p], u[q]);
                    if (Math.abs(gamma) <= 1e-15 * Math.sqrt(alpha * beta) || gamma == 0) {
                        continue;
                    }
                    rotated = true;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.signum(zeta == 0 ? 1 : zeta) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
                    double c = 1 / Math.sqrt(1 + t * t);
                    double s = c * t;
                    rotate(u[p], u[q], c, s);
                    rotate(vv[p], vv[q], c, s);
                }
            }
            if (!rotated) {
                break;
            }
        }
        Integer[] order = new Integer[cols];
        double[] norms = new double[cols];
        for (int j = 0; j < cols; j++) {
            order[j] = j;
            norms[j] = Math.sqrt(dot(u[j], u[j]));
        }
        Arrays.sort(order, (x, y) -> Double.compare(norms[y], norms[x]));
        double[] sigma = new double[cols];
        double[][] right = new double[cols][];
        for (int k = 0; k < cols; k++) {
            sigma[k] = norms[order[k]];
            right[k] = vv[order[k]];
        }
        int r = Math.min(rows, cols);
        return new DenseSvd(Arrays.copyOf(sigma, r), Arrays.copyOf(right, r));
    }

    private static double dot(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    private static void rotate(double[] x, double[] y, double c, double s) {
        for (int i = 0; i < x.length; i++) {
            double a = x[i];
            double b = y[i];
            x[i] = c * a - s * b;
            y[i] = s * a + c * b;
        }
    }
}

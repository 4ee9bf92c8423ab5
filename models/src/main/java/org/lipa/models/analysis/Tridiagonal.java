package org.lipa.models.analysis;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Eigenvalues and eigenvectors of a real symmetric tridiagonal matrix by the implicit QL method with
 * Wilkinson-like shifts: what turns a Lanczos tridiagonal into Ritz values and quadrature weights. The
 * matrices here are small (at most a few hundred Lanczos steps), so the O(m^3) cost of accumulating the
 * eigenvectors does not matter.
 *
 * <pre>{@code
 * Tridiagonal.Eigen e = Tridiagonal.eigen(new double[] {2, 2, 2}, new double[] {-1, -1});
 * double smallest = e.values()[0];          // 2 - sqrt(2)
 * double w = e.vectors()[0][0] * e.vectors()[0][0];
 * }</pre>
 */
public final class Tridiagonal {
    private static final int MAX_SWEEPS = 60;

    private Tridiagonal() {
    }

    /**
     * @param values  eigenvalues, ascending
     * @param vectors {@code vectors[j]} is the unit eigenvector of {@code values[j]}
     */
    public record Eigen(double[] values, double[][] vectors) {
        /** The first component of each eigenvector: Gauss quadrature weights are their squares. */
        public double[] firstComponents() {
            double[] f = new double[vectors.length];
            for (int j = 0; j < f.length; j++) {
                f[j] = vectors[j][0];
            }
            return f;
        }
    }

    /**
     * Decomposes the matrix with {@code diagonal} (length m) and {@code offDiagonal} (length m - 1,
     * element i couples rows i and i + 1).
     *
     * @throws IllegalArgumentException when the lengths do not fit or an entry is not finite
     * @throws ArithmeticException when an eigenvalue does not converge (not seen for finite input)
     */
    public static Eigen eigen(double[] diagonal, double[] offDiagonal) {
        int n = diagonal.length;
        if (n == 0 || offDiagonal.length != n - 1) {
            throw new IllegalArgumentException("offDiagonal: expected " + Math.max(0, n - 1) + " entries for a diagonal of " + n
                    + ", got " + offDiagonal.length);
        }
        for (double x : diagonal) {
            finite(x);
        }
        for (double x : offDiagonal) {
            finite(x);
        }
        double[] d = diagonal.clone();
        double[] e = Arrays.copyOf(offDiagonal, n); // e[n - 1] = 0 ends the chain
        double[][] z = new double[n][n];            // z[row][col]: column j is the j-th eigenvector
        for (int i = 0; i < n; i++) {
            z[i][i] = 1;
        }
        for (int l = 0; l < n; l++) {
            int sweeps = 0;
            while (true) {
                int m = l;
                // the first negligible off-diagonal entry at or after l splits the matrix there
                while (m < n - 1 && Math.abs(e[m]) > Math.ulp(1.0) * (Math.abs(d[m]) + Math.abs(d[m + 1]))) {
                    m++;
                }
                if (m == l) {
                    break;
                }
                if (++sweeps > MAX_SWEEPS) {
                    throw new ArithmeticException("tridiagonal QL: eigenvalue " + l + " did not converge in " + MAX_SWEEPS + " sweeps");
                }
                sweep(d, e, z, l, m);
            }
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(i -> d[i]));
        double[] values = new double[n];
        double[][] vectors = new double[n][n];
        for (int j = 0; j < n; j++) {
            values[j] = d[order[j]];
            for (int i = 0; i < n; i++) {
                vectors[j][i] = z[i][order[j]];
            }
        }
        return new Eigen(values, vectors);
    }

    /**
     * One implicit QL step on the unreduced block {@code l..m}: shift by the eigenvalue of the leading 2x2
     * closest to {@code d[l]}, then chase the bulge upwards with Givens rotations, accumulating them in z.
     */
    private static void sweep(double[] d, double[] e, double[][] z, int l, int m) {
        int n = d.length;
        double g = (d[l + 1] - d[l]) / (2 * e[l]);
        double r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + Math.copySign(r, g));
        double s = 1;
        double c = 1;
        double p = 0;
        for (int i = m - 1; i >= l; i--) {
            double f = s * e[i];
            double b = c * e[i];
            r = Math.hypot(f, g);
            e[i + 1] = r;
            if (r == 0) {
                // the rotation underflowed: the block has split; undo the shift on d[i + 1] and start over
                d[i + 1] -= p;
                e[m] = 0;
                return;
            }
            s = f / r;
            c = g / r;
            g = d[i + 1] - p;
            r = (d[i] - g) * s + 2 * c * b;
            p = s * r;
            d[i + 1] = g + p;
            g = c * r - b;
            for (int k = 0; k < n; k++) {
                double t = z[k][i + 1];
                z[k][i + 1] = s * z[k][i] + c * t;
                z[k][i] = c * z[k][i] - s * t;
            }
        }
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
    }

    private static void finite(double x) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException("tridiagonal: entries must be finite, got " + x);
        }
    }
}

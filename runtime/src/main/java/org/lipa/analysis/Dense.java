package org.lipa.analysis;

import java.util.Arrays;
import java.util.Comparator;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * Exact decompositions of small dense matrices in double precision, by EJML: the exact paths of the
 * spectral stack (an operator small enough to be written out), the Ritz values of Lanczos' small
 * projected matrices, and the independent references of the tests. Matrices are row-major
 * {@code double[]}.
 *
 * <pre>{@code
 * double[] s = Dense.svd(a, rows, cols).values();          // descending
 * Dense.Eigen e = Dense.symmetricEigen(h, n);              // ascending values, unit vectors
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Dense {
    private Dense() {
    }

    /**
     * A singular value decomposition {@code A = sum_i values[i] left[i] right[i]^T}.
     *
     * @param values singular values, descending ({@code min(rows, cols)} of them)
     * @param left   {@code left[i]}: the unit left singular vector of {@code values[i]} (length rows)
     * @param right  {@code right[i]}: the unit right singular vector of {@code values[i]} (length cols)
     */
    public record Svd(double[] values, double[][] left, double[][] right) {
    }

    /**
     * A symmetric eigendecomposition.
     *
     * @param values  eigenvalues, ascending
     * @param vectors {@code vectors[j]}: the unit eigenvector of {@code values[j]}
     */
    public record Eigen(double[] values, double[][] vectors) {
    }

    /** The SVD of the row-major {@code rows x cols} matrix {@code a}. */
    public static Svd svd(double[] a, int rows, int cols) {
        DMatrixRMaj m = matrix(a, rows, cols);
        SingularValueDecomposition_F64<DMatrixRMaj> d = DecompositionFactory_DDRM.svd(rows, cols, true, true, true);
        if (!d.decompose(m)) {
            throw new ArithmeticException("svd: EJML's decomposition did not converge for a " + rows + " x " + cols + " matrix");
        }
        double[] s = d.getSingularValues();
        int r = Math.min(rows, cols);
        DMatrixRMaj u = d.getU(null, true); // rows of u^T: left vectors
        DMatrixRMaj v = d.getV(null, true);
        Integer[] order = sortedIndices(r, i -> -s[i]);
        double[] values = new double[r];
        double[][] left = new double[r][];
        double[][] right = new double[r][];
        for (int k = 0; k < r; k++) {
            int i = order[k];
            values[k] = s[i];
            left[k] = row(u, i);
            right[k] = row(v, i);
        }
        return new Svd(values, left, right);
    }

    /** Singular values of the row-major {@code rows x cols} matrix {@code a}, descending. */
    public static double[] singularValues(double[] a, int rows, int cols) {
        DMatrixRMaj m = matrix(a, rows, cols);
        SingularValueDecomposition_F64<DMatrixRMaj> d = DecompositionFactory_DDRM.svd(rows, cols, false, false, true);
        if (!d.decompose(m)) {
            throw new ArithmeticException("svd: EJML's decomposition did not converge for a " + rows + " x " + cols + " matrix");
        }
        double[] s = Arrays.copyOf(d.getSingularValues(), Math.min(rows, cols));
        Arrays.sort(s);
        reverse(s);
        return s;
    }

    /** The eigendecomposition of the symmetric row-major {@code n x n} matrix {@code a} (only symmetry is assumed, not checked). */
    public static Eigen symmetricEigen(double[] a, int n) {
        DMatrixRMaj m = matrix(a, n, n);
        EigenDecomposition_F64<DMatrixRMaj> d = DecompositionFactory_DDRM.eig(n, true, true);
        if (!d.decompose(m)) {
            throw new ArithmeticException("symmetric eigen: EJML's decomposition did not converge for an " + n + " x " + n + " matrix");
        }
        Integer[] order = sortedIndices(n, i -> d.getEigenvalue(i).getReal());
        double[] values = new double[n];
        double[][] vectors = new double[n][];
        for (int k = 0; k < n; k++) {
            int i = order[k];
            values[k] = d.getEigenvalue(i).getReal();
            vectors[k] = d.getEigenVector(i).getData().clone();
            double norm = Math.sqrt(Arrays.stream(vectors[k]).map(x -> x * x).sum());
            for (int j = 0; j < n; j++) {
                vectors[k][j] /= norm;
            }
        }
        return new Eigen(values, vectors);
    }

    /** The eigenvalues of the symmetric row-major {@code n x n} matrix {@code a}, ascending (no vectors: cheaper). */
    public static double[] symmetricEigenvalues(double[] a, int n) {
        DMatrixRMaj m = matrix(a, n, n);
        EigenDecomposition_F64<DMatrixRMaj> d = DecompositionFactory_DDRM.eig(n, false, true);
        if (!d.decompose(m)) {
            throw new ArithmeticException("symmetric eigen: EJML's decomposition did not converge for an " + n + " x " + n + " matrix");
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = d.getEigenvalue(i).getReal();
        }
        Arrays.sort(values);
        return values;
    }

    /**
     * The eigendecomposition of the symmetric tridiagonal matrix with {@code diagonal} (length m) and
     * {@code offDiagonal} (length m - 1, entry i couples rows i and i + 1): the Ritz values and vectors
     * of a Lanczos run.
     *
     * @throws IllegalArgumentException when the lengths do not fit or an entry is not finite
     */
    public static Eigen tridiagonalEigen(double[] diagonal, double[] offDiagonal) {
        int m = diagonal.length;
        if (m == 0 || offDiagonal.length != m - 1) {
            throw new IllegalArgumentException("offDiagonal: expected " + Math.max(0, m - 1) + " entries for a diagonal of " + m
                    + ", got " + offDiagonal.length);
        }
        double[] t = new double[m * m];
        for (int i = 0; i < m; i++) {
            t[i * m + i] = finite(diagonal[i], "diagonal");
            if (i + 1 < m) {
                t[i * m + i + 1] = finite(offDiagonal[i], "offDiagonal");
                t[(i + 1) * m + i] = offDiagonal[i];
            }
        }
        return symmetricEigen(t, m);
    }

    private static double finite(double x, String what) {
        if (!Double.isFinite(x)) {
            throw new IllegalArgumentException(what + ": entries must be finite, got " + x);
        }
        return x;
    }

    static DMatrixRMaj matrix(double[] a, int rows, int cols) {
        if (rows < 1 || cols < 1 || a.length != (long) rows * cols) {
            throw new IllegalArgumentException("matrix: " + a.length + " entries do not make a " + rows + " x " + cols + " matrix");
        }
        return new DMatrixRMaj(rows, cols, true, a);
    }

    private static double[] row(DMatrixRMaj m, int i) {
        return Arrays.copyOfRange(m.data, i * m.numCols, (i + 1) * m.numCols);
    }

    private static Integer[] sortedIndices(int n, java.util.function.IntToDoubleFunction key) {
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble(key::applyAsDouble));
        return order;
    }

    private static void reverse(double[] a) {
        for (int i = 0, j = a.length - 1; i < j; i++, j--) {
            double t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}

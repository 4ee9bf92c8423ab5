package org.lipa.analysis;

/**
 * The dense paths of the spectral methods: an operator small enough is written out ({@link LinearOperator#toMatrix},
 * one product per column or row) and decomposed by {@link Dense} (EJML). The residuals are then measured
 * against the written-out matrix, so an operator that is not exactly symmetric (a float32 Hessian) shows it.
 */
final class Exact {
    private Exact() {
    }

    /**
     * The k eigenpairs {@code which} of the symmetric part {@code (A + A^T) / 2} of the written-out matrix.
     * Costs n products.
     */
    static Eigenpairs eigenpairs(LinearOperator a, int k, Eigenpairs.Which which, double tolerance) {
        int n = a.domainSize();
        double[] m = a.toMatrix();
        double[] sym = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                sym[i * n + j] = 0.5 * (m[i * n + j] + m[j * n + i]);
            }
        }
        Dense.Eigen e = Dense.symmetricEigen(sym, n);
        Integer[] order = which.order(e.values());
        double[][] ys = new double[k][];
        for (int i = 0; i < k; i++) {
            ys[i] = e.vectors()[order[i]];
        }
        return Residuals.eigenpairs(LinearOperator.dense(m, n, n), ys, which, Convergence.norm(e.values()), tolerance,
                SpectralMethod.DENSE, n); // the checks multiply by the written-out matrix, not the operator
    }

    /** The k largest singular triples of the written-out matrix. Costs {@code min(rows, cols)} products. */
    static SingularValues singularValues(LinearOperator a, int k, double tolerance) {
        int n = a.domainSize();
        int m = a.rangeSize();
        double[] mat = a.toMatrix();
        Dense.Svd s = Dense.svd(mat, m, n);
        double[][] us = new double[k][];
        double[][] vs = new double[k][];
        for (int i = 0; i < k; i++) {
            us[i] = s.left()[i];
            vs[i] = s.right()[i];
        }
        return Residuals.singularValues(LinearOperator.dense(mat, m, n), us, vs, s.values()[0], tolerance, SpectralMethod.DENSE,
                Math.min(m, n));
    }
}

package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_MT_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;

/**
 * {@link LipSdp}'s network: its matrices and the maps from multipliers T to {@code rho*(T)}, its gradient and
 * the blocks of {@code G(rho, T)}, all in double precision by EJML.
 */
final class LipSdpProblem {
    /** Z's top eigenpair is found densely when the first layer has at most this many inputs or outputs. */
    private static final int DENSE_SIDE = 256;
    final int layers;
    final double alpha;
    final double beta;
    final DMatrixRMaj[] w;       // w[k]: n_{k+1} x n_k
    final DMatrixRMaj lastGram;  // W_{L-1}^T W_{L-1}
    final double lastGramError;  // its rounding, spectral norm
    private final DMatrixRMaj inputQ; // thin Q of W_0^T when n_0 > n_1 (for lambda_max of Z), else null
    private final DMatrixRMaj inputR;

    /** The starting multipliers and what they are, once {@link LipSdp} has chosen them (null before). */
    record Start(Evaluation evaluation, String method) {
    }

    /** Set by {@link LipSdp} the first time a method needs it; a problem serves one analysis on one thread. */
    Start start;

    LipSdpProblem(FeedForward net) {
        if (net.layers() < 2) {
            throw new IllegalArgumentException("net: LipSDP needs at least one hidden layer, got " + net.layers() + " layer(s)");
        }
        layers = net.layers();
        alpha = net.activation().slopeLower();
        beta = net.activation().slopeUpper();
        int[] widths = net.widths();
        w = new DMatrixRMaj[layers];
        for (int k = 0; k < layers; k++) {
            w[k] = new DMatrixRMaj(widths[k + 1], widths[k], true, net.weightView(k));
        }
        DMatrixRMaj last = w[layers - 1];
        lastGram = new DMatrixRMaj(last.numCols, last.numCols);
        CommonOps_DDRM.multTransA(last, last, lastGram);
        lastGramError = PsdCertificate.gamma(last.numRows) * PsdCertificate.sumSquares(last) * (1 + 1e-6);
        if (widths[0] > widths[1] && widths[1] <= DENSE_SIDE) {
            QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(widths[0], widths[1]);
            DMatrixRMaj wt = CommonOps_DDRM.transpose(w[0], null);
            if (!qr.decompose(wt)) {
                throw new ArithmeticException("LipSDP: QR of the first layer failed");
            }
            inputQ = qr.getQ(null, true);
            inputR = qr.getR(null, true);
        } else {
            inputQ = null;
            inputR = null;
        }
    }

    int width(int k) {
        return w[k].numCols;
    }

    /**
     * rho*, the multipliers, the null vector's pieces and the gradient d rho* / d t.
     *
     * @param nullVectorNorm2 ||z||^2 / ||z_0||^2 (z_0 is a unit vector)
     */
    record Evaluation(double rho, double[][] t, double[][] gradient, double nullVectorNorm2) {
    }

    /** S_{L-1} = 2 T_{L-1} - W_{L-1}^T W_{L-1}. */
    DMatrixRMaj schurLast(double[][] t, int k) {
        if (k == layers - 1) {
            DMatrixRMaj s = lastGram.copy();
            CommonOps_DDRM.scale(-1, s);
            for (int i = 0; i < s.numRows; i++) {
                s.add(i, i, 2 * t[k][i]);
            }
            return s;
        }
        throw new IllegalStateException("schurLast: only for the last hidden layer");
    }

    /**
     * {@code W_{k-1}^T Y_k W_{k-1}} with {@code Y_k = 2 alpha beta T_k - (alpha + beta)^2 T_k S_k^{-1} T_k},
     * given S_k's upper Cholesky factor: the part of S_{k-1} (or -Z) that comes from layer k.
     */
    DMatrixRMaj coupled(double[][] t, int k, DMatrixRMaj factor) {
        DMatrixRMaj wk = w[k - 1]; // n_k x n_{k-1}
        DMatrixRMaj x = wk.copy();
        scaleRows(x, t[k], alpha + beta);
        lowerSolve(factor, x); // X = (alpha + beta) R^{-T} T W
        DMatrixRMaj out = new DMatrixRMaj(wk.numCols, wk.numCols);
        CommonOps_MT_DDRM.multInner(x, out);
        CommonOps_DDRM.scale(-1, out);
        if (alpha * beta != 0) {
            DMatrixRMaj tw = wk.copy();
            scaleRows(tw, t[k], 2 * alpha * beta);
            CommonOps_DDRM.multAddTransA(wk, tw, out);
        }
        return out;
    }

    /** rho*(t) and its gradient, or null when some S_k is not positive definite. */
    Evaluation evaluate(double[][] t) {
        int hidden = layers - 1;
        DMatrixRMaj[] factors = new DMatrixRMaj[hidden + 1];
        DMatrixRMaj s = schurLast(t, hidden);
        for (int k = hidden; k >= 1; k--) {
            factors[k] = Linalg.cholesky(s);
            if (factors[k] == null) {
                return null;
            }
            if (k >= 2) {
                s = coupled(t, k, factors[k]);
                for (int i = 0; i < s.numRows; i++) {
                    s.add(i, i, 2 * t[k - 1][i]);
                }
            }
        }
        // Z = -W_0^T Y_1 W_0; its top eigenpair
        double[] top = topOfZ(t, factors[1]);
        double rho = top[0];
        double[] u = java.util.Arrays.copyOfRange(top, 1, top.length);
        if (!(rho > 0)) {
            return null; // only the zero network has rho* = 0: nothing to optimize
        }
        // the null vector z and the gradient
        double[][] grad = new double[layers][];
        double[] z = u;
        double norm2 = 1;
        for (int k = 1; k <= hidden; k++) {
            double[] a = multiply(w[k - 1], z);
            double[] rhs = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                rhs[i] = (alpha + beta) * t[k][i] * a[i];
            }
            double[] zk = solve(factors[k], rhs);
            grad[k] = new double[a.length];
            for (int i = 0; i < a.length; i++) {
                grad[k][i] = -2 * (zk[i] - alpha * a[i]) * (zk[i] - beta * a[i]);
                norm2 += zk[i] * zk[i];
            }
            z = zk;
        }
        double[][] copy = new double[t.length][];
        for (int k = 1; k < t.length; k++) {
            copy[k] = t[k].clone();
        }
        return new Evaluation(rho, copy, grad, norm2);
    }

    /**
     * {@code lambda_max(Z)} and its unit eigenvector, {@code Z = X^T X - 2 alpha beta W_0^T T_1 W_0} with
     * {@code X = (alpha + beta) R_1^{-T} T_1 W_0}: dense on the smaller side when that is small, else by
     * Lanczos on products with Z.
     */
    private double[] topOfZ(double[][] t, DMatrixRMaj factor) {
        int n0 = w[0].numCols;
        int n1 = w[0].numRows;
        if (Math.min(n0, n1) <= DENSE_SIDE) {
            DMatrixRMaj y1 = coupledCore(t, factor); // -Y_1, n_1 x n_1
            if (inputQ != null) {
                DMatrixRMaj ry = new DMatrixRMaj(inputR.numRows, inputR.numRows);
                DMatrixRMaj tmp = new DMatrixRMaj(inputR.numRows, y1.numCols);
                CommonOps_DDRM.mult(inputR, y1, tmp);
                CommonOps_DDRM.multTransB(tmp, inputR, ry);
                double[] pair = Linalg.topEigenpair(ry);
                double[] r = new double[n0 + 1];
                r[0] = pair[0];
                double[] v = java.util.Arrays.copyOfRange(pair, 1, pair.length);
                for (int i = 0; i < n0; i++) {
                    double acc = 0;
                    for (int j = 0; j < v.length; j++) {
                        acc += inputQ.get(i, j) * v[j];
                    }
                    r[i + 1] = acc;
                }
                return r;
            }
            DMatrixRMaj z = new DMatrixRMaj(n0, n0);
            DMatrixRMaj tmp = new DMatrixRMaj(y1.numRows, n0);
            CommonOps_DDRM.mult(y1, w[0], tmp);
            CommonOps_DDRM.multTransA(w[0], tmp, z);
            return Linalg.topEigenpair(z);
        }
        DMatrixRMaj x = w[0].copy();
        scaleRows(x, t[1], alpha + beta);
        lowerSolve(factor, x);
        double[] t1 = t[1];
        return Linalg.topEigenpair(n0, v -> {
            double[] zv = multiplyTranspose(x, multiply(x, v));
            if (alpha * beta != 0) {
                double[] a = multiply(w[0], v);
                for (int i = 0; i < a.length; i++) {
                    a[i] *= 2 * alpha * beta * t1[i];
                }
                double[] b = multiplyTranspose(w[0], a);
                for (int i = 0; i < zv.length; i++) {
                    zv[i] -= b[i];
                }
            }
            return zv;
        });
    }

    private static double[] multiplyTranspose(DMatrixRMaj m, double[] v) {
        double[] r = new double[m.numCols];
        for (int i = 0; i < m.numRows; i++) {
            double vi = v[i];
            int at = i * m.numCols;
            for (int j = 0; j < m.numCols; j++) {
                r[j] += m.data[at + j] * vi;
            }
        }
        return r;
    }

    /** -Y_1 = (alpha + beta)^2 T_1 S_1^{-1} T_1 - 2 alpha beta T_1 (n_1 x n_1). */
    private DMatrixRMaj coupledCore(double[][] t, DMatrixRMaj factor) {
        int n = t[1].length;
        DMatrixRMaj x = new DMatrixRMaj(n, n);
        for (int i = 0; i < n; i++) {
            x.set(i, i, (alpha + beta) * t[1][i]);
        }
        lowerSolve(factor, x);
        DMatrixRMaj out = new DMatrixRMaj(n, n);
        CommonOps_DDRM.multTransA(x, x, out);
        for (int i = 0; i < n; i++) {
            out.add(i, i, -2 * alpha * beta * t[1][i]);
        }
        return out;
    }

    /**
     * The blocks of G(rho, T) (rho = 0 leaves D_0 without its rho I) and a bound on the spectral norm of
     * their rounding.
     */
    record Blocks(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper, double formingError) {
    }

    Blocks blocks(double[][] t, double rho) {
        int hidden = layers - 1;
        List<DMatrixRMaj> diagonal = new ArrayList<>();
        List<DMatrixRMaj> upper = new ArrayList<>();
        double error = 0;
        for (int k = 0; k <= hidden; k++) {
            int n = w[k].numCols;
            DMatrixRMaj d = new DMatrixRMaj(n, n);
            double termError = 0;
            if (alpha * beta != 0 && k < hidden) {
                // 2 alpha beta W_k^T T_{k+1} W_k: |error| <= gamma_{n+2} |2 alpha beta| sum_i t_i ||w_i||^2
                DMatrixRMaj tw = w[k].copy();
                scaleRows(tw, t[k + 1], 2 * alpha * beta);
                CommonOps_DDRM.multTransA(w[k], tw, d);
                double weighted = 0;
                for (int i = 0; i < w[k].numRows; i++) {
                    double row = 0;
                    for (int j = 0; j < n; j++) {
                        row += w[k].get(i, j) * w[k].get(i, j);
                    }
                    weighted += t[k + 1][i] * row;
                }
                termError += PsdCertificate.gamma(w[k].numRows + 3) * Math.abs(2 * alpha * beta) * weighted;
            }
            if (k == hidden) {
                CommonOps_DDRM.subtractEquals(d, lastGram);
                termError += lastGramError;
            }
            for (int i = 0; i < n; i++) {
                d.add(i, i, k == 0 ? rho : 2 * t[k][i]);
            }
            // the additions above round once more per entry
            termError += 2 * PsdCertificate.U * Math.sqrt(PsdCertificate.sumSquares(d));
            error += termError;
            diagonal.add(d);
            if (k >= 1) {
                // C_k = -(alpha + beta) W_{k-1}^T T_k: two roundings per entry
                DMatrixRMaj c = CommonOps_DDRM.transpose(w[k - 1], null);
                scaleColumns(c, t[k], -(alpha + beta));
                error += 2 * 2 * PsdCertificate.U * Math.sqrt(PsdCertificate.sumSquares(c));
                upper.add(c);
            }
        }
        return new Blocks(diagonal, upper, error * (1 + 1e-6));
    }

    private static void scaleRows(DMatrixRMaj m, double[] s, double factor) {
        for (int i = 0; i < m.numRows; i++) {
            double f = s[i] * factor;
            for (int j = 0; j < m.numCols; j++) {
                m.data[i * m.numCols + j] *= f;
            }
        }
    }

    private static void scaleColumns(DMatrixRMaj m, double[] s, double factor) {
        for (int i = 0; i < m.numRows; i++) {
            for (int j = 0; j < m.numCols; j++) {
                m.data[i * m.numCols + j] *= s[j] * factor;
            }
        }
    }

    static double[] multiply(DMatrixRMaj m, double[] v) {
        double[] r = new double[m.numRows];
        for (int i = 0; i < m.numRows; i++) {
            double acc = 0;
            for (int j = 0; j < m.numCols; j++) {
                acc += m.data[i * m.numCols + j] * v[j];
            }
            r[i] = acc;
        }
        return r;
    }

    /** y <- R^{-T} y for the upper Cholesky factor R. */
    static void lowerSolve(DMatrixRMaj r, DMatrixRMaj y) {
        DMatrixRMaj lower = CommonOps_DDRM.transpose(r, null);
        TriangularSolver_DDRM.solveL(lower.data, y.data, lower.numRows, y.numCols);
    }

    /** S^{-1} b with S = R^T R. */
    private static double[] solve(DMatrixRMaj r, double[] b) {
        double[] x = b.clone();
        TriangularSolver_DDRM.solveTranU(r.data, x, r.numRows);
        TriangularSolver_DDRM.solveU(r.data, x, r.numRows);
        return x;
    }


    /** Small dense helpers over EJML. */
    static final class Linalg {
        private Linalg() {
        }

        /** The upper Cholesky factor, or null when the matrix is not (numerically) positive definite. */
        static DMatrixRMaj cholesky(DMatrixRMaj a) {
            return PsdCertificate.upperCholesky(a);
        }

        static DMatrixRMaj symmetrized(DMatrixRMaj a) {
            DMatrixRMaj s = a.copy();
            for (int i = 0; i < s.numRows; i++) {
                for (int j = 0; j < i; j++) {
                    double v = (s.get(i, j) + s.get(j, i)) / 2;
                    s.set(i, j, v);
                    s.set(j, i, v);
                }
            }
            return s;
        }

        /** The largest eigenvalue of a symmetric matrix: EJML's dense solver when small, Lanczos (residual 1e-12) otherwise. */
        static double largestEigenvalue(DMatrixRMaj a) {
            return extreme(a, Eigenpairs.Which.LARGEST);
        }

        /** The smallest eigenvalue of a symmetric matrix, likewise. */
        static double smallestEigenvalue(DMatrixRMaj a) {
            return extreme(a, Eigenpairs.Which.SMALLEST);
        }

        private static double extreme(DMatrixRMaj a, Eigenpairs.Which which) {
            DMatrixRMaj s = symmetrized(a);
            int n = s.numRows;
            if (n <= 64) {
                double[] v = Dense.symmetricEigenvalues(s.data, n);
                return which == Eigenpairs.Which.LARGEST ? v[n - 1] : v[0];
            }
            return Lanczos.eigenpairs(LinearOperator.symmetric(n, x -> LipSdpProblem.multiply(s, x)), 1, which, TOP).values()[0];
        }

        /** The top eigenpair {@code [lambda, v...]} of a symmetric matrix. */
        static double[] topEigenpair(DMatrixRMaj a) {
            DMatrixRMaj s = symmetrized(a);
            return topEigenpair(s.numRows, v -> LipSdpProblem.multiply(s, v));
        }

        /** The spectral stack's settings for Z's top eigenpair: residual 1e-12 of the value, dense up to 64 dimensions. */
        private static final Lanczos.Options TOP = Lanczos.Options.defaults().withTolerance(1e-12).withDenseLimit(64);

        /** The largest eigenvalue and its unit eigenvector ({@code [lambda, v...]}) of a symmetric operator. */
        static double[] topEigenpair(int n, java.util.function.UnaryOperator<double[]> a) {
            Eigenpairs e = Lanczos.eigenpairs(LinearOperator.symmetric(n, a), 1, Eigenpairs.Which.LARGEST, TOP);
            double[] r = new double[n + 1];
            r[0] = e.values()[0];
            System.arraycopy(e.vectors()[0], 0, r, 1, n);
            return r;
        }
    }
}

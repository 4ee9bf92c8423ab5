package org.lipa.analysis;

import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_MT_DDRM;
import org.ejml.dense.row.decomposition.chol.CholeskyDecompositionBlock_MT_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * A floating-point proof that a symmetric block-tridiagonal matrix is positive definite: what turns an
 * operator-norm estimate or a set of LipSDP multipliers into a certified upper bound.
 *
 * <p>The matrix {@code A} has diagonal blocks {@code D_k} and blocks {@code C_k} coupling block
 * {@code k - 1} to block {@code k}; its entries are known only as computed, within a spectral-norm
 * distance {@code formingError} of the exact matrix (the caller bounds the rounding of the products that
 * formed them). With a shift {@code c > 0}, a block Cholesky factorization {@code R} of {@code fl(A - c I)}
 * is computed by EJML block by block (the block-Schur recursion: {@code R_kk^T R_kk = D_k - c I -
 * R_{k-1,k}^T R_{k-1,k}}, {@code R_{k-1,k} = R_{k-1,k-1}^{-T} C_k}). Whatever algorithm computed R, the
 * certificate then rests on its residual only:
 * <pre>
 *   R^T R = fl(A - cI) + E          (R^T R is positive semidefinite)
 *   lambda_min(A_exact) >= c - ||E|| - ||fl(A - cI) - (A - cI)|| - formingError
 * </pre>
 * where {@code ||E||} is bounded by the Frobenius norm of the residual computed in double precision plus
 * the rounding of that computation, {@code gamma_{p+1} (||R||_F^2 + ||A - cI||_F)} with
 * {@code gamma_q = q u / (1 - q u)}, u the unit roundoff and p the length of the longest dot product
 * (Higham, <em>Accuracy and Stability of Numerical Algorithms</em>, section 3.5). The bound returned is
 * positive only if A is positive definite in exact arithmetic. Sums of the bound's own terms are rounded
 * up by a relative 1e-6, far above their rounding (below 1e-12).
 *
 * <pre>{@code
 * PsdCertificate.Result r = PsdCertificate.certify(List.of(d0, d1), List.of(c1), formingError, shift);
 * if (r.certified()) { ... lambda_min >= r.lowerBound() > 0 ... }
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class PsdCertificate {
    static final double U = 0x1p-53;

    private PsdCertificate() {
    }

    /**
     * @param certified  whether positive definiteness is proven
     * @param lowerBound a proven lower bound on the smallest eigenvalue of the exact matrix (NaN when the
     *                   factorization failed)
     * @param reason     why not, when not certified
     */
    public record Result(boolean certified, double lowerBound, String reason) {
    }

    /** gamma_q = q u / (1 - q u), the relative error bound of a dot product of q terms. */
    static double gamma(long q) {
        double qu = q * U;
        if (qu >= 0.5) {
            throw new ArithmeticException("gamma: " + q + " terms is too long a sum to bound");
        }
        return qu / (1 - qu);
    }

    /**
     * The shift that {@link #certify} needs at least: four times the rounding it expects for a positive
     * semidefinite matrix with these blocks (so that a matrix whose smallest eigenvalue exceeds twice this
     * value is certified with room to spare).
     */
    public static double suggestedShift(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper, double formingError) {
        double trace = 0;
        double frob2 = 0;
        int p = longestDot(diagonal);
        for (DMatrixRMaj d : diagonal) {
            for (int i = 0; i < d.numRows; i++) {
                trace += Math.max(d.get(i, i), 0);
            }
            frob2 += sumSquares(d);
        }
        for (DMatrixRMaj c : upper) {
            frob2 += 2 * sumSquares(c);
        }
        return 4 * (gamma(p + 1) * (trace + Math.sqrt(frob2)) + U * maxAbsDiagonal(diagonal) + formingError) + Double.MIN_NORMAL;
    }

    /**
     * Certifies that the exact symmetric matrix with diagonal blocks {@code diagonal} and coupling blocks
     * {@code upper} ({@code upper.get(k - 1)} couples block k - 1 to block k, shape {@code n_{k-1} x n_k})
     * is positive definite, given that the computed blocks are within {@code formingError} (spectral norm,
     * all blocks together) of the exact ones. Only the upper triangles of the diagonal blocks are read.
     *
     * @throws IllegalArgumentException when the blocks do not fit together or the shift is not positive
     */
    public static Result certify(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper, double formingError, double shift) {
        check(diagonal, upper);
        if (!(shift > 0) || !(formingError >= 0)) {
            throw new IllegalArgumentException("shift must be > 0 and formingError >= 0, got " + shift + ", " + formingError);
        }
        int blocks = diagonal.size();
        DMatrixRMaj[] rDiag = new DMatrixRMaj[blocks];
        DMatrixRMaj[] rUpper = new DMatrixRMaj[blocks];
        DMatrixRMaj[] shifted = new DMatrixRMaj[blocks];
        double maxShiftedDiagonal = 0;
        for (int k = 0; k < blocks; k++) {
            shifted[k] = symmetricCopy(diagonal.get(k));
            for (int i = 0; i < shifted[k].numRows; i++) {
                shifted[k].set(i, i, shifted[k].get(i, i) - shift);
                maxShiftedDiagonal = Math.max(maxShiftedDiagonal, Math.abs(shifted[k].get(i, i)));
            }
            DMatrixRMaj schur = shifted[k].copy();
            if (k > 0) {
                // R_{k-1,k} = R_{k-1,k-1}^{-T} C_k: forward substitution with the lower factor R^T
                DMatrixRMaj lower = CommonOps_DDRM.transpose(rDiag[k - 1], null);
                DMatrixRMaj coupling = upper.get(k - 1).copy();
                TriangularSolver_DDRM.solveL(lower.data, coupling.data, lower.numRows, coupling.numCols);
                rUpper[k] = coupling;
                CommonOps_MT_DDRM.multAddTransA(-1, coupling, coupling, schur);
            }
            rDiag[k] = upperCholesky(schur);
            if (rDiag[k] == null) {
                return new Result(false, Double.NaN, "the Cholesky factorization of block " + k + "'s Schur complement failed: "
                        + "not positive definite after the shift " + shift);
            }
            if (!finite(rDiag[k])) {
                return new Result(false, Double.NaN, "block " + k + "'s factor is not finite");
            }
        }
        // the residual E = R^T R - fl(A - cI), block by block
        double residual2 = 0;
        double factor2 = 0;
        double shifted2 = 0;
        for (int k = 0; k < blocks; k++) {
            DMatrixRMaj e = new DMatrixRMaj(shifted[k].numRows, shifted[k].numCols);
            CommonOps_MT_DDRM.multTransA(rDiag[k], rDiag[k], e);
            if (k > 0) {
                CommonOps_MT_DDRM.multAddTransA(rUpper[k], rUpper[k], e);
                DMatrixRMaj off = new DMatrixRMaj(rUpper[k].numRows, rUpper[k].numCols);
                CommonOps_MT_DDRM.multTransA(rDiag[k - 1], rUpper[k], off);
                CommonOps_DDRM.subtractEquals(off, upper.get(k - 1));
                residual2 += 2 * sumSquares(off);
                factor2 += sumSquares(rUpper[k]);
                shifted2 += 2 * sumSquares(upper.get(k - 1));
            }
            CommonOps_DDRM.subtractEquals(e, shifted[k]);
            residual2 += sumSquares(e);
            factor2 += sumSquares(rDiag[k]);
            shifted2 += sumSquares(shifted[k]);
        }
        int p = longestDot(diagonal);
        double residualNorm = Math.sqrt(residual2) + gamma(p + 1) * (factor2 + Math.sqrt(shifted2)) + p * 1e-300;
        double shiftRounding = U * maxShiftedDiagonal * (1 + 2 * U);
        double lost = (residualNorm + shiftRounding + formingError) * (1 + 1e-6);
        double bound = shift - lost;
        return bound > 0 ? new Result(true, bound, "")
                : new Result(false, bound, "the rounding bound " + lost + " exceeds the shift " + shift);
    }

    /**
     * The upper Cholesky factor R (R^T R = a) by EJML, blocked and on two threads for large matrices; null
     * when the factorization breaks down (a not numerically positive definite). {@code a} is not modified.
     */
    static DMatrixRMaj upperCholesky(DMatrixRMaj a) {
        CholeskyDecomposition_F64<DMatrixRMaj> chol = a.numRows >= 400 ? new CholeskyDecompositionBlock_MT_DDRM(96)
                : DecompositionFactory_DDRM.chol(a.numRows, false);
        if (!chol.decompose(a.copy())) {
            return null;
        }
        DMatrixRMaj t = chol.getT(null);
        DMatrixRMaj r = chol.isLower() ? CommonOps_DDRM.transpose(t, null) : t;
        for (int i = 0; i < r.numRows; i++) {
            if (!(r.get(i, i) > 0) || !Double.isFinite(r.get(i, i))) {
                return null;
            }
        }
        return r;
    }

    /** The longest dot product in R^T R: two adjacent blocks' columns. */
    private static int longestDot(List<DMatrixRMaj> diagonal) {
        int p = 0;
        for (int k = 0; k < diagonal.size(); k++) {
            p = Math.max(p, diagonal.get(k).numRows + (k > 0 ? diagonal.get(k - 1).numRows : 0));
        }
        return p;
    }

    private static DMatrixRMaj symmetricCopy(DMatrixRMaj d) {
        DMatrixRMaj s = d.copy();
        for (int i = 0; i < s.numRows; i++) {
            for (int j = 0; j < i; j++) {
                s.set(i, j, s.get(j, i));
            }
        }
        return s;
    }

    private static void check(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper) {
        if (diagonal.isEmpty() || upper.size() != diagonal.size() - 1) {
            throw new IllegalArgumentException("blocks: " + diagonal.size() + " diagonal blocks need " + Math.max(0, diagonal.size() - 1)
                    + " coupling blocks, got " + upper.size());
        }
        for (int k = 0; k < diagonal.size(); k++) {
            DMatrixRMaj d = diagonal.get(k);
            if (d.numRows != d.numCols || d.numRows == 0) {
                throw new IllegalArgumentException("diagonal[" + k + "]: must be square and non-empty, got " + d.numRows + " x " + d.numCols);
            }
            if (!finite(d)) {
                throw new IllegalArgumentException("diagonal[" + k + "]: entries must be finite");
            }
            if (k > 0) {
                DMatrixRMaj c = upper.get(k - 1);
                if (c.numRows != diagonal.get(k - 1).numRows || c.numCols != d.numRows) {
                    throw new IllegalArgumentException("upper[" + (k - 1) + "]: expected " + diagonal.get(k - 1).numRows + " x " + d.numRows
                            + ", got " + c.numRows + " x " + c.numCols);
                }
                if (!finite(c)) {
                    throw new IllegalArgumentException("upper[" + (k - 1) + "]: entries must be finite");
                }
            }
        }
    }

    private static double maxAbsDiagonal(List<DMatrixRMaj> diagonal) {
        double m = 0;
        for (DMatrixRMaj d : diagonal) {
            for (int i = 0; i < d.numRows; i++) {
                m = Math.max(m, Math.abs(d.get(i, i)));
            }
        }
        return m;
    }

    static double sumSquares(DMatrixRMaj m) {
        double s = 0;
        for (int i = 0; i < m.getNumElements(); i++) {
            s += m.data[i] * m.data[i];
        }
        return s;
    }

    private static boolean finite(DMatrixRMaj m) {
        for (int i = 0; i < m.getNumElements(); i++) {
            if (!Double.isFinite(m.data[i])) {
                return false;
            }
        }
        return true;
    }
}

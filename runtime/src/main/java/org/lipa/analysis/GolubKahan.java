package org.lipa.analysis;

import java.util.Random;

/**
 * The largest singular values of any operator by Golub-Kahan-Lanczos bidiagonalization with full
 * reorthogonalization. From a random unit {@code v_1}: {@code alpha_1 u_1 = A v_1}, then for j = 1, 2, ...
 * {@code beta_j v_{j+1} = A^T u_j - alpha_j v_j} and {@code alpha_{j+1} u_{j+1} = A v_{j+1} - beta_j u_j}, each
 * new vector orthogonalized twice against all earlier ones of its side. Then
 * {@code A^T U_j = V_{j+1} B_j} with the (j+1) x j lower bidiagonal {@code B_j} (alphas on the diagonal, betas
 * below) and {@code A V_{j+1} = U_j B_j^T + alpha_{j+1} u_{j+1} e_{j+1}^T}.
 *
 * <p>The Ritz triples come from that rectangular B_j, not from its square top: for {@code B_j = P S Q^T},
 * {@code u = U_j q_i} and {@code v = V_{j+1} p_i} satisfy {@code A^T u = sigma_i v} exactly and
 * {@code A v - sigma_i u = alpha_{j+1} p_i[j] u_{j+1}}. So once U_j spans A's range (j = rows, a wide
 * operator) the values are exact, which the square top's are not (a 3 x 20 matrix: see the tests). A side
 * that is used up ends the run with exact values; a negligible alpha or beta (an invariant pair of subspaces)
 * restarts that side from a random vector orthogonal to its basis, with a zero coupling. Behind
 * {@link Lanczos#singularValues}.
 */
final class GolubKahan {
    /** A new alpha or beta this small relative to the largest product norm seen is an invariant subspace. */
    private static final double BREAKDOWN = 1e-10;

    private final LinearOperator a;
    private final int n;
    private final int m;
    private final Random rnd;
    private final double[][] vs;
    private final double[][] us;
    private final double[] alpha;
    private final double[] beta;
    private double scale;
    private int products;

    private GolubKahan(LinearOperator a, int cap, long seed) {
        this.a = a;
        this.n = a.domainSize();
        this.m = a.rangeSize();
        this.rnd = new Random(seed);
        this.vs = new double[cap + 1][];
        this.us = new double[cap + 1][];
        this.alpha = new double[cap + 1];
        this.beta = new double[cap + 1];
    }

    static SingularValues run(LinearOperator a, int k, Lanczos.Options o) {
        int cap = Math.min(o.maxSteps(), Math.min(a.domainSize(), a.rangeSize()));
        return new GolubKahan(a, cap, o.seed()).iterate(k, cap, o);
    }

    private SingularValues iterate(int k, int cap, Lanczos.Options o) {
        vs[0] = fresh(n, vs, 0);
        alpha[0] = extend(us, 0, product(a.apply(vs[0])));
        Schedule schedule = new Schedule();
        for (int j = 1; ; j++) { // j: the number of u's, and of B's columns
            double[] r = product(a.applyTranspose(us[j - 1]));
            Vectors.axpy(r, -alpha[j - 1], vs[j - 1]);
            Vectors.orthogonalize(r, vs, j);
            boolean vFull = j == n; // V_j spans the domain: A^T U_j = V_j B_j exactly, without B's last row
            boolean uFull = !vFull && j == m; // U_j spans the range: A v_{j+1} adds nothing, B_j's Ritz values are exact
            if (!vFull) {
                beta[j - 1] = extend(vs, j, r);
            }
            if (!vFull && !uFull) {
                double[] p = product(a.apply(vs[j]));
                Vectors.axpy(p, -beta[j - 1], us[j - 1]);
                Vectors.orthogonalize(p, us, j);
                alpha[j] = extend(us, j, p);
            }
            boolean last = vFull || uFull || j == cap;
            if (j % 10 == 0) {
                o.progress().accept("Golub-Kahan step " + j + " of at most " + cap);
            }
            if (j < k || !schedule.due(j, last)) {
                continue;
            }
            int rows = vFull ? j : j + 1;
            Dense.Svd svd = Dense.svd(bidiagonal(rows, j), rows, j);
            double norm = svd.values()[0];
            boolean estimated = true;
            for (int i = 0; i < k; i++) {
                double estimate = rows == j ? 0 : alpha[j] * Math.abs(svd.left()[i][j]);
                estimated &= Convergence.met(estimate / schedule.trust(), svd.values()[i], norm, o.tolerance());
            }
            if (estimated || last) {
                double[][] u = new double[k][];
                double[][] v = new double[k][];
                for (int i = 0; i < k; i++) {
                    u[i] = Vectors.combine(us, svd.right()[i]);
                    v[i] = Vectors.combine(vs, svd.left()[i]);
                    Vectors.normalize(u[i]);
                    Vectors.normalize(v[i]);
                }
                products += 2 * k; // the checks below
                SingularValues s = Residuals.singularValues(a, u, v, norm, o.tolerance(), SpectralMethod.LANCZOS, products);
                if (s.allConverged() || last || schedule.refuted()) {
                    o.progress().accept("Golub-Kahan: " + j + " steps, " + (s.allConverged() ? "converged" : "not converged"));
                    return s;
                }
            }
        }
    }

    /** The rows x cols lower bidiagonal B (row-major): alphas on the diagonal, betas below it. */
    private double[] bidiagonal(int rows, int cols) {
        double[] b = new double[rows * cols];
        for (int i = 0; i < cols; i++) {
            b[i * cols + i] = alpha[i];
            if (i + 1 < rows) {
                b[(i + 1) * cols + i] = beta[i];
            }
        }
        return b;
    }

    /**
     * Sets {@code basis[j]} to the orthogonalized x normalized, or to a fresh random direction when x is negligible
     * (a breakdown); returns x's norm, the new alpha or beta (zero on a restart).
     */
    private double extend(double[][] basis, int j, double[] x) {
        double norm = Vectors.norm(x);
        if (norm <= BREAKDOWN * scale || norm == 0) {
            basis[j] = fresh(x.length, basis, j);
            return 0;
        }
        Vectors.scale(x, 1 / norm);
        basis[j] = x;
        return norm;
    }

    /** Counts a product and keeps the largest norm seen, the scale of breakdowns. */
    private double[] product(double[] x) {
        products++;
        scale = Math.max(scale, Vectors.norm(x));
        return x;
    }

    /** A random unit vector of length {@code size} orthogonal to {@code basis[0..count)}. */
    private double[] fresh(int size, double[][] basis, int count) {
        double[] x = Probe.GAUSSIAN.draw(rnd, size);
        Vectors.orthogonalize(x, basis, count);
        if (Vectors.normalize(x) == 0) {
            throw new ArithmeticException("Golub-Kahan: a random direction orthogonal to " + count + " vectors in R^" + size
                    + " came out zero");
        }
        return x;
    }
}

package org.lipa.analysis;

/**
 * The final, explicit check of every spectral method: each candidate vector is applied to the operator once
 * more and its residual measured, so that a reported bound never rests on an estimate that holds only in
 * exact arithmetic. The results come back in the order asked for, with the flags of {@link Convergence};
 * {@code products} is passed through as the count to report (the caller knows which products were the
 * operator's).
 */
final class Residuals {
    private Residuals() {
    }

    /**
     * Eigenpairs from unit candidate vectors: each value is the Rayleigh quotient {@code y.Ay} (the number that
     * minimizes {@code ||A y - theta y||}), each residual {@code ||A y - theta y||}. One product per vector.
     *
     * @param norm a lower estimate of {@code ||A||} for the convergence rule (the values' magnitudes also count)
     */
    static Eigenpairs eigenpairs(LinearOperator a, double[][] ys, Eigenpairs.Which which, double norm, double tolerance,
                                 SpectralMethod method, int products) {
        int k = ys.length;
        double[] rho = new double[k];
        double[] res = new double[k];
        for (int i = 0; i < k; i++) {
            double[] ay = a.apply(ys[i]);
            rho[i] = Vectors.dot(ys[i], ay);
            res[i] = Vectors.residual(ay, rho[i], ys[i]);
        }
        Integer[] order = which.order(rho);
        double[] values = permute(rho, order);
        double[] residuals = permute(res, order);
        return new Eigenpairs(values, residuals, flags(values, residuals, Math.max(norm, Convergence.norm(rho)), tolerance),
                permute(ys, order), which, method, products);
    }

    /**
     * Singular triples from unit candidate vectors {@code us[i]} (range) and {@code vs[i]} (domain): each value is
     * {@code u.Av} (the sign of u flipped when that is negative), each residual
     * {@code sqrt((||Av - sigma u||^2 + ||A^T u - sigma v||^2) / 2)}; descending. Two products per triple.
     */
    static SingularValues singularValues(LinearOperator a, double[][] us, double[][] vs, double norm, double tolerance,
                                         SpectralMethod method, int products) {
        int k = us.length;
        double[] sigma = new double[k];
        double[] res = new double[k];
        for (int i = 0; i < k; i++) {
            double[] av = a.apply(vs[i]);
            double[] atu = a.applyTranspose(us[i]);
            sigma[i] = Vectors.dot(us[i], av);
            if (sigma[i] < 0) {
                Vectors.scale(us[i], -1);
                Vectors.scale(atu, -1);
                sigma[i] = -sigma[i];
            }
            double left = Vectors.residual(av, sigma[i], us[i]);
            double right = Vectors.residual(atu, sigma[i], vs[i]);
            res[i] = Math.sqrt((left * left + right * right) / 2);
        }
        Integer[] order = Eigenpairs.Which.LARGEST.order(sigma);
        double[] values = permute(sigma, order);
        double[] residuals = permute(res, order);
        return new SingularValues(values, residuals, flags(values, residuals, Math.max(norm, Convergence.norm(sigma)), tolerance),
                permute(us, order), permute(vs, order), method, products);
    }

    /** The convergence flag of each value. */
    private static boolean[] flags(double[] values, double[] residuals, double norm, double tolerance) {
        boolean[] c = new boolean[values.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = Convergence.met(residuals[i], values[i], norm, tolerance);
        }
        return c;
    }

    private static double[] permute(double[] a, Integer[] order) {
        double[] r = new double[order.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[order[i]];
        }
        return r;
    }

    private static double[][] permute(double[][] a, Integer[] order) {
        double[][] r = new double[order.length][];
        for (int i = 0; i < r.length; i++) {
            r[i] = a[order[i]];
        }
        return r;
    }
}

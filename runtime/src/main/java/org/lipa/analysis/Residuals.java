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
        double scale = Math.max(norm, Convergence.norm(rho));
        Integer[] order = which.order(rho);
        double[] values = new double[k];
        double[] residuals = new double[k];
        boolean[] converged = new boolean[k];
        double[][] vectors = new double[k][];
        for (int i = 0; i < k; i++) {
            int o = order[i];
            values[i] = rho[o];
            residuals[i] = res[o];
            converged[i] = Convergence.met(res[o], rho[o], scale, tolerance);
            vectors[i] = ys[o];
        }
        return new Eigenpairs(values, residuals, converged, vectors, which, method, products);
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
        double scale = Math.max(norm, Convergence.norm(sigma));
        Integer[] order = Eigenpairs.Which.LARGEST.order(sigma);
        double[] values = new double[k];
        double[] residuals = new double[k];
        boolean[] converged = new boolean[k];
        double[][] left = new double[k][];
        double[][] right = new double[k][];
        for (int i = 0; i < k; i++) {
            int o = order[i];
            values[i] = sigma[o];
            residuals[i] = res[o];
            converged[i] = Convergence.met(res[o], sigma[o], scale, tolerance);
            left[i] = us[o];
            right[i] = vs[o];
        }
        return new SingularValues(values, residuals, converged, left, right, method, products);
    }
}

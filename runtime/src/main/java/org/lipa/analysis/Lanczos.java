package org.lipa.analysis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The top-k singular values of a {@link LinearOperator} by Golub-Kahan-Lanczos bidiagonalization with
 * full reorthogonalization. After j steps {@code A V_j = U_j B_j} with {@code B_j} upper bidiagonal; the
 * singular values of {@code B_j} approximate the largest of A, and the residual of the i-th is
 * {@code beta_j |last component of B_j's i-th right singular vector|}. Steps continue until the top k
 * residuals fall below {@code tolerance * sigma_i}, the dimension is exhausted, or the cap is reached.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Lanczos {
    private Lanczos() {
    }

    /**
     * @param sigma      the top singular values found, largest first
     * @param residuals  their residual bounds
     * @param steps      bidiagonalization steps taken
     * @param converged  whether every residual met the tolerance
     */
    public record Result(double[] sigma, double[] residuals, int steps, boolean converged) {
    }

    public static Result run(LinearOperator op, int k, double tolerance, int maxSteps, long seed) {
        int n = Spectral.size(op.domain());
        int m = Spectral.size(op.range());
        if (k < 1 || k > Math.min(n, m)) {
            throw new IllegalArgumentException("k must be in [1, " + Math.min(n, m) + "], got " + k);
        }
        if (!(tolerance > 0) || maxSteps < k) {
            throw new IllegalArgumentException("tolerance must be > 0 and maxSteps >= k, got " + tolerance + ", " + maxSteps);
        }
        AnalysisEvent event = new AnalysisEvent();
        event.begin();
        Result r = iterate(op, k, tolerance, maxSteps, seed, n, m);
        event.method = "lanczos";
        event.iterations = r.steps();
        event.converged = r.converged();
        event.commit();
        return r;
    }

    private static Result iterate(LinearOperator op, int k, double tolerance, int maxSteps, long seed, int n, int m) {
        int cap = Math.min(maxSteps, Math.min(n, m));
        List<double[]> vs = new ArrayList<>();
        List<double[]> us = new ArrayList<>();
        List<Double> alphas = new ArrayList<>();
        List<Double> betas = new ArrayList<>();
        double[] v = Spectral.randomUnit(n, seed);
        double[] u = Spectral.apply(op, v);
        double alpha = Spectral.norm(u);
        Spectral.scale(u, alpha == 0 ? 0 : 1 / alpha);
        vs.add(v);
        us.add(u);
        alphas.add(alpha);
        Result last = null;
        for (int j = 1; j <= cap; j++) {
            double[] w = Spectral.applyTranspose(op, us.get(j - 1));
            Spectral.axpy(w, alphas.get(j - 1), vs.get(j - 1));
            for (double[] q : vs) { // full reorthogonalization, twice is enough
                Spectral.axpy(w, Spectral.dot(w, q), q);
            }
            for (double[] q : vs) {
                Spectral.axpy(w, Spectral.dot(w, q), q);
            }
            double beta = Spectral.norm(w);
            last = ritz(alphas, betas, beta, k, tolerance);
            if (j >= k && (last.converged() || j == cap || beta < 1e-14 * alphas.get(0))) {
                return new Result(last.sigma(), last.residuals(), j, last.converged() || beta < 1e-14 * alphas.get(0));
            }
            Spectral.scale(w, 1 / beta);
            double[] z = Spectral.apply(op, w);
            Spectral.axpy(z, beta, us.get(j - 1));
            for (double[] q : us) {
                Spectral.axpy(z, Spectral.dot(z, q), q);
            }
            for (double[] q : us) {
                Spectral.axpy(z, Spectral.dot(z, q), q);
            }
            double a = Spectral.norm(z);
            Spectral.scale(z, a == 0 ? 0 : 1 / a);
            vs.add(w);
            us.add(z);
            betas.add(beta);
            alphas.add(a);
        }
        return last;
    }

    /**
     * Singular values of the j x j bidiagonal B and their residual bounds. From
     * {@code A^T U_j = V_j B^T + beta v_{j+1} e_j^T}, a Ritz triple's residual is {@code beta |x_i[j-1]|}
     * with {@code x_i} B's left singular vector, the right singular vector of {@code B^T}.
     */
    private static Result ritz(List<Double> alphas, List<Double> betas, double nextBeta, int k, double tolerance) {
        int j = alphas.size();
        double[] bt = new double[j * j];
        for (int i = 0; i < j; i++) {
            bt[i * j + i] = alphas.get(i);
            if (i + 1 < j) {
                bt[(i + 1) * j + i] = betas.get(i);
            }
        }
        DenseSvd svd = DenseSvd.of(bt, j, j);
        double[] s = svd.singularValues();
        int top = Math.min(k, j);
        double[] res = new double[top];
        boolean ok = j >= k;
        for (int i = 0; i < top; i++) {
            res[i] = Math.abs(nextBeta * svd.rightVector(i)[j - 1]);
            ok &= res[i] <= tolerance * s[i];
        }
        return new Result(Arrays.copyOf(s, top), res, j, ok);
    }
}

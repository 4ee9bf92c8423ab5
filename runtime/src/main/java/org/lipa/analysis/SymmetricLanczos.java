package org.lipa.analysis;

import java.util.Random;

/**
 * Eigenpairs of a symmetric operator by the Lanczos process ({@link LanczosProcess}): steps until the k wanted
 * Ritz values' residual estimates {@code ||w|| |s_j|} meet the tolerance (as {@link Schedule} decides), then
 * measures the residuals with the operator ({@link Residuals}). Behind {@link Lanczos#eigenpairs}.
 */
final class SymmetricLanczos {
    private SymmetricLanczos() {
    }

    static Eigenpairs run(LinearOperator a, int k, Eigenpairs.Which which, Lanczos.Options o) {
        int n = a.domainSize();
        Random rnd = new Random(o.seed());
        LanczosProcess p = new LanczosProcess(a, Math.min(o.maxSteps(), n), () -> Probe.GAUSSIAN.draw(rnd, n));
        Schedule schedule = new Schedule();
        int checks = 0; // products spent measuring residuals
        while (true) {
            p.step();
            int j = p.size();
            boolean last = p.full();
            if (j % 10 == 0) {
                o.progress().accept("Lanczos step " + j + " of at most " + Math.min(o.maxSteps(), n));
            }
            if (j < k || !schedule.due(j, last)) {
                continue;
            }
            Dense.Eigen t = Dense.tridiagonalEigen(p.alphas(), p.betas());
            double norm = Convergence.norm(t.values());
            Integer[] order = which.order(t.values());
            double coupling = p.residualNorm();
            boolean estimated = true;
            for (int i = 0; i < k; i++) {
                double[] s = t.vectors()[order[i]];
                double estimate = coupling * Math.abs(s[j - 1]);
                estimated &= Convergence.met(estimate / schedule.trust(), t.values()[order[i]], norm, o.tolerance());
            }
            if (estimated || last) {
                double[][] ys = new double[k][];
                for (int i = 0; i < k; i++) {
                    ys[i] = p.vector(t.vectors()[order[i]]);
                }
                checks += k;
                Eigenpairs e = Residuals.eigenpairs(a, ys, which, norm, o.tolerance(), SpectralMethod.LANCZOS, j + checks);
                if (e.allConverged() || last || schedule.refuted()) {
                    o.progress().accept("Lanczos: " + j + " steps, " + (e.allConverged() ? "converged" : "not converged"));
                    return e;
                }
            }
        }
    }
}

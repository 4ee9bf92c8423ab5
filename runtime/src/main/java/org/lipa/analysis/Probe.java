package org.lipa.analysis;

import java.util.Random;

/**
 * The random vectors of the stochastic estimators: Rademacher signs (PyHessian's choice for Hutchinson and
 * SLQ: the smallest variance of {@code z.Az} among i.i.d. probes with {@code E[z z^T] = I}) or standard
 * normal draws.
 *
 * <pre>{@code
 * double[] z = Probe.RADEMACHER.draw(new Random(seed), n);   // entries +-1
 * }</pre>
 *
 * <p>Thread safety: an enum, immutable.
 */
public enum Probe {
    RADEMACHER, GAUSSIAN;

    /** A vector of n independent draws from {@code rnd} (not normalized). */
    public double[] draw(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = this == RADEMACHER ? (rnd.nextBoolean() ? 1 : -1) : rnd.nextGaussian();
        }
        return v;
    }
}

package org.lipa.models.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * The spectral density of a symmetric operator by stochastic Lanczos quadrature (SLQ), as PyHessian's
 * {@code density} (Ghorbani, Krishnan and Xiao, "An Investigation into Neural Net Optimization via
 * Hessian Eigenvalue Density", 2019). Each run starts Lanczos from a random unit vector v; the m x m
 * tridiagonal's eigenvalues (Ritz values) are the nodes and the squared first components of its
 * eigenvectors the weights of a Gauss quadrature for the measure {@code sum_i (v.u_i)^2 delta(lambda_i)},
 * whose expectation over v is the density {@code (1/n) sum_i delta(lambda_i)}. Hence
 * {@code sum_j w_j theta_j^p} estimates {@code tr(A^p) / n}, exactly for v's own measure when
 * {@code 2m - 1 >= p}.
 *
 * <pre>{@code
 * HessianDensity d = HessianDensity.slq(op, 10, 100, SymmetricSpectrum.Probe.RADEMACHER, 0, s -> {});
 * HessianDensity.Curve c = d.smooth(1e-5, 10_000);     // c.grid(), c.density(): integrates to 1
 * double meanEigenvalue = d.moment(1);                  // about tr(H) / n
 * }</pre>
 *
 * @param nodes   per run, the Ritz values (ascending)
 * @param weights per run, the quadrature weights of the nodes (each run's weights sum to 1)
 */
public record HessianDensity(double[][] nodes, double[][] weights) {
    /** Lanczos stops early when its new direction is this small relative to the largest |A v| seen: an invariant subspace. */
    private static final double BREAKDOWN = 1e-10;

    public HessianDensity {
        if (nodes.length == 0 || nodes.length != weights.length) {
            throw new IllegalArgumentException("nodes and weights: expected the same positive number of runs, got " + nodes.length
                    + " and " + weights.length);
        }
        for (int r = 0; r < nodes.length; r++) {
            if (nodes[r].length != weights[r].length) {
                throw new IllegalArgumentException("run " + r + ": " + nodes[r].length + " nodes but " + weights[r].length + " weights");
            }
        }
    }

    /**
     * Runs SLQ: {@code runs} Lanczos processes of {@code min(steps, n)} steps from seeded random unit
     * vectors, with full reorthogonalization against every earlier Lanczos vector (twice), which keeps
     * Ritz values from repeating (ghosts) at the price of storing the m vectors. When the Krylov space is
     * exhausted (a zero new direction, e.g. for repeated eigenvalues) the process continues, as PyHessian
     * does, from a random vector orthogonal to all earlier ones, with a zero coupling in the tridiagonal.
     *
     * @throws IllegalArgumentException when runs or steps is below 1
     */
    public static HessianDensity slq(SymmetricSpectrum.Operator a, int runs, int steps, SymmetricSpectrum.Probe probe, long seed,
                                     Consumer<String> progress) {
        if (runs < 1 || steps < 1) {
            throw new IllegalArgumentException("runs and steps must be at least 1, got " + runs + ", " + steps);
        }
        Random rnd = new Random(seed);
        double[][] nodes = new double[runs][];
        double[][] weights = new double[runs][];
        for (int r = 0; r < runs; r++) {
            Tridiagonal.Eigen e = lanczos(a, Math.min(steps, a.dimension()), probe, rnd, progress, r);
            nodes[r] = e.values();
            double[] f = e.firstComponents();
            weights[r] = new double[f.length];
            for (int j = 0; j < f.length; j++) {
                weights[r][j] = f[j] * f[j];
            }
            progress.accept("density: run " + (r + 1) + " of " + runs + ", Ritz values in [" + nodes[r][0] + ", "
                    + nodes[r][nodes[r].length - 1] + "]");
        }
        return new HessianDensity(nodes, weights);
    }

    /** Per run, {@code sum_j w_j theta_j^p}: an estimate of {@code v.A^p v} and, in expectation, of {@code tr(A^p) / n}. */
    public double[] momentPerRun(int p) {
        double[] m = new double[nodes.length];
        for (int r = 0; r < nodes.length; r++) {
            for (int j = 0; j < nodes[r].length; j++) {
                m[r] += weights[r][j] * Math.pow(nodes[r][j], p);
            }
        }
        return m;
    }

    /** The mean over runs of {@link #momentPerRun}: the SLQ estimate of {@code tr(A^p) / n}. */
    public double moment(int p) {
        double s = 0;
        for (double m : momentPerRun(p)) {
            s += m;
        }
        return s / nodes.length;
    }

    /** The smallest and the largest node over all runs. */
    public double[] range() {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] run : nodes) {
            lo = Math.min(lo, run[0]);
            hi = Math.max(hi, run[run.length - 1]);
        }
        return new double[] {lo, hi};
    }

    /**
     * A density on a grid.
     *
     * @param grid     evenly spaced eigenvalues
     * @param density  the smoothed density at each; its Riemann sum times the spacing is 1
     * @param variance the variance of the Gaussian kernel used
     * @param mass     the Riemann sum before normalization (1 up to the tails cut off and the grid's resolution)
     */
    public record Curve(double[] grid, double[] density, double variance, double mass) {
    }

    /**
     * The density smoothed by a Gaussian kernel, as PyHessian's {@code density_generate}: the kernel's
     * variance is {@code sigmaSquared * max(1, range)} where range is the spread of the nodes (PyHessian's
     * default {@code sigmaSquared} is 1e-5: a standard deviation of about 0.3% of a spread of 100), but never
     * narrower than one grid spacing, so that every node shows on the grid. The grid spans the nodes plus
     * {@code 0.01 * max(1, range)} (PyHessian's margin is 0.01) and five kernel deviations on each side;
     * runs are averaged and the result normalized to integrate to 1 on the grid.
     *
     * @throws IllegalArgumentException when sigmaSquared is not positive or points is below 2
     */
    public Curve smooth(double sigmaSquared, int points) {
        if (!(sigmaSquared > 0) || points < 2) {
            throw new IllegalArgumentException("sigmaSquared must be > 0 and points >= 2, got " + sigmaSquared + ", " + points);
        }
        double[] lohi = range();
        double spread = Math.max(1, lohi[1] - lohi[0]);
        double sd = Math.sqrt(sigmaSquared * spread);
        double pad = 0.01 * spread + 5 * sd;
        double lo = lohi[0] - pad;
        double step = (lohi[1] + pad - lo) / (points - 1);
        sd = Math.max(sd, step);
        double[] grid = new double[points];
        for (int i = 0; i < points; i++) {
            grid[i] = lo + i * step;
        }
        double[] density = new double[points];
        double norm = 1 / (Math.sqrt(2 * Math.PI) * sd * nodes.length);
        for (int r = 0; r < nodes.length; r++) {
            for (int j = 0; j < nodes[r].length; j++) {
                double w = weights[r][j] * norm;
                if (w == 0) {
                    continue;
                }
                // the kernel is below 1e-300 of its peak beyond 37 deviations: only the grid points near the node
                int from = Math.max(0, (int) Math.floor((nodes[r][j] - 37 * sd - lo) / step));
                int to = Math.min(points - 1, (int) Math.ceil((nodes[r][j] + 37 * sd - lo) / step));
                for (int i = from; i <= to; i++) {
                    double z = (grid[i] - nodes[r][j]) / sd;
                    density[i] += w * Math.exp(-0.5 * z * z);
                }
            }
        }
        double mass = 0;
        for (double d : density) {
            mass += d * step;
        }
        if (mass > 0) {
            for (int i = 0; i < points; i++) {
                density[i] /= mass;
            }
        }
        return new Curve(grid, density, sd * sd, mass);
    }

    private static Tridiagonal.Eigen lanczos(SymmetricSpectrum.Operator a, int m, SymmetricSpectrum.Probe probe, Random rnd,
                                             Consumer<String> progress, int run) {
        int n = a.dimension();
        double[][] q = new double[m][];
        double[] alpha = new double[m];
        double[] beta = new double[m - 1];
        q[0] = probe.draw(rnd, n);
        SymmetricSpectrum.orthonormalize(q[0], q, 0);
        double[] w = a.apply(q[0]);
        double scale = SymmetricSpectrum.norm(w);
        alpha[0] = SymmetricSpectrum.dot(w, q[0]);
        SymmetricSpectrum.axpy(w, -alpha[0], q[0]);
        for (int i = 1; i < m; i++) {
            SymmetricSpectrum.orthogonalize(w, q, i); // full reorthogonalization
            double b = SymmetricSpectrum.norm(w);
            if (b <= BREAKDOWN * scale) {
                w = probe.draw(rnd, n);
                SymmetricSpectrum.orthonormalize(w, q, i);
                b = 0;
            } else {
                SymmetricSpectrum.scale(w, 1 / b);
            }
            q[i] = w;
            beta[i - 1] = b;
            w = a.apply(q[i]);
            scale = Math.max(scale, SymmetricSpectrum.norm(w));
            alpha[i] = SymmetricSpectrum.dot(w, q[i]);
            SymmetricSpectrum.axpy(w, -alpha[i], q[i]);
            if (b != 0) {
                SymmetricSpectrum.axpy(w, -b, q[i - 1]);
            }
            if (i % 10 == 0) {
                progress.accept("density: run " + (run + 1) + ", Lanczos step " + i + " of " + m);
            }
        }
        return Tridiagonal.eigen(alpha, beta);
    }
}

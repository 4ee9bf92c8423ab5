package org.lipa.analysis;

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
 * {@code 2m - 1 >= p}. The operator is assumed symmetric (a loss Hessian, {@link LinearOperator#symmetric}).
 *
 * <pre>{@code
 * SpectralDensity d = SpectralDensity.slq(op, 10, 100, Probe.RADEMACHER, 0, s -> {});
 * SpectralDensity.Curve c = d.smooth(1e-5, 10_000);     // c.grid(), c.density(): integrates to 1
 * double meanEigenvalue = d.moment(1);                   // about tr(H) / n
 * }</pre>
 *
 * <p>Thread safety: immutable once made; {@link #slq} is safe to call from any number of threads on thread-safe operators.
 *
 * @param nodes   per run, the Ritz values (ascending)
 * @param weights per run, the quadrature weights of the nodes (each run's weights sum to 1)
 */
public record SpectralDensity(double[][] nodes, double[][] weights) {
    public SpectralDensity {
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
     * Runs SLQ: {@code runs} Lanczos processes of {@code min(steps, n)} steps, each from a seeded random
     * {@code probe} vector (normalized), with full reorthogonalization against every earlier Lanczos vector
     * (twice), which keeps Ritz values from repeating (ghosts) at the price of storing the m vectors. When the
     * Krylov space is exhausted (a zero new direction, e.g. for repeated eigenvalues) the process continues, as
     * PyHessian does, from a random probe orthogonal to all earlier vectors, with a zero coupling in the
     * tridiagonal (see the shared process behind {@link Lanczos#eigenpairs}).
     *
     * @throws IllegalArgumentException when a is not square or runs or steps is below 1
     */
    public static SpectralDensity slq(LinearOperator a, int runs, int steps, Probe probe, long seed, Consumer<String> progress) {
        if (runs < 1 || steps < 1) {
            throw new IllegalArgumentException("runs and steps must be at least 1, got " + runs + ", " + steps);
        }
        int n = a.domainSize();
        if (a.rangeSize() != n) {
            throw new IllegalArgumentException("a: a symmetric operator is square, got " + a.rangeSize() + " x " + n);
        }
        Random rnd = new Random(seed);
        double[][] nodes = new double[runs][];
        double[][] weights = new double[runs][];
        for (int r = 0; r < runs; r++) {
            LanczosProcess p = new LanczosProcess(a, Math.min(steps, n), () -> probe.draw(rnd, n));
            while (!p.full()) {
                p.step();
                if (p.size() % 10 == 0) {
                    progress.accept("density: run " + (r + 1) + ", Lanczos step " + p.size() + " of " + Math.min(steps, n));
                }
            }
            Dense.Eigen e = Dense.tridiagonalEigen(p.alphas(), p.betas());
            nodes[r] = e.values();
            weights[r] = new double[nodes[r].length];
            for (int j = 0; j < weights[r].length; j++) {
                double first = e.vectors()[j][0]; // Gauss quadrature: the squared first component of each eigenvector
                weights[r][j] = first * first;
            }
            progress.accept("density: run " + (r + 1) + " of " + runs + ", Ritz values in [" + nodes[r][0] + ", "
                    + nodes[r][nodes[r].length - 1] + "]");
        }
        return new SpectralDensity(nodes, weights);
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

    /**
     * The standard error of {@link #moment}: the runs' standard deviation over the square root of their number
     * (the runs are independent probes); NaN for a single run, which gives no error estimate.
     */
    public double momentStandardError(int p) {
        double[] m = momentPerRun(p);
        if (m.length < 2) {
            return Double.NaN;
        }
        double mean = moment(p);
        double ss = 0;
        for (double x : m) {
            ss += (x - mean) * (x - mean);
        }
        return Math.sqrt(ss / (m.length - 1) / m.length);
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
}

package org.lipa.models.analysis;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Matrix-free spectral estimates of a symmetric operator known only through products {@code v -> A v}:
 * the top eigenpairs by power iteration with deflation and the trace by Hutchinson's estimator, as
 * PyHessian computes them for a Hessian (Yao et al., "PyHessian: Neural Networks Through the Lens of the
 * Hessian", 2020). {@link Hessian} applies them to a loss; tests apply them to explicit matrices.
 *
 * <pre>{@code
 * SymmetricSpectrum.Operator a = SymmetricSpectrum.Operator.of(matrix);
 * SymmetricSpectrum.Eigenpairs top = SymmetricSpectrum.powerIteration(a, 3, 1e-3, 100, 0, s -> {});
 * SymmetricSpectrum.TraceEstimate tr = SymmetricSpectrum.hutchinson(a, 1e-3, 100, 0, s -> {});
 * }</pre>
 */
public final class SymmetricSpectrum {
    /** PyHessian's guard in relative changes, so that an estimate near zero does not divide by zero. */
    static final double GUARD = 1e-6;

    private SymmetricSpectrum() {
    }

    /** A symmetric linear map of {@code R^n}, given by its products. */
    public interface Operator {
        int dimension();

        /** {@code A v}; must not modify {@code v}. */
        double[] apply(double[] v);

        /** The operator of an explicit symmetric matrix (row-major, {@code n x n}). */
        static Operator of(double[][] a) {
            int n = a.length;
            for (double[] row : a) {
                if (row.length != n) {
                    throw new IllegalArgumentException("a: expected a square matrix, got a row of " + row.length + " in " + n + " rows");
                }
            }
            return new Operator() {
                @Override
                public int dimension() {
                    return n;
                }

                @Override
                public double[] apply(double[] v) {
                    double[] r = new double[n];
                    for (int i = 0; i < n; i++) {
                        r[i] = dot(a[i], v);
                    }
                    return r;
                }
            };
        }
    }

    /** The random starting vectors of Hutchinson and Lanczos: signs (PyHessian's choice) or normal draws. */
    public enum Probe {
        RADEMACHER, GAUSSIAN;

        /** A vector of n independent draws (not normalized). */
        public double[] draw(Random rnd, int n) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = this == RADEMACHER ? (rnd.nextBoolean() ? 1 : -1) : rnd.nextGaussian();
            }
            return v;
        }
    }

    /**
     * @param values     eigenvalue estimates (Rayleigh quotients), in the order found: by decreasing magnitude
     * @param vectors    unit eigenvector estimates, {@code vectors[j]} for {@code values[j]}
     * @param iterations products spent on each
     * @param converged  whether each met the tolerance before the cap
     */
    public record Eigenpairs(double[] values, double[][] vectors, int[] iterations, boolean[] converged) {
    }

    /**
     * The k eigenvalues of largest magnitude by power iteration with deflation, as PyHessian's
     * {@code eigenvalues}: a Gaussian start; each step orthogonalizes v against the eigenvectors already
     * found (deflation: the operator seen is A restricted to their complement), sets
     * {@code lambda = v.Av} and {@code v = Av / |Av|}, and stops when lambda changes by less than
     * {@code tol} relatively ({@code |lambda - previous| / (|previous| + 1e-6)}) or after {@code maxIter}
     * products.
     *
     * <p>Power iteration converges to the eigenvalue of largest <em>absolute</em> value, so a negative
     * eigenvalue is found first when it dominates in magnitude; when the two largest magnitudes are close
     * (in particular {@code +lambda} and {@code -lambda}) it converges slowly and may stop at the cap
     * (flagged by {@code converged}).
     *
     * @throws IllegalArgumentException when k is outside [1, n], tol is negative or maxIter is below 1
     */
    public static Eigenpairs powerIteration(Operator a, int k, double tol, int maxIter, long seed, Consumer<String> progress) {
        int n = a.dimension();
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k must be in [1, " + n + "], got " + k);
        }
        checkStopping(tol, maxIter);
        Random rnd = new Random(seed);
        double[] values = new double[k];
        double[][] vectors = new double[k][];
        int[] iterations = new int[k];
        boolean[] converged = new boolean[k];
        for (int j = 0; j < k; j++) {
            double[] v = Probe.GAUSSIAN.draw(rnd, n);
            double lambda = 0;
            int it = 0;
            boolean done = false;
            while (!done && it < maxIter) {
                it++;
                orthonormalize(v, vectors, j);
                double[] av = a.apply(v);
                double next = dot(av, v);
                double norm = norm(av);
                done = it > 1 && Math.abs(next - lambda) / (Math.abs(lambda) + GUARD) < tol;
                lambda = next;
                if (norm == 0) { // v lies in the null space: an eigenvector of eigenvalue 0
                    done = true;
                    break;
                }
                scale(av, 1 / norm);
                v = av;
                if (it % 10 == 0) {
                    progress.accept("eigenvalue " + (j + 1) + ": iteration " + it + ", " + lambda);
                }
            }
            orthonormalize(v, vectors, j);
            values[j] = lambda;
            vectors[j] = v;
            iterations[j] = it;
            converged[j] = done;
            progress.accept("eigenvalue " + (j + 1) + " = " + lambda + " after " + it + " products" + (done ? "" : " (not converged)"));
        }
        return new Eigenpairs(values, vectors, iterations, converged);
    }

    /**
     * @param trace         the mean of the samples
     * @param samples       each {@code z.Az} for a Rademacher z
     * @param standardError the samples' standard deviation over the square root of their number
     * @param converged     whether the running mean met the tolerance before the cap
     */
    public record TraceEstimate(double trace, double[] samples, double standardError, boolean converged) {
    }

    /**
     * Hutchinson's trace estimator with Rademacher vectors, as PyHessian's {@code trace}: {@code E[z.Az] = tr A}
     * with variance {@code 2 sum_{i != j} A_ij^2} per sample (zero when A is diagonal). Samples are drawn
     * until the running mean changes by less than {@code tol} relatively, but at least two (so that there
     * is a standard error), or until {@code maxIter}; {@code tol = 0} always draws {@code maxIter}.
     *
     * @throws IllegalArgumentException when tol is negative or maxIter is below 2
     */
    public static TraceEstimate hutchinson(Operator a, double tol, int maxIter, long seed, Consumer<String> progress) {
        checkStopping(tol, maxIter);
        if (maxIter < 2) {
            throw new IllegalArgumentException("maxIter must be at least 2 for a standard error, got " + maxIter);
        }
        Random rnd = new Random(seed);
        int n = a.dimension();
        double[] samples = new double[maxIter];
        double mean = 0;
        double m2 = 0; // Welford: sum of squared deviations
        int count = 0;
        boolean done = false;
        while (!done && count < maxIter) {
            double[] z = Probe.RADEMACHER.draw(rnd, n);
            double s = dot(a.apply(z), z);
            samples[count++] = s;
            double previous = mean;
            mean += (s - mean) / count;
            m2 += (s - previous) * (s - mean);
            done = count >= 2 && Math.abs(mean - previous) / (Math.abs(previous) + GUARD) < tol;
            if (count % 10 == 0) {
                progress.accept("trace: " + count + " samples, " + mean);
            }
        }
        double error = Math.sqrt(m2 / (count - 1) / count);
        progress.accept("trace = " + mean + " +- " + error + " after " + count + " samples" + (done ? "" : " (not converged)"));
        return new TraceEstimate(mean, Arrays.copyOf(samples, count), error, done);
    }

    static void checkStopping(double tol, int maxIter) {
        if (!(tol >= 0)) {
            throw new IllegalArgumentException("tol must be >= 0, got " + tol);
        }
        if (maxIter < 1) {
            throw new IllegalArgumentException("maxIter must be at least 1, got " + maxIter);
        }
    }

    /** Orthogonalizes v against {@code basis[0..count)}, then normalizes it (a zero vector stays zero). */
    static void orthonormalize(double[] v, double[][] basis, int count) {
        orthogonalize(v, basis, count);
        double norm = norm(v);
        if (norm > 0) {
            scale(v, 1 / norm);
        }
    }

    /** Removes from v its components along {@code basis[0..count)}, in two passes ("twice is enough" to stay orthogonal in floating point). */
    static void orthogonalize(double[] v, double[][] basis, int count) {
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < count; i++) {
                axpy(v, -dot(v, basis[i]), basis[i]);
            }
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    /** y += s * x. */
    static void axpy(double[] y, double s, double[] x) {
        for (int i = 0; i < y.length; i++) {
            y[i] += s * x[i];
        }
    }

    static void scale(double[] y, double s) {
        for (int i = 0; i < y.length; i++) {
            y[i] *= s;
        }
    }
}

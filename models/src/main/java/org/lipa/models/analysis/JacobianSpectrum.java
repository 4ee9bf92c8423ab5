package org.lipa.models.analysis;

import java.util.Arrays;
import java.util.List;
import org.lipa.analysis.Dense;

/**
 * Singular values of a network's input-output Jacobian at a few inputs, and the summaries that tell dynamical
 * isometry (all singular values near 1, Pennington et al. 2017) from a spread spectrum. Each summary is computed per
 * input and averaged over the inputs.
 *
 * <pre>{@code
 * JacobianSpectrum s = flow.jacobian(arena, params, x, 4);
 * double q = s.meanSquared();              // ~1: the squared norm of a random direction is kept on average
 * double f = s.fractionWithin(0.5, 2);     // ~1: every direction is kept (isometry)
 * }</pre>
 *
 * @param singularValues per input, the singular values in descending order
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record JacobianSpectrum(List<double[]> singularValues) {
    public JacobianSpectrum {
        if (singularValues.isEmpty()) {
            throw new IllegalArgumentException("singularValues: no input");
        }
        singularValues = singularValues.stream().map(double[]::clone).toList();
    }

    /** Singular values, descending, of the row-major {@code rows x cols} matrix {@code a}. */
    public static double[] singularValues(double[] a, int rows, int cols) {
        return Dense.singularValues(a, rows, cols);
    }

    /** The mean of sigma^2 (the Jacobian's squared Frobenius norm over its size): 1 when norms are kept on average. */
    public double meanSquared() {
        return average(s -> Arrays.stream(s).map(v -> v * v).average().orElseThrow());
    }

    /** The largest singular value. */
    public double max() {
        return average(s -> s[0]);
    }

    /** The smallest singular value. */
    public double min() {
        return average(s -> s[s.length - 1]);
    }

    /** The fraction of singular values in {@code [lo, hi]}. */
    public double fractionWithin(double lo, double hi) {
        if (!(lo <= hi)) {
            throw new IllegalArgumentException("fractionWithin: need lo <= hi, got " + lo + ", " + hi);
        }
        return average(s -> Arrays.stream(s).filter(v -> v >= lo && v <= hi).count() / (double) s.length);
    }

    /** The standard deviation of log(sigma) (natural log): 0 for an isometry, growing as the spectrum spreads; zero singular values count as the smallest positive double. */
    public double logSpread() {
        return average(s -> {
            double[] l = Arrays.stream(s).map(v -> Math.log(Math.max(v, Double.MIN_NORMAL))).toArray();
            double mean = Arrays.stream(l).average().orElseThrow();
            return Math.sqrt(Arrays.stream(l).map(v -> (v - mean) * (v - mean)).average().orElseThrow());
        });
    }

    /** Every input's singular values in one descending array (for histograms). */
    public double[] pooled() {
        double[] all = singularValues.stream().flatMapToDouble(Arrays::stream).toArray();
        Arrays.sort(all);
        for (int i = 0; i < all.length / 2; i++) {
            double t = all[i];
            all[i] = all[all.length - 1 - i];
            all[all.length - 1 - i] = t;
        }
        return all;
    }

    private double average(java.util.function.ToDoubleFunction<double[]> f) {
        return singularValues.stream().mapToDouble(f).average().orElseThrow();
    }
}

package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Where the lower-bound search starts and how it jitters: seeded random inputs at several scales, and
 * random steps of several radii around the best points found.
 *
 * <p>Thread safety: stateless static methods; the randomness comes from the caller's seeded generator.
 */
final class StartingPoints {
    /**
     * Radii of the random inputs, in units of the network's reference scale: with biases the activation
     * pattern changes with scale, and deeper layers' boundaries can lie far beyond the first layer's
     * (where a deep neuron's bias stops dominating its input), up to the conic regions at infinity.
     */
    private static final double[] SCALES = {1.0 / 16, 1.0 / 4, 1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};
    /** Radii of the perturbations, relative to the larger of the point's norm and the reference scale. */
    private static final double[] RADII = {1e-4, 1e-3, 1e-2, 1e-1, 0.5};
    /** Pool points perturbed. */
    private static final int CENTRES = 4;

    private StartingPoints() {
    }

    /** {@code count} Gaussian directions, the radii cycling through {@link #SCALES} times {@code scale}. */
    static List<double[]> random(int n, int count, double scale, Random random) {
        List<double[]> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(direction(n, SCALES[i % SCALES.length] * scale, random));
        }
        return out;
    }

    /** A Gaussian direction at a radius drawn log-uniformly over {@link #SCALES} times {@code scale}. */
    static double[] anywhere(int n, double scale, Random random) {
        double lo = Math.log(SCALES[0]);
        double hi = Math.log(SCALES[SCALES.length - 1]);
        return direction(n, scale * Math.exp(lo + (hi - lo) * random.nextDouble()), random);
    }

    /** Random steps around the best pool points, cycling through points and radii until the phase's share is used. */
    static void perturb(SearchState state, double scale) {
        List<LocalJacobian> centres = state.pool();
        if (centres.isEmpty()) {
            return;
        }
        int k = 0;
        while (!state.exhausted()) {
            LocalJacobian c = centres.get(k % Math.min(CENTRES, centres.size()));
            double radius = RADII[(k / CENTRES) % RADII.length] * Math.max(Vectors.norm(c.x), scale);
            LocalJacobian p = state.evaluate(state.net, step(c.x, radius, state.random), c.v);
            state.offer(p, LowerBoundSearch.Method.PERTURBATION);
            k++;
        }
    }

    /** x plus a uniformly random direction of length {@code radius}. */
    static double[] step(double[] x, double radius, Random random) {
        return NetKernels.plus(x, 1, direction(x.length, radius, random));
    }

    /** A uniformly random direction of length {@code radius}. */
    static double[] direction(int n, double radius, Random random) {
        double[] g = new double[n];
        for (int i = 0; i < n; i++) {
            g[i] = random.nextGaussian();
        }
        Vectors.scale(g, radius / Vectors.norm(g));
        return g;
    }
}

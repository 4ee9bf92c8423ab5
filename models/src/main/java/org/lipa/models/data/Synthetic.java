package org.lipa.models.data;

import java.util.Random;

/** Synthetic tasks that need nothing to download. Each is seeded. */
public final class Synthetic {
    private Synthetic() {
    }

    /**
     * Two interleaved spirals in the plane (class 0 and 1, {@code n} points each): the classic task a
     * linear model cannot solve. Radius grows with the angle over {@code turns} turns; Gaussian noise of
     * standard deviation {@code noise} is added to each coordinate.
     */
    public static Dataset twoSpirals(int n, double turns, double noise, long seed) {
        if (n <= 0 || turns <= 0 || noise < 0) {
            throw new IllegalArgumentException("twoSpirals needs n > 0, turns > 0, noise >= 0; got " + n + ", " + turns + ", " + noise);
        }
        Random r = new Random(seed);
        float[] x = new float[4 * n];
        int[] y = new int[2 * n];
        for (int i = 0; i < n; i++) {
            double t = (double) i / n * turns * 2 * Math.PI;
            double radius = t / (turns * 2 * Math.PI);
            for (int c = 0; c < 2; c++) {
                int k = 2 * i + c;
                double angle = t + c * Math.PI;
                x[2 * k] = (float) (radius * Math.cos(angle) + noise * r.nextGaussian());
                x[2 * k + 1] = (float) (radius * Math.sin(angle) + noise * r.nextGaussian());
                y[k] = c;
            }
        }
        return new Dataset(x, 2, y, 2);
    }
}

package org.lipa.analysis;

/**
 * Products of a {@link FeedForward}'s row-major weights (layer l is {@code widths[l + 1] x widths[l]}) with
 * vectors, in double precision, on the heap: the network's own passes and every pass of the lower-bound search.
 *
 * <p>Thread safety: stateless static methods.
 */
final class NetKernels {
    private NetKernels() {
    }

    /** {@code W_l x}. */
    static double[] times(FeedForward net, int l, double[] x) {
        double[] w = net.weightView(l);
        int cols = x.length;
        double[] out = new double[w.length / cols];
        for (int i = 0, at = 0; i < out.length; i++, at += cols) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += w[at + j] * x[j];
            }
            out[i] = s;
        }
        return out;
    }

    /** {@code W_l^T g}. */
    static double[] timesTranspose(FeedForward net, int l, double[] g) {
        double[] w = net.weightView(l);
        int cols = w.length / g.length;
        double[] out = new double[cols];
        for (int i = 0, at = 0; i < g.length; i++, at += cols) {
            double gi = g[i];
            if (gi == 0) {
                continue; // dead relu units: their rows contribute nothing
            }
            for (int j = 0; j < cols; j++) {
                out[j] += w[at + j] * gi;
            }
        }
        return out;
    }

    /**
     * {@code W_l^T g_c} for every c at once: each weight row is read once for all the vectors, which
     * keeps it in cache (the rows of a dense Jacobian are computed this way).
     */
    static double[][] timesTranspose(FeedForward net, int l, double[][] g) {
        double[] w = net.weightView(l);
        int rows = g[0].length;
        int cols = w.length / rows;
        double[][] out = new double[g.length][cols];
        for (int i = 0, at = 0; i < rows; i++, at += cols) {
            for (int c = 0; c < g.length; c++) {
                double gi = g[c][i];
                if (gi == 0) {
                    continue;
                }
                double[] o = out[c];
                for (int j = 0; j < cols; j++) {
                    o[j] += w[at + j] * gi;
                }
            }
        }
        return out;
    }

    /** {@code |W_l| x} for a nonnegative x: the magnitudes a rounding-error bound sums. */
    static double[] absTimes(FeedForward net, int l, double[] x) {
        double[] w = net.weightView(l);
        int cols = x.length;
        double[] out = new double[w.length / cols];
        for (int i = 0, at = 0; i < out.length; i++, at += cols) {
            double s = 0;
            for (int j = 0; j < cols; j++) {
                s += Math.abs(w[at + j]) * x[j];
            }
            out[i] = s;
        }
        return out;
    }

    /** a + s b, a new array. */
    static double[] plus(double[] a, double s, double[] b) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] += s * b[i];
        }
        return r;
    }

    static double[] abs(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = Math.abs(a[i]);
        }
        return r;
    }
}

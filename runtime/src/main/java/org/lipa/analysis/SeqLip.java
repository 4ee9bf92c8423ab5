package org.lipa.analysis;

/**
 * SeqLip (Virmaux and Scaman, "Lipschitz regularity of deep neural networks: analysis and efficient
 * estimation", NeurIPS 2018): an ESTIMATE of a feed-forward network's Lipschitz constant, not a bound.
 *
 * <p>With the SVDs {@code A_i = U_i S_i V_i^T} of the layers and the activations' derivatives
 * {@code D_k = diag(sigma_k)}, {@code sigma_k} in {@code [slopeLower, slopeUpper]^n}, the Jacobian splits as
 * {@code ||A_L D_{L-1} ... D_1 A_1|| <= prod_k max_sigma ||S~_{k+1} V_{k+1}^T diag(sigma) U_k S~_k||} with
 * {@code S~ = S^(1/2)} between two activations and the full S at the ends. The product is an upper bound
 * only if each maximum over the {@code 2^n} activation patterns is exact; like the paper's greedy
 * variant, this one finds a local maximum (patterns improved by their first-order gains until a fixed
 * point, each candidate's norm computed by power iteration), so the result is an estimate that can fall
 * below the true constant. Lipa reports it as such.
 *
 * <pre>{@code
 * double estimate = SeqLip.estimate(net);
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class SeqLip {
    private static final int MAX_ROUNDS = 50;

    private SeqLip() {
    }

    /** The SeqLip estimate of {@code net} (at least one hidden layer). */
    public static double estimate(FeedForward net) {
        if (net.layers() < 2) {
            throw new IllegalArgumentException("net: SeqLip needs at least one hidden layer, got " + net.layers() + " layer(s)");
        }
        int[] widths = net.widths();
        Dense.Svd[] svd = new Dense.Svd[net.layers()];
        for (int l = 0; l < net.layers(); l++) {
            svd[l] = Dense.svd(net.weightView(l), widths[l + 1], widths[l]);
        }
        double lo = net.activation().slopeLower();
        double hi = net.activation().slopeUpper();
        double product = 1;
        for (int k = 1; k < net.layers(); k++) {
            // left factor P = S~_{k+1} V_{k+1}^T (rank x n_k), right factor Q = U_k S~_k (n_k x rank)
            boolean first = k == 1;
            boolean last = k + 1 == net.layers();
            Dense.Svd right = svd[k - 1];
            Dense.Svd left = svd[k];
            int n = widths[k];
            double[][] p = new double[left.values().length][];
            for (int r = 0; r < p.length; r++) {
                double s = last ? left.values()[r] : Math.sqrt(left.values()[r]);
                p[r] = scaled(left.right()[r], s);
            }
            double[][] q = new double[right.values().length][]; // q[r] is column r of Q, length n
            for (int r = 0; r < q.length; r++) {
                double s = first ? right.values()[r] : Math.sqrt(right.values()[r]);
                q[r] = scaled(right.left()[r], s);
            }
            product *= maximize(p, q, n, lo, hi);
        }
        return product;
    }

    /** A local maximum over sigma in {lo, hi}^n of ||P diag(sigma) Q||. */
    private static double maximize(double[][] p, double[][] q, int n, double lo, double hi) {
        double[] sigma = new double[n];
        java.util.Arrays.fill(sigma, hi);
        double best = 0;
        double[] v = null;
        for (int round = 0; round < MAX_ROUNDS; round++) {
            double[][] top = topSingular(p, q, sigma, v);
            double value = top[0][0];
            double[] u = top[1];
            v = top[2];
            if (value <= best * (1 + 1e-12) && round > 0) {
                break;
            }
            best = Math.max(best, value);
            // first-order gain of each neuron's slope: (P^T u)_j (Q v)_j
            double[] pu = new double[n];
            for (int r = 0; r < p.length; r++) {
                for (int j = 0; j < n; j++) {
                    pu[j] += p[r][j] * u[r];
                }
            }
            double[] qv = new double[n];
            for (int r = 0; r < q.length; r++) {
                for (int j = 0; j < n; j++) {
                    qv[j] += q[r][j] * v[r];
                }
            }
            boolean changed = false;
            for (int j = 0; j < n; j++) {
                double next = pu[j] * qv[j] >= 0 ? hi : lo;
                changed |= next != sigma[j];
                sigma[j] = next;
            }
            if (!changed) {
                break;
            }
        }
        return best;
    }

    /** {value}, u, v of the top singular triple of M = P diag(sigma) Q, by power iteration from v0. */
    private static double[][] topSingular(double[][] p, double[][] q, double[] sigma, double[] v0) {
        int cols = q.length;
        double[] v = v0 != null ? v0.clone() : new double[cols];
        if (v0 == null) {
            for (int i = 0; i < cols; i++) {
                v[i] = 1 + 0.001 * i;
            }
        }
        Vectors.normalize(v);
        double value = 0;
        double[] u = new double[p.length];
        for (int it = 0; it < 2000; it++) {
            u = through(q, p, sigma, v);
            double s = Vectors.normalize(u);
            double[] w = through(p, q, sigma, u);
            double next = Vectors.normalize(w);
            v = w;
            if (Math.abs(next - value) <= 1e-12 * next) {
                value = Math.max(next, s);
                break;
            }
            value = next;
        }
        return new double[][] {{value}, u, v};
    }

    /**
     * {@code Out diag(sigma) In^T v} where {@code in[r]} and {@code out[r]} are the factors' vectors: with (q, p)
     * it is {@code M v}, with (p, q) {@code M^T u}.
     */
    private static double[] through(double[][] in, double[][] out, double[] sigma, double[] v) {
        int n = sigma.length;
        double[] h = new double[n];
        for (int r = 0; r < in.length; r++) {
            for (int j = 0; j < n; j++) {
                h[j] += in[r][j] * v[r];
            }
        }
        for (int j = 0; j < n; j++) {
            h[j] *= sigma[j];
        }
        double[] result = new double[out.length];
        for (int r = 0; r < out.length; r++) {
            result[r] = Vectors.dot(out[r], h);
        }
        return result;
    }

    private static double[] scaled(double[] a, double s) {
        double[] r = a.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] *= s;
        }
        return r;
    }
}

package org.lipa.models.analysis;

import java.util.List;
import java.util.Random;
import org.lipa.tensor.TensorSpec;

/**
 * Random directions in parameter space scaled filter by filter to the weights (Li et al., 2018,
 * "Visualizing the Loss Landscape of Neural Nets"), so that a step of 1 along a direction moves every
 * filter by about its own size, and plots of networks with different weight scales (batch norm makes the
 * loss invariant to a filter's scale) compare.
 *
 * <p>A <em>filter</em> is a slice along dimension 0 of a parameter of rank 2 or more: a row of a linear
 * weight {@code [out, in]}, an output channel of a convolution weight {@code [out, in, kh, kw]}. The
 * direction's filter {@code d_f} becomes {@code d_f * ||w_f|| / ||d_f||}. Parameters of rank 0 or 1
 * (biases, batch-norm and layer-norm scales and shifts) follow the {@link BiasPolicy}.
 *
 * <pre>{@code
 * Weights w = eval.current();
 * Weights d = Directions.filterNormalized(w, Directions.BiasPolicy.IGNORE, new Random(1));
 * Landscape.Curve c = Landscape.along(eval, w, d, Landscape.grid(-1, 1, 41), Landscape.Progress.NONE);
 * }</pre>
 *
 * <p>Thread safety: stateless static functions; a {@link java.util.Random} shared between threads makes the draws depend on their order.
 */
public final class Directions {
    private Directions() {
    }

    /** What a direction does on parameters of rank 0 or 1. */
    public enum BiasPolicy {
        /** Zero: the plot leaves biases and normalization parameters where they are (Li et al.'s default). */
        IGNORE,
        /** Every element is a filter of its own: {@code d_i = sign(g_i) |w_i|}. */
        FILTER,
        /** The whole vector is one filter: {@code d = g * ||w|| / ||g||}. */
        WHOLE
    }

    /** A direction of independent standard normal entries in the layout of {@code specs}. */
    public static Weights gaussian(List<TensorSpec> specs, Random rnd) {
        Weights d = Weights.zeros(specs);
        double[] v = d.values();
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian();
        }
        return d;
    }

    /** A Gaussian direction from {@code rnd}, filter-normalized to {@code weights}. */
    public static Weights filterNormalized(Weights weights, BiasPolicy policy, Random rnd) {
        return normalize(gaussian(weights.specs(), rnd), weights, policy);
    }

    /**
     * {@code direction} rescaled filter by filter to the norms of {@code weights}' filters (a copy). A filter
     * of the direction that is all zeros stays zero.
     */
    public static Weights normalize(Weights direction, Weights weights, BiasPolicy policy) {
        if (!direction.specs().equals(weights.specs())) {
            throw new IllegalArgumentException("direction: layout " + direction.specs() + " is not the weights' " + weights.specs());
        }
        double[] d = direction.values().clone();
        double[] w = weights.values();
        List<TensorSpec> specs = weights.specs();
        for (int p = 0; p < specs.size(); p++) {
            TensorSpec s = specs.get(p);
            int from = weights.offset(p);
            int n = Math.toIntExact(s.shape().size());
            if (s.shape().rank() >= 2) {
                int filters = Math.toIntExact(s.shape().dim(0));
                int len = filters == 0 ? 0 : n / filters;
                for (int f = 0; f < filters; f++) {
                    rescale(d, w, from + f * len, len);
                }
            } else {
                switch (policy) {
                    case IGNORE -> java.util.Arrays.fill(d, from, from + n, 0);
                    case FILTER -> {
                        for (int i = from; i < from + n; i++) {
                            rescale(d, w, i, 1);
                        }
                    }
                    case WHOLE -> rescale(d, w, from, n);
                }
            }
        }
        return new Weights(specs, d);
    }

    /** d[from, from + len) *= ||w[from, from + len)|| / ||d[from, from + len)||. */
    private static void rescale(double[] d, double[] w, int from, int len) {
        double dn = 0;
        double wn = 0;
        for (int i = from; i < from + len; i++) {
            dn += d[i] * d[i];
            wn += w[i] * w[i];
        }
        double scale = dn == 0 ? 0 : Math.sqrt(wn / dn);
        for (int i = from; i < from + len; i++) {
            d[i] *= scale;
        }
    }
}

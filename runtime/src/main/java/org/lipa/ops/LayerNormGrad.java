package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * The gradient of {@link LayerNorm} with respect to x (and gamma, beta when {@code affine}), given the
 * forward pass's statistics: inputs {@code x, [gamma,] mean, variance, g} with {@code g} the cotangent of
 * y; outputs {@code dx} and, when affine, {@code dgamma, dbeta}. With {@code xhat = (x - mean)/s},
 * {@code s = sqrt(variance + eps)} and {@code h = g gamma}:
 * {@code dx = (h - mean(h) - xhat mean(h xhat)) / s}, {@code dgamma = sum(g xhat)}, {@code dbeta = sum(g)}
 * (means over the normalized dimensions, sums over the leading ones). oneDNN's layer-normalization backward.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record LayerNormGrad(int normalizedRank, double eps, boolean affine) implements Op, Composite {
    public LayerNormGrad {
        new LayerNorm(normalizedRank, eps); // the same checks
    }

    public LayerNorm forward() {
        return new LayerNorm(normalizedRank, eps);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        int n = affine ? 5 : 4;
        Checks.arity(this, in, n, n);
        TensorSpec x = in.get(0);
        List<TensorSpec> fwdIn = affine ? List.of(x, in.get(1), in.get(1)) : List.of(x);
        List<TensorSpec> fwd = forward().infer(fwdIn);
        int s = affine ? 2 : 1;
        String[] names = {"mean", "variance"};
        for (int i = 0; i < 2; i++) {
            if (!in.get(s + i).equals(fwd.get(1 + i))) {
                throw new IllegalArgumentException(name() + ": " + names[i] + " must be " + fwd.get(1 + i) + ", got " + in.get(s + i));
            }
        }
        if (!in.get(n - 1).equals(x)) {
            throw new IllegalArgumentException(name() + ": g must be " + x + ", got " + in.get(n - 1));
        }
        return affine ? List.of(x, in.get(1), in.get(1)) : List.of(x);
    }

    @Override
    public <T> List<T> decompose(Ops<T> ops, List<T> in) {
        T x = in.get(0);
        int s = affine ? 2 : 1;
        T g = in.get(in.size() - 1);
        var xs = ops.shape(x);
        int r = xs.rank();
        int lead = r - normalizedRank;
        long[] kept = xs.toArray();
        for (int i = lead; i < r; i++) {
            kept[i] = 1;
        }
        int[] norm = java.util.stream.IntStream.range(lead, r).toArray();
        int[] leading = java.util.stream.IntStream.range(0, lead).toArray();
        T mean = ops.reshape(in.get(s), kept);
        T std = ops.sqrt(ops.affine(ops.reshape(in.get(s + 1), kept), 1, eps));
        T xhat = ops.div(ops.sub(x, mean), std);
        T h = affine ? ops.mul(g, in.get(1)) : g;
        T dx = ops.div(ops.sub(ops.sub(h, ops.mean(h, true, norm)), ops.mul(xhat, ops.mean(ops.mul(h, xhat), true, norm))), std);
        if (!affine) {
            return List.of(dx);
        }
        T dgamma = lead == 0 ? ops.mul(g, xhat) : ops.sum(ops.mul(g, xhat), false, leading);
        T dbeta = lead == 0 ? g : ops.sum(g, false, leading);
        return List.of(dx, dgamma, dbeta);
    }

    @Override
    public String name() {
        return "layer_norm_grad";
    }
}

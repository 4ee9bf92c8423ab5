package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * The gradient of batch or group normalization in training mode (statistics from the batch) with
 * respect to x, gamma and beta, given the forward pass's statistics: inputs {@code x, gamma, mean,
 * variance, g} with {@code g} the cotangent of y; outputs {@code dx, dgamma, dbeta}. With
 * {@code xhat = (x - mean)/s}, {@code s = sqrt(variance + eps)}, {@code h = g gamma}, and means over each
 * statistic's elements: {@code dx = (h - mean(h) - xhat mean(h xhat)) / s}; {@code dgamma = sum(g xhat)},
 * {@code dbeta = sum(g)} per channel. oneDNN's batch- and group-normalization backward.
 *
 * @param groups 0 for batch normalization (statistics per channel), else the number of groups
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record NormGrad(int groups, double eps) implements Op, Composite {
    public NormGrad {
        if (groups < 0) {
            throw new IllegalArgumentException("norm_grad: groups must be >= 0, got " + groups);
        }
        Checks.finitePositive("norm_grad", "eps", eps);
    }

    /** The forward op: batch norm (training) or group norm. */
    public Op forward() {
        return groups == 0 ? new BatchNorm(eps, true) : new GroupNorm(groups, eps);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 5, 5);
        TensorSpec x = in.get(0);
        List<TensorSpec> fwd = forward().infer(List.of(x, in.get(1), in.get(1)));
        String[] names = {"mean", "variance"};
        for (int i = 0; i < 2; i++) {
            if (!in.get(2 + i).equals(fwd.get(1 + i))) {
                throw new IllegalArgumentException(name() + ": " + names[i] + " must be " + fwd.get(1 + i) + ", got " + in.get(2 + i));
            }
        }
        if (!in.get(4).equals(x)) {
            throw new IllegalArgumentException(name() + ": g must be " + x + ", got " + in.get(4));
        }
        return List.of(x, in.get(1), in.get(1));
    }

    @Override
    public <T> List<T> decompose(Ops<T> ops, List<T> in) {
        T x = in.get(0);
        T g = in.get(4);
        Shape xs = ops.shape(x);
        long[] channel = new long[xs.rank()];
        java.util.Arrays.fill(channel, 1);
        channel[1] = xs.dim(1);
        int[] params = java.util.stream.IntStream.range(0, xs.rank()).filter(i -> i != 1).toArray();
        T h = ops.mul(g, ops.reshape(in.get(1), channel));
        T dx;
        T xhat;
        if (groups == 0) {
            T mean = ops.reshape(in.get(2), channel);
            T std = ops.sqrt(ops.affine(ops.reshape(in.get(3), channel), 1, eps));
            xhat = ops.div(ops.sub(x, mean), std);
            dx = ops.div(ops.sub(ops.sub(h, ops.mean(h, true, params)), ops.mul(xhat, ops.mean(ops.mul(h, xhat), true, params))), std);
        } else {
            long[] grouped = {xs.dim(0), groups, -1};
            T mean = ops.reshape(in.get(2), xs.dim(0), groups, 1);
            T std = ops.sqrt(ops.affine(ops.reshape(in.get(3), xs.dim(0), groups, 1), 1, eps));
            T xg = ops.div(ops.sub(ops.reshape(x, grouped), mean), std);
            T hg = ops.reshape(h, grouped);
            T dg = ops.div(ops.sub(ops.sub(hg, ops.mean(hg, true, 2)), ops.mul(xg, ops.mean(ops.mul(hg, xg), true, 2))), std);
            dx = ops.reshape(dg, xs.toArray());
            xhat = ops.reshape(xg, xs.toArray());
        }
        return List.of(dx, ops.sum(ops.mul(g, xhat), false, params), ops.sum(g, false, params));
    }

    @Override
    public String name() {
        return groups == 0 ? "batch_norm_grad" : "group_norm_grad";
    }
}

package org.lipa.autodiff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.Full;
import org.lipa.ops.Hw;
import org.lipa.ops.Ops;
import org.lipa.ops.Reduce;
import org.lipa.tensor.Shape;

/**
 * Small helpers the JVP and VJP rules share. A null value stands for a symbolic zero: the helpers
 * propagate it so that zero tangents and cotangents cost no work.
 */
final class Rules {
    private Rules() {
    }

    static <T> T add(Ops<T> ops, T a, T b) {
        return a == null ? b : b == null ? a : ops.add(a, b);
    }

    static <T> T sub(Ops<T> ops, T a, T b) {
        return b == null ? a : a == null ? ops.neg(b) : ops.sub(a, b);
    }

    static <T> T mul(Ops<T> ops, T a, T b) {
        return a == null || b == null ? null : ops.mul(a, b);
    }

    static <T> T zeros(Ops<T> ops, T like) {
        return ops.apply(new Full(ops.spec(like), 0), List.of()).get(0);
    }

    static <T> T full(Ops<T> ops, org.lipa.tensor.TensorSpec spec, double value) {
        return ops.apply(new Full(spec, value), List.of()).get(0);
    }

    /** {@code t} broadcast (as a view) to {@code shape}, or {@code t} when it already has it. */
    static <T> T expandTo(Ops<T> ops, T t, Shape shape) {
        return t == null || ops.shape(t).equals(shape) ? t : ops.expand(t, shape);
    }

    /**
     * Sums a cotangent computed at a broadcast shape back to the shape of the input it belongs to: over
     * leading dimensions the input lacks and over dimensions where the input has size 1.
     */
    static <T> T unbroadcast(Ops<T> ops, T ct, Shape target) {
        Shape s = ops.shape(ct);
        if (s.equals(target)) {
            return ct;
        }
        int lead = s.rank() - target.rank();
        List<Integer> axes = new ArrayList<>();
        for (int i = 0; i < s.rank(); i++) {
            if (i < lead || (target.dim(i - lead) == 1 && s.dim(i) != 1)) {
                axes.add(i);
            }
        }
        T summed = axes.isEmpty() ? ct : ops.apply(new Reduce(Reduce.Kind.SUM, axes, true), List.of(ct)).get(0);
        return ops.reshape(summed, target.toArray());
    }

    /**
     * A norm clipped below at the smallest positive float, as a divisor: where the norm is 0 every element
     * it divides is 0 too, so the derivative is 0 there (PyTorch's choice of subgradient) instead of 0/0.
     */
    static <T> T nonZero(Ops<T> ops, T norm) {
        return ops.clip(norm, Float.MIN_VALUE, Double.MAX_VALUE);
    }

    /** The reduced shape with kept (size-1) axes, for broadcasting a reduction's result back. */
    static <T> T kept(Ops<T> ops, T reduced, Reduce op, Shape input) {
        return ops.reshape(reduced, op.keptShape(input).toArray());
    }

    /** The transposed matrix view of the last two dimensions. */
    static <T> T mT(Ops<T> ops, T x) {
        return ops.transpose(x, -1, -2);
    }

    /** {@code f'(x) * g}. */
    static <T> T grad(Ops<T> ops, Eltwise.Kind kind, double alpha, double beta, T x, T g) {
        return g == null ? null : ops.apply(new EltwiseGrad(kind, alpha, beta), List.of(x, g)).get(0);
    }

    /** Where x > 0, u; elsewhere 0: relu's derivative as a mask. */
    static <T> T positive(Ops<T> ops, T x, T u) {
        return grad(ops, Eltwise.Kind.RELU, 0, 0, x, u);
    }

    static int[] range(int from, int to) {
        return java.util.stream.IntStream.range(from, to).toArray();
    }

    static int[] allBut(int rank, int axis) {
        return Arrays.stream(range(0, rank)).filter(i -> i != axis).toArray();
    }
}

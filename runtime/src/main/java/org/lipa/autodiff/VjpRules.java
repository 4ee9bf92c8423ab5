package org.lipa.autodiff;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.Full;
import org.lipa.ops.RandomSample;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.Hw;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Ops;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.ops.Reduce;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
import org.lipa.ops.LayerNormGrad;
import org.lipa.ops.NormGrad;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.Shape;

/**
 * Reverse-mode rules: given an op's inputs {@code x}, outputs {@code y} and output cotangents
 * {@code ct} (null for zero), the input cotangents (null for zero). A cotangent may come back at the
 * broadcast shape of the op's output; the driver sums it down to the input's shape. Reverse rules use
 * the gradient primitives (eltwise, convolution weights, pooling) that run on oneDNN's backward kernels.
 */
final class VjpRules {
    private VjpRules() {
    }

    static <T> List<T> vjp(Ops<T> ops, Op op, List<T> x, List<T> y, List<T> cts) {
        T ct = cts.get(0);
        return switch (op) {
            case MatMul m -> x.size() == 3
                    ? list(ops.matmul(ct, Rules.mT(ops, x.get(1))), matmulWeightGrad(ops, x.get(0), x.get(1), ct), biasGrad(ops, x.get(2), ct))
                    : list(ops.matmul(ct, Rules.mT(ops, x.get(1))), matmulWeightGrad(ops, x.get(0), x.get(1), ct));
            case Conv2d c -> {
                Shape xs = ops.shape(x.get(0));
                Shape ws = ops.shape(x.get(1));
                Hw outPad = c.adjointOutputPadding(xs, ops.shape(ct), ws);
                T dx = ops.convTranspose2d(ct, x.get(1), null, c.stride(), c.padding(), outPad, c.dilation(), c.groups());
                T dw = ops.apply(weightGrad(c.stride(), c.padding(), c.dilation(), c.groups(), ws), List.of(x.get(0), ct)).get(0);
                yield x.size() == 3 ? list(dx, dw, ops.sum(ct, false, 0, 2, 3)) : list(dx, dw);
            }
            case ConvTranspose2d c -> {
                T dx = ops.conv2d(ct, x.get(1), null, c.stride(), c.padding(), c.dilation(), c.groups());
                T dw = ops.apply(weightGrad(c.stride(), c.padding(), c.dilation(), c.groups(), ops.shape(x.get(1))),
                        List.of(ct, x.get(0))).get(0);
                yield x.size() == 3 ? list(dx, dw, ops.sum(ct, false, 0, 2, 3)) : list(dx, dw);
            }
            case Conv2dWeightGrad w -> {
                // <dw(x, g), ct> = <conv(x, ct), g> = <x, conv_transpose(g, ct)>
                Shape xs = ops.shape(x.get(0));
                Hw outPad = w.forward().adjointOutputPadding(xs, ops.shape(x.get(1)), ops.shape(ct));
                yield list(ops.convTranspose2d(x.get(1), ct, null, w.stride(), w.padding(), outPad, w.dilation(), w.groups()),
                        ops.conv2d(x.get(0), ct, null, w.stride(), w.padding(), w.dilation(), w.groups()));
            }
            case Eltwise e -> list(Rules.grad(ops, e.kind(), e.alpha(), e.beta(), x.get(0), ct));
            case EltwiseGrad e -> list(
                    SecondDerivative.times(ops, e.kind(), e.alpha(), e.beta(), x.get(0), ops.mul(x.get(1), ct)),
                    Rules.grad(ops, e.kind(), e.alpha(), e.beta(), x.get(0), ct));
            case Softmax s -> list(ops.apply(new SoftmaxGrad(s.axis(), s.log()), List.of(y.get(0), ct)).get(0));
            case SoftmaxGrad s -> Decompositions.vjp(ops, s, x, y, cts);
            case LayerNorm n -> cts.get(1) == null && cts.get(2) == null && ct != null
                    ? layerNormGrad(ops, n, x, y, ct)
                    : Decompositions.vjp(ops, n, x, y, cts);
            case LayerNormGrad n -> Decompositions.vjp(ops, n, x, y, cts);
            // training with only y's cotangent: oneDNN's fused backward; otherwise (statistics used, or
            // inference, whose running statistics may need gradients too) the definition's
            case BatchNorm n -> n.training() && cts.get(1) == null && cts.get(2) == null && ct != null
                    ? ops.apply(new NormGrad(0, n.eps()), List.of(x.get(0), x.get(1), y.get(1), y.get(2), ct))
                    : Decompositions.vjp(ops, n, x, y, cts);
            case GroupNorm n -> cts.get(1) == null && cts.get(2) == null && ct != null
                    ? ops.apply(new NormGrad(n.groups(), n.eps()), List.of(x.get(0), x.get(1), y.get(1), y.get(2), ct))
                    : Decompositions.vjp(ops, n, x, y, cts);
            case NormGrad n -> Decompositions.vjp(ops, n, x, y, cts);
            case Pool2d p -> list(ops.apply(new Pool2dGrad(p), List.of(x.get(0), ct)).get(0));
            case Pool2dGrad p -> list(null, ops.apply(new Pool2dTangent(p.pool()), List.of(x.get(0), ct)).get(0));
            case Pool2dTangent p -> list(null, ops.apply(new Pool2dGrad(p.pool()), List.of(x.get(0), ct)).get(0));
            case Binary b -> binary(ops, b, x, y.get(0), ct);
            case Reduce r -> list(reduce(ops, r, x.get(0), y.get(0), ct));
            case Concat c -> {
                Shape ys = ops.shape(y.get(0));
                int axis = ys.axis(c.axis());
                List<T> parts = new ArrayList<>();
                long start = 0;
                for (T xi : x) {
                    long n = ops.shape(xi).dim(axis);
                    parts.add(ops.slice(ct, axis, start, start + n));
                    start += n;
                }
                yield parts;
            }
            case Cast c -> list(ops.cast(ct, ops.spec(x.get(0)).dtype()));
            case Full f -> List.of();
            case RandomSample r -> list((T) null);
            case ViewOp v -> list(view(ops, v, x.get(0), ct));
        };
    }

    /**
     * {@code a^T ct} for {@code y = a b}. When {@code b} is a matrix shared by a batch of {@code a}'s (a linear
     * layer on {@code [B, T, K]}), the batch folds into the rows: one {@code [K, B T] x [B T, N]} product instead
     * of {@code B} products summed afterwards, which costs {@code B} times the memory and far more time.
     */
    private static <T> T matmulWeightGrad(Ops<T> ops, T a, T b, T ct) {
        Shape as = ops.shape(a);
        Shape cs = ops.shape(ct);
        if (ops.shape(b).rank() == 2 && as.rank() > 2 && as.sub(0, as.rank() - 2).equals(cs.sub(0, cs.rank() - 2))) {
            // explicit row counts, not -1: with an empty dimension -1 is ambiguous (and refused)
            T a2 = ops.reshape(a, as.sub(0, as.rank() - 1).size(), as.dim(as.rank() - 1));
            T c2 = ops.reshape(ct, cs.sub(0, cs.rank() - 1).size(), cs.dim(cs.rank() - 1));
            return ops.matmul(Rules.mT(ops, a2), c2);
        }
        return ops.matmul(Rules.mT(ops, a), ct);
    }

    /**
     * A bias vector's cotangent: the output's summed over every row, as {@code ones[1, rows] x ct[rows, N]}:
     * a GEMM, which runs an order of magnitude faster than oneDNN's reduction over the outer axis.
     */
    private static <T> T biasGrad(Ops<T> ops, T bias, T ct) {
        Shape cs = ops.shape(ct);
        Shape bs = ops.shape(bias);
        long n = cs.dim(cs.rank() - 1);
        if (bs.rank() != 1 || bs.dim(0) != n || cs.rank() < 2) {
            return ct;
        }
        T rows = ops.reshape(ct, cs.sub(0, cs.rank() - 1).size(), n);
        long r = ops.shape(rows).dim(0);
        T ones = ops.apply(new Full(new org.lipa.tensor.TensorSpec(Shape.of(1, r), ops.spec(ct).dtype()), 1), List.of()).get(0);
        return ops.reshape(ops.matmul(ones, rows), n);
    }

    /** A list that may hold nulls (symbolic zeros). */
    @SafeVarargs
    private static <T> List<T> list(T... values) {
        return Arrays.asList(values);
    }

    /** The common case, only y's cotangent: oneDNN's fused layer-norm backward. */
    private static <T> List<T> layerNormGrad(Ops<T> ops, LayerNorm n, List<T> x, List<T> y, T ct) {
        boolean affine = x.size() == 3;
        List<T> in = affine ? List.of(x.get(0), x.get(1), y.get(1), y.get(2), ct) : List.of(x.get(0), y.get(1), y.get(2), ct);
        return ops.apply(new LayerNormGrad(n.normalizedRank(), n.eps(), affine), in);
    }

    private static Conv2dWeightGrad weightGrad(Hw stride, Hw padding, Hw dilation, int groups, Shape w) {
        return new Conv2dWeightGrad(stride, padding, dilation, groups, new Hw((int) w.dim(2), (int) w.dim(3)));
    }

    private static <T> List<T> binary(Ops<T> ops, Binary b, List<T> x, T y, T ct) {
        T a = x.get(0);
        T c = x.get(1);
        return switch (b.kind()) {
            case ADD -> list(ct, ct);
            case SUB -> list(ct, ops.neg(ct));
            case MUL -> list(ops.mul(ct, c), ops.mul(ct, a));
            case DIV -> {
                T q = ops.div(ct, c);
                yield list(q, ops.neg(ops.mul(q, y)));
            }
            case MAX, MIN -> {
                T d = b.kind() == Binary.Kind.MAX ? ops.sub(a, c) : ops.sub(c, a);
                T toA = Rules.positive(ops, d, Rules.expandTo(ops, ct, ops.shape(d)));
                yield list(toA, ops.sub(ct, toA));
            }
        };
    }

    private static <T> T reduce(Ops<T> ops, Reduce r, T x, T y, T ct) {
        Shape xs = ops.shape(x);
        T ck = Rules.kept(ops, ct, r, xs);
        return switch (r.kind()) {
            case SUM -> ops.expand(ck, xs);
            case MEAN -> {
                long count = 1;
                for (int a : r.axesFor(xs.rank())) {
                    count *= xs.dim(a);
                }
                // an empty reduction has an empty input: its cotangent has no elements, the scale is moot
                yield ops.expand(ops.scale(ck, count == 0 ? 0 : 1.0 / count), xs);
            }
            case NORM_L2 -> ops.mul(x, ops.div(ck, Rules.nonZero(ops, Rules.kept(ops, y, r, xs))));
            case MAX, MIN -> {
                // shared evenly among the positions that attain the extremum
                T yk = Rules.kept(ops, y, r, xs);
                T gap = r.kind() == Reduce.Kind.MAX ? ops.sub(yk, x) : ops.sub(x, yk);
                T ones = Rules.full(ops, ops.spec(x), 1);
                T count = ops.sum(ops.sub(ones, Rules.positive(ops, gap, ones)), true, r.axesFor(xs.rank()));
                T u = ops.expand(ops.div(ck, count), xs);
                yield ops.sub(u, Rules.positive(ops, gap, u));
            }
        };
    }

    private static <T> T view(Ops<T> ops, ViewOp v, T x, T ct) {
        Shape xs = ops.shape(x);
        return switch (v) {
            case ViewOp.Reshape r -> ops.reshape(ct, xs.toArray());
            case ViewOp.Permute p -> {
                int[] inverse = new int[p.perm().size()];
                for (int i = 0; i < inverse.length; i++) {
                    inverse[xs.axis(p.perm().get(i))] = i;
                }
                yield ops.permute(ct, inverse);
            }
            case ViewOp.Expand e -> ct; // the driver sums it back to x's shape
            case ViewOp.Slice s -> unslice(ops, s, xs, ct);
        };
    }

    /** The adjoint of a slice: ct placed at the sliced positions, zeros elsewhere. */
    private static <T> T unslice(Ops<T> ops, ViewOp.Slice s, Shape xs, T ct) {
        int axis = xs.axis(s.axis());
        Shape cs = ops.shape(ct);
        long k = cs.dim(axis);
        T spread = ct;
        if (s.step() > 1 && k > 0) {
            // interleave step - 1 zeros after each element: [.., k, 1, ..] ++ zeros [.., k, step-1, ..], merged
            long[] d1 = insert(cs.toArray(), axis + 1, 1);
            T col = ops.reshape(ct, d1);
            T z = Rules.full(ops, new org.lipa.tensor.TensorSpec(Shape.of(d1).with(axis + 1, s.step() - 1), ops.spec(ct).dtype()), 0);
            T both = ops.concat(axis + 1, col, z);
            spread = ops.reshape(both, cs.with(axis, k * s.step()).toArray());
            long room = xs.dim(axis) - s.start();
            if (k * s.step() > room) {
                spread = ops.slice(spread, axis, 0, room);
            }
        }
        long len = ops.shape(spread).dim(axis);
        List<T> parts = new ArrayList<>();
        if (s.start() > 0) {
            parts.add(Rules.full(ops, new org.lipa.tensor.TensorSpec(cs.with(axis, s.start()), ops.spec(ct).dtype()), 0));
        }
        parts.add(spread);
        long after = xs.dim(axis) - s.start() - len;
        if (after > 0) {
            parts.add(Rules.full(ops, new org.lipa.tensor.TensorSpec(cs.with(axis, after), ops.spec(ct).dtype()), 0));
        }
        if (parts.size() == 1) {
            return spread;
        }
        @SuppressWarnings("unchecked")
        T[] arr = (T[]) parts.toArray();
        return ops.concat(axis, arr);
    }

    private static long[] insert(long[] d, int at, long value) {
        long[] out = new long[d.length + 1];
        for (int i = 0, j = 0; i < out.length; i++) {
            out[i] = i == at ? value : d[j++];
        }
        return out;
    }
}

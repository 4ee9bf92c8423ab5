package org.lipa.autodiff;

import static org.lipa.autodiff.Rules.add;
import static org.lipa.autodiff.Rules.mul;
import static org.lipa.autodiff.Rules.sub;

import java.util.ArrayList;
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

/**
 * Forward-mode rules: given an op's inputs {@code x}, outputs {@code y} and input tangents {@code t}
 * (null for a zero tangent), the output tangents (null for zero). Rules emit ops through the facade,
 * so their results can be differentiated again. A rule may return a tangent of a smaller shape that
 * broadcasts to its output's; the driver expands it.
 */
final class JvpRules {
    private JvpRules() {
    }

    static <T> List<T> jvp(Ops<T> ops, Op op, List<T> x, List<T> y, List<T> t) {
        T t0 = t.get(0);
        return switch (op) {
            case MatMul m -> one((add(ops, add(ops,
                    t0 == null ? null : ops.matmul(t0, x.get(1)),
                    t.get(1) == null ? null : ops.matmul(x.get(0), t.get(1))),
                    t.size() == 3 ? t.get(2) : null)));
            case Conv2d c -> one((add(ops, add(ops,
                    t0 == null ? null : ops.conv2d(t0, x.get(1), null, c.stride(), c.padding(), c.dilation(), c.groups()),
                    t.get(1) == null ? null : ops.conv2d(x.get(0), t.get(1), null, c.stride(), c.padding(), c.dilation(), c.groups())),
                    channelBias(ops, t.size() == 3 ? t.get(2) : null))));
            case ConvTranspose2d c -> one((add(ops, add(ops,
                    t0 == null ? null : ops.convTranspose2d(t0, x.get(1), null, c.stride(), c.padding(), c.outputPadding(),
                            c.dilation(), c.groups()),
                    t.get(1) == null ? null : ops.convTranspose2d(x.get(0), t.get(1), null, c.stride(), c.padding(),
                            c.outputPadding(), c.dilation(), c.groups())),
                    channelBias(ops, t.size() == 3 ? t.get(2) : null))));
            case Conv2dWeightGrad w -> one((add(ops,
                    t0 == null ? null : ops.apply(w, List.of(t0, x.get(1))).get(0),
                    t.get(1) == null ? null : ops.apply(w, List.of(x.get(0), t.get(1))).get(0))));
            case Eltwise e -> one((Rules.grad(ops, e.kind(), e.alpha(), e.beta(), x.get(0), t0)));
            case EltwiseGrad e -> one((add(ops,
                    SecondDerivative.times(ops, e.kind(), e.alpha(), e.beta(), x.get(0), mul(ops, t0, x.get(1))),
                    Rules.grad(ops, e.kind(), e.alpha(), e.beta(), x.get(0), t.get(1)))));
            case Softmax s -> s.log()
                    // y = log softmax: y' = t - sum(softmax * t)
                    ? List.of(ops.sub(t0, ops.sum(ops.mul(ops.exp(y.get(0)), t0), true, s.axis())))
                    // softmax's Jacobian is symmetric: J t is the backward kernel applied to t
                    : ops.apply(new SoftmaxGrad(s.axis(), false), List.of(y.get(0), t0));
            case SoftmaxGrad s -> Decompositions.jvp(ops, s, x, t);
            case LayerNormGrad n -> Decompositions.jvp(ops, n, x, t);
            case NormGrad n -> Decompositions.jvp(ops, n, x, t);
            case LayerNorm n -> Decompositions.jvp(ops, n, x, t);
            case BatchNorm n -> Decompositions.jvp(ops, n, x, t);
            case GroupNorm n -> Decompositions.jvp(ops, n, x, t);
            case Pool2d p -> one((t0 == null ? null : ops.apply(new Pool2dTangent(p), List.of(x.get(0), t0)).get(0)));
            // both are linear in their second input and piecewise constant in the first
            case Pool2dGrad p -> one((t.get(1) == null ? null : ops.apply(p, List.of(x.get(0), t.get(1))).get(0)));
            case Pool2dTangent p -> one((t.get(1) == null ? null : ops.apply(p, List.of(x.get(0), t.get(1))).get(0)));
            case Binary b -> one((binary(ops, b, x, y.get(0), t)));
            case Reduce r -> one((reduce(ops, r, x.get(0), y.get(0), t0)));
            case Concat c -> {
                if (t.stream().allMatch(v -> v == null)) {
                    yield one((null));
                }
                List<T> parts = new ArrayList<>();
                for (int i = 0; i < x.size(); i++) {
                    parts.add(t.get(i) == null ? Rules.zeros(ops, x.get(i)) : t.get(i));
                }
                yield ops.apply(c, parts);
            }
            case Cast c -> one((t0 == null ? null : ops.cast(t0, c.to())));
            case Full f -> one((null));
            case RandomSample r -> java.util.Arrays.asList(null, null);
            case ViewOp v -> one((t0 == null ? null : ops.apply(v, List.of(t0)).get(0)));
        };
    }

    /** A one-element list that may hold null, the symbolic zero ({@code List.of} refuses nulls). */
    static <T> List<T> one(T v) {
        return java.util.Collections.singletonList(v);
    }

    private static <T> T channelBias(Ops<T> ops, T bias) {
        return bias == null ? null : ops.reshape(bias, ops.shape(bias).dim(0), 1, 1);
    }

    private static <T> T binary(Ops<T> ops, Binary b, List<T> x, T y, List<T> t) {
        T a = x.get(0);
        T c = x.get(1);
        var shape = ops.shape(y);
        T ta = Rules.expandTo(ops, t.get(0), shape);
        T tc = Rules.expandTo(ops, t.get(1), shape);
        return switch (b.kind()) {
            case ADD -> add(ops, ta, tc);
            case SUB -> sub(ops, ta, tc);
            case MUL -> add(ops, mul(ops, ta, c), mul(ops, a, tc));
            case DIV -> {
                T num = sub(ops, ta, mul(ops, y, tc));
                yield num == null ? null : ops.div(num, c);
            }
            case MAX, MIN -> {
                // where a wins (a - c > 0 for max) the tangent of a, elsewhere that of c
                T d = b.kind() == Binary.Kind.MAX ? ops.sub(a, c) : ops.sub(c, a);
                T fromA = ta == null ? null : Rules.positive(ops, d, ta);
                T fromC = tc == null ? null : ops.sub(tc, Rules.positive(ops, d, tc));
                yield add(ops, fromA, fromC);
            }
        };
    }

    private static <T> T reduce(Ops<T> ops, Reduce r, T x, T y, T t) {
        if (t == null) {
            return null;
        }
        var xs = ops.shape(x);
        int[] axes = r.axesFor(xs.rank());
        return switch (r.kind()) {
            case SUM -> ops.apply(r, List.of(t)).get(0);
            // the mean of nothing is a constant (NaN): its tangent is zero, the empty sum, not the mean of nothing
            case MEAN -> ops.apply(xs.size() == 0 ? new Reduce(Reduce.Kind.SUM, r.axes(), r.keepDims()) : r, List.of(t)).get(0);
            case NORM_L2 -> ops.div(ops.apply(new Reduce(Reduce.Kind.SUM, r.axes(), r.keepDims()), List.of(ops.mul(x, t))).get(0),
                    Rules.nonZero(ops, y));
            case MAX, MIN -> {
                // the mean of t over the positions that attain the extremum
                T yk = Rules.kept(ops, y, r, xs);
                T gap = r.kind() == Reduce.Kind.MAX ? ops.sub(yk, x) : ops.sub(x, yk); // > 0 off the extremum
                T ones = Rules.full(ops, ops.spec(x), 1);
                T count = ops.sum(ops.sub(ones, Rules.positive(ops, gap, ones)), r.keepDims(), axes);
                T picked = ops.sub(t, Rules.positive(ops, gap, t));
                yield ops.div(ops.sum(picked, r.keepDims(), axes), count);
            }
        };
    }
}

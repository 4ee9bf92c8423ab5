package org.lipa.autodiff;

import java.util.ArrayList;
import java.util.List;
import org.lipa.graph.Graph;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.Op;
import org.lipa.ops.Ops;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * The normalizations (and every {@link org.lipa.ops.Composite} op) written with primitives. Their forward
 * pass runs on the fused oneDNN kernel; their
 * derivatives are the derivatives of these decompositions (traced once per rule application and
 * differentiated by the same driver), so every order of derivative comes from the primitive rules.
 */
final class Decompositions {
    private Decompositions() {
    }

    /** Whether {@code op} is differentiated through its decomposition. */
    static boolean decomposes(Op op) {
        return op instanceof LayerNorm || op instanceof BatchNorm || op instanceof GroupNorm || op instanceof org.lipa.ops.Composite;
    }

    /** The op's outputs computed from primitives. */
    static <T> List<T> apply(Ops<T> ops, Op op, List<T> in) {
        return switch (op) {
            case LayerNorm n -> {
                T x = in.get(0);
                int r = ops.shape(x).rank();
                List<T> s = normalize(ops, x, Rules.range(r - n.normalizedRank(), r), n.eps());
                T y = in.size() == 3 ? ops.add(ops.mul(s.get(0), in.get(1)), in.get(2)) : s.get(0);
                long[] stats = ops.shape(x).sub(0, r - n.normalizedRank()).toArray();
                yield List.of(y, ops.reshape(s.get(1), stats), ops.reshape(s.get(2), stats));
            }
            case BatchNorm n -> {
                T x = in.get(0);
                Shape xs = ops.shape(x);
                long[] channel = channelShape(xs);
                T gamma = ops.reshape(in.get(1), channel);
                T beta = ops.reshape(in.get(2), channel);
                if (n.training()) {
                    List<T> s = normalize(ops, x, Rules.allBut(xs.rank(), 1), n.eps());
                    T y = ops.add(ops.mul(s.get(0), gamma), beta);
                    yield List.of(y, ops.reshape(s.get(1), xs.dim(1)), ops.reshape(s.get(2), xs.dim(1)));
                }
                T mean = ops.reshape(in.get(3), channel);
                T std = ops.sqrt(ops.affine(ops.reshape(in.get(4), channel), 1, n.eps()));
                yield List.of(ops.add(ops.mul(ops.div(ops.sub(x, mean), std), gamma), beta));
            }
            case GroupNorm n -> {
                T x = in.get(0);
                Shape xs = ops.shape(x);
                T grouped = ops.reshape(x, xs.dim(0), n.groups(), xs.dim(1) / n.groups() * xs.sub(2, xs.rank()).size());
                List<T> s = normalize(ops, grouped, new int[] {2}, n.eps());
                long[] channel = channelShape(xs);
                T y = ops.add(ops.mul(ops.reshape(s.get(0), xs.toArray()), ops.reshape(in.get(1), channel)),
                        ops.reshape(in.get(2), channel));
                yield List.of(y, ops.reshape(s.get(1), xs.dim(0), n.groups()), ops.reshape(s.get(2), xs.dim(0), n.groups()));
            }
            default -> {
                if (op instanceof org.lipa.ops.Composite c) {
                    yield c.decompose(ops, in);
                }
                throw new IllegalArgumentException(op.name() + " has its own rules, not a decomposition");
            }
        };
    }

    /** (x - mean) / sqrt(var + eps) over {@code axes}, with the kept-dims mean and biased variance. */
    private static <T> List<T> normalize(Ops<T> ops, T x, int[] axes, double eps) {
        T mean = ops.mean(x, true, axes);
        T centered = ops.sub(x, mean);
        T var = ops.mean(ops.square(centered), true, axes);
        return List.of(ops.div(centered, ops.sqrt(ops.affine(var, 1, eps))), mean, var);
    }

    /** [1, C, 1, ...] for a channel-first x. */
    private static long[] channelShape(Shape x) {
        long[] d = new long[x.rank()];
        java.util.Arrays.fill(d, 1);
        d[1] = x.dim(1);
        return d;
    }

    /** The decomposition of {@code op} on inputs of the given specs, as a graph. */
    static Graph graph(Op op, List<TensorSpec> specs) {
        return Graph.trace(specs, (ops, in) -> apply(ops, op, in));
    }

    /** Tangents of the op's outputs, from the JVP of its decomposition (null tangents become zeros). */
    static <T> List<T> jvp(Ops<T> ops, Op op, List<T> x, List<T> t) {
        List<T> args = new ArrayList<>(x);
        for (int i = 0; i < x.size(); i++) {
            args.add(t.get(i) == null ? Rules.zeros(ops, x.get(i)) : t.get(i));
        }
        Graph g = Autodiff.jvp(graph(op, specs(ops, x)));
        List<T> out = g.replay(ops, args);
        return out.subList(out.size() / 2, out.size());
    }

    /** Cotangents of the op's inputs, from the VJP of its decomposition (null cotangents become zeros). */
    static <T> List<T> vjp(Ops<T> ops, Op op, List<T> x, List<T> y, List<T> ct) {
        List<T> args = new ArrayList<>(x);
        for (int i = 0; i < y.size(); i++) {
            args.add(ct.get(i) == null ? Rules.zeros(ops, y.get(i)) : ct.get(i));
        }
        Graph g = Autodiff.vjp(graph(op, specs(ops, x)));
        List<T> out = g.replay(ops, args);
        return out.subList(y.size(), out.size());
    }

    private static <T> List<TensorSpec> specs(Ops<T> ops, List<T> x) {
        return x.stream().map(ops::spec).toList();
    }
}

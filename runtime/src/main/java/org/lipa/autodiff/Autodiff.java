package org.lipa.autodiff;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.graph.Apply;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.ops.Full;
import org.lipa.ops.Ops;
import org.lipa.tensor.TensorSpec;

/**
 * Differentiation as graph transformations. Each returns a new {@link Graph} built by replaying the
 * original through a tracer while the rules ({@link JvpRules}, {@link VjpRules}) emit the derivative ops,
 * so the results can be compiled, run many times and differentiated again (an HVP is the JVP of a VJP).
 *
 * <p>Zero tangents and cotangents are symbolic (no ops are emitted for them) until an output needs a
 * value. Broadcasting and accumulation are handled here, once: a rule's tangent is expanded to its
 * output's shape, a cotangent is summed down to its input's shape, and cotangents reaching a node from
 * several uses are added.
 *
 * <pre>{@code
 * Graph f = Graph.trace(List.of(x.spec()), (ops, in) -> List.of(ops.tanh(ops.matmul(in.get(0), w))));
 * Graph df = Autodiff.jvp(f);                     // (x, v) -> (f(x), J v)
 * Graph pull = Autodiff.vjp(f);                   // (x, u) -> (f(x), J^T u)
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Autodiff {
    private Autodiff() {
    }

    /** Forward mode: inputs {@code (x..., v...)}, outputs {@code (y..., J v ...)}. */
    public static Graph jvp(Graph g) {
        List<TensorSpec> specs = new ArrayList<>(specs(g.inputs()));
        specs.addAll(specs(g.inputs()));
        return Graph.trace(specs, (ops, in) -> {
            int n = g.inputs().size();
            Map<Node, Node> primal = new IdentityHashMap<>();
            Map<Node, Node> tangent = new IdentityHashMap<>();
            for (int i = 0; i < n; i++) {
                primal.put(g.inputs().get(i), in.get(i));
                tangent.put(g.inputs().get(i), in.get(n + i));
            }
            for (Node c : g.constants()) {
                primal.put(c, ops.constant(c.constant()));
            }
            for (Apply a : g.applies()) {
                List<Node> x = lookup(primal, a.inputs());
                List<Node> t = lookup(tangent, a.inputs());
                List<Node> y = ops.apply(a.op(), x);
                put(primal, a.outputs(), y);
                if (t.stream().allMatch(v -> v == null)) {
                    continue;
                }
                List<Node> ty = JvpRules.jvp(ops, a.op(), x, y, t);
                for (int i = 0; i < ty.size(); i++) {
                    Node v = ty.get(i);
                    tangent.put(a.outputs().get(i), v == null ? null : Rules.expandTo(ops, v, y.get(i).spec().shape()));
                }
            }
            List<Node> out = new ArrayList<>(lookup(primal, g.outputs()));
            for (Node o : g.outputs()) {
                out.add(orZeros(ops, tangent.get(o), primal.get(o)));
            }
            return out;
        });
    }

    /** Reverse mode: inputs {@code (x..., u...)} with one cotangent per output, outputs {@code (y..., J^T u ...)}. */
    public static Graph vjp(Graph g) {
        List<TensorSpec> specs = new ArrayList<>(specs(g.inputs()));
        specs.addAll(specs(g.outputs()));
        int n = g.inputs().size();
        return Graph.trace(specs, (ops, in) -> reverse(ops, g, in.subList(0, n), in.subList(n, in.size())));
    }

    /**
     * The gradient of a scalar function: inputs {@code x...}, outputs {@code (y, dy/dx...)}.
     *
     * @throws IllegalArgumentException if the graph does not have exactly one output of one element
     */
    public static Graph grad(Graph g) {
        if (g.outputs().size() != 1) {
            throw new IllegalArgumentException("grad needs one output with one element, got " + specs(g.outputs())
                    + ": use gradWithAux for auxiliary outputs or vjp with a seed cotangent");
        }
        return gradWithAux(g);
    }

    /**
     * The gradient of a graph's first output, a scalar, with the other outputs carried along undifferentiated
     * (JAX's {@code has_aux}): inputs {@code x...}, outputs {@code (y, aux..., dy/dx...)}. Training uses the
     * auxiliary outputs for state a forward pass updates, such as batch norm's running statistics.
     *
     * @throws IllegalArgumentException if the first output does not have exactly one element
     */
    public static Graph gradWithAux(Graph g) {
        if (g.outputs().isEmpty() || g.outputs().get(0).spec().shape().size() != 1) {
            throw new IllegalArgumentException("grad needs a first output with one element, got " + specs(g.outputs())
                    + ": use vjp with a seed cotangent for other outputs");
        }
        TensorSpec out = g.outputs().get(0).spec();
        return Graph.trace(specs(g.inputs()), (ops, in) -> {
            List<Node> seeds = new ArrayList<>(java.util.Collections.nCopies(g.outputs().size(), (Node) null));
            seeds.set(0, ops.apply(new Full(out, 1), List.of()).get(0));
            return reverse(ops, g, in, seeds);
        });
    }

    /** Replays {@code g} on {@code x} and pulls {@code seeds} (one per output, null for zero) back: {@code (y..., J^T seeds ...)}. */
    private static List<Node> reverse(Ops<Node> ops, Graph g, List<Node> x, List<Node> seeds) {
        Map<Node, Node> primal = new IdentityHashMap<>();
        for (int i = 0; i < x.size(); i++) {
            primal.put(g.inputs().get(i), x.get(i));
        }
        for (Node c : g.constants()) {
            primal.put(c, ops.constant(c.constant()));
        }
        for (Apply a : g.applies()) {
            put(primal, a.outputs(), ops.apply(a.op(), lookup(primal, a.inputs())));
        }
        Map<Node, Node> cotangent = new IdentityHashMap<>();
        for (int i = 0; i < g.outputs().size(); i++) {
            if (seeds.get(i) != null) {
                cotangent.merge(g.outputs().get(i), seeds.get(i), ops::add);
            }
        }
        List<Apply> applies = g.applies();
        for (int k = applies.size() - 1; k >= 0; k--) {
            Apply a = applies.get(k);
            List<Node> ct = lookup(cotangent, a.outputs());
            if (ct.stream().allMatch(v -> v == null)) {
                continue;
            }
            List<Node> in = lookup(primal, a.inputs());
            List<Node> cx = VjpRules.vjp(ops, a.op(), in, lookup(primal, a.outputs()), ct);
            for (int i = 0; i < cx.size(); i++) {
                Node c = cx.get(i);
                if (c != null) {
                    c = Rules.unbroadcast(ops, c, in.get(i).spec().shape());
                    cotangent.merge(a.inputs().get(i), c, ops::add);
                }
            }
        }
        List<Node> out = new ArrayList<>(lookup(primal, g.outputs()));
        for (Node i : g.inputs()) {
            out.add(orZeros(ops, cotangent.get(i), primal.get(i)));
        }
        return out;
    }

    /**
     * Hessian-vector products of a scalar function (forward over reverse): inputs {@code (x..., v...)},
     * outputs {@code (dy/dx..., H v ...)}.
     */
    public static Graph hvp(Graph g) {
        Graph gradient = grad(g);
        Graph gradOnly = Graph.trace(specs(g.inputs()), (ops, in) -> {
            List<Node> r = gradient.replay(ops, in);
            return r.subList(1, r.size());
        });
        return jvp(gradOnly);
    }

    private static <T> T orZeros(Ops<T> ops, T v, T like) {
        return v != null ? v : ops.apply(new Full(ops.spec(like), 0), List.of()).get(0);
    }

    private static List<TensorSpec> specs(List<Node> nodes) {
        return nodes.stream().map(Node::spec).toList();
    }

    private static List<Node> lookup(Map<Node, Node> env, List<Node> keys) {
        List<Node> out = new ArrayList<>(keys.size());
        for (Node k : keys) {
            out.add(env.get(k));
        }
        return out;
    }

    private static void put(Map<Node, Node> env, List<Node> keys, List<Node> values) {
        for (int i = 0; i < keys.size(); i++) {
            env.put(keys.get(i), values.get(i));
        }
    }
}

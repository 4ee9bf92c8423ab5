package org.lipa.graph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.lipa.backend.Backend;
import org.lipa.ops.Ops;
import org.lipa.tensor.TensorSpec;

/**
 * A traced function: inputs, primitive applications in execution order, outputs. Immutable.
 *
 * <p>Trace once, then {@link #compile} for a backend and run many times, or {@link #replay} through
 * any facade ({@code Eager} evaluates; a {@link Tracer} copies the graph into another trace, which is
 * how transformations compose).
 *
 * <pre>{@code
 * Graph g = Graph.trace(List.of(x.spec(), w.spec()),
 *         (ops, in) -> List.of(ops.relu(ops.matmul(in.get(0), in.get(1)))));
 * Executable f = g.compile(cpu);
 * try (Arena step = Arena.ofConfined()) {
 *     Tensor y = f.run(step, List.of(x, w)).get(0);
 * }
 * }</pre>
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class Graph {
    /** A function of nodes to trace. */
    @FunctionalInterface
    public interface Function {
        List<Node> apply(Ops<Node> ops, List<Node> inputs);
    }

    private final List<Node> inputs;
    private final List<Node> outputs;
    private final List<Apply> applies;
    private final List<Node> constants;

    Graph(List<Node> inputs, List<Node> outputs, List<Apply> applies, List<Node> constants) {
        this.inputs = inputs;
        this.outputs = outputs;
        this.applies = applies;
        this.constants = constants;
    }

    /**
     * Traces {@code f} on symbolic inputs of the given specs.
     *
     * @throws IllegalArgumentException from any op's shape rule, naming the op and the bad shape
     */
    public static Graph trace(List<TensorSpec> inputSpecs, Function f) {
        Tracer t = new Tracer();
        List<Node> in = new ArrayList<>();
        for (TensorSpec s : inputSpecs) {
            in.add(t.input(Objects.requireNonNull(s, "input spec")));
        }
        return t.finish(f.apply(t, List.copyOf(in)));
    }

    public List<Node> inputs() {
        return inputs;
    }

    public List<Node> outputs() {
        return outputs;
    }

    /** Applications in execution (topological) order. */
    public List<Apply> applies() {
        return applies;
    }

    public List<Node> constants() {
        return constants;
    }

    /** Plans execution on {@code backend}: buffer offsets for every intermediate, computed once. */
    public Executable compile(Backend backend) {
        return new Executable(this, backend);
    }

    /**
     * Evaluates the graph through {@code ops} on {@code args} (one per input): every application is
     * re-applied with the facade's {@code apply}, every constant with its {@code constant}.
     */
    public <T> List<T> replay(Ops<T> ops, List<T> args) {
        if (args.size() != inputs.size()) {
            throw new IllegalArgumentException("the graph takes " + inputs.size() + " inputs, got " + args.size());
        }
        Map<Node, T> env = new HashMap<>();
        for (int i = 0; i < args.size(); i++) {
            T v = args.get(i);
            if (!ops.spec(v).equals(inputs.get(i).spec())) {
                throw new IllegalArgumentException("input " + i + " is " + ops.spec(v) + " but the graph was traced with "
                        + inputs.get(i).spec());
            }
            env.put(inputs.get(i), v);
        }
        for (Node c : constants) {
            env.put(c, ops.constant(c.constant()));
        }
        for (Apply a : applies) {
            List<T> in = new ArrayList<>(a.inputs().size());
            for (Node n : a.inputs()) {
                in.add(env.get(n));
            }
            List<T> out = ops.apply(a.op(), in);
            for (int i = 0; i < out.size(); i++) {
                env.put(a.outputs().get(i), out.get(i));
            }
        }
        List<T> result = new ArrayList<>(outputs.size());
        for (Node n : outputs) {
            result.add(env.get(n));
        }
        return result;
    }

    /**
     * Partial evaluation: fixes the first {@code fixed.size()} inputs to the given values, computes on
     * {@code backend} every application that depends on nothing else (results kept in {@code arena}),
     * and returns the graph of the rest, whose inputs are the remaining ones and in which the computed
     * values are constants. This is how a pullback or a linearization reuses its forward pass: fix x in
     * the VJP (or JVP) graph and only the cotangent (or tangent) part is left to run per call.
     */
    public Graph partial(List<org.lipa.tensor.Tensor> fixed, Backend backend, java.lang.foreign.Arena arena) {
        int k = fixed.size();
        if (k > inputs.size()) {
            throw new IllegalArgumentException("cannot fix " + k + " inputs of a graph with " + inputs.size());
        }
        java.util.Set<Node> dynamic = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        dynamic.addAll(inputs.subList(k, inputs.size()));
        for (Apply a : applies) {
            if (a.inputs().stream().anyMatch(dynamic::contains)) {
                dynamic.addAll(a.outputs());
            }
        }
        // static values the dynamic part (or the outputs) reads
        List<Node> needed = new ArrayList<>();
        java.util.Set<Node> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        java.util.function.Consumer<Node> need = n -> {
            if (!dynamic.contains(n) && !n.isConstant() && seen.add(n)) {
                needed.add(n);
            }
        };
        for (Apply a : applies) {
            if (a.outputs().stream().anyMatch(dynamic::contains)) {
                a.inputs().forEach(need);
            }
        }
        outputs.forEach(need);
        Graph staticPart = new Graph(inputs.subList(0, k), List.copyOf(needed), applies.stream()
                .filter(a -> a.outputs().stream().noneMatch(dynamic::contains)).toList(), constants);
        List<org.lipa.tensor.Tensor> values = staticPart.compile(backend).run(arena, fixed);
        Map<Node, org.lipa.tensor.Tensor> known = new java.util.IdentityHashMap<>();
        for (int i = 0; i < needed.size(); i++) {
            known.put(needed.get(i), values.get(i));
        }
        List<TensorSpec> rest = inputs.subList(k, inputs.size()).stream().map(Node::spec).toList();
        return trace(rest, (ops, in) -> {
            Map<Node, Node> env = new java.util.IdentityHashMap<>();
            for (int i = 0; i < in.size(); i++) {
                env.put(inputs.get(k + i), in.get(i));
            }
            java.util.function.Function<Node, Node> get = n -> env.computeIfAbsent(n, m -> ops.constant(
                    m.isConstant() ? m.constant() : known.get(m)));
            for (Apply a : applies) {
                if (a.outputs().stream().anyMatch(dynamic::contains)) {
                    List<Node> out = ops.apply(a.op(), a.inputs().stream().map(get).toList());
                    for (int i = 0; i < out.size(); i++) {
                        env.put(a.outputs().get(i), out.get(i));
                    }
                }
            }
            return outputs.stream().map(get).toList();
        });
    }

    /** One line per input and application, like {@code %2:f32[4, 3] = matmul(%0, %1)}. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("graph(");
        for (int i = 0; i < inputs.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(inputs.get(i));
        }
        sb.append(") {\n");
        for (Node c : constants) {
            sb.append("  ").append(c).append(" = constant\n");
        }
        for (Apply a : applies) {
            sb.append("  ");
            for (int i = 0; i < a.outputs().size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(a.outputs().get(i));
            }
            sb.append(" = ").append(a.op().name()).append('(');
            for (int i = 0; i < a.inputs().size(); i++) {
                sb.append(i == 0 ? "" : ", ").append('%').append(a.inputs().get(i).id());
            }
            sb.append(")\n");
        }
        sb.append("  return ");
        for (int i = 0; i < outputs.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append('%').append(outputs.get(i).id());
        }
        return sb.append("\n}").toString();
    }
}

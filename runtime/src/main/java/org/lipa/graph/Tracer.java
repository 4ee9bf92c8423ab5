package org.lipa.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.lipa.ops.Op;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The op facade that records instead of computing: every op applied to its nodes becomes an
 * {@link Apply} in the graph being traced. Shape rules run while tracing, so a shape error surfaces at
 * trace time with the op's own message. Use through {@link Graph#trace}.
 *
 * <p>Not thread-safe: one tracer per trace.
 */
public final class Tracer extends Ops<Node> {
    private final List<Node> inputs = new ArrayList<>();
    private final List<Apply> applies = new ArrayList<>();
    private final List<Node> constants = new ArrayList<>();
    private int nextId;

    Tracer() {
    }

    Node input(TensorSpec spec) {
        Node n = new Node(this, nextId++, spec, null, 0, null);
        inputs.add(n);
        return n;
    }

    @Override
    public TensorSpec spec(Node x) {
        return Objects.requireNonNull(x, "node").spec();
    }

    /**
     * A constant node holding {@code value}. The graph refers to the tensor, it does not copy it: the
     * tensor's arena must stay open while the graph is run.
     */
    @Override
    public Node constant(Tensor value) {
        value.checkAlive("constant");
        Node n = new Node(this, nextId++, value.spec(), null, 0, value);
        constants.add(n);
        return n;
    }

    @Override
    public List<Node> apply(Op op, List<Node> args) {
        Objects.requireNonNull(op, "op");
        for (int i = 0; i < args.size(); i++) {
            Node n = Objects.requireNonNull(args.get(i), () -> op.name() + ": input is null");
            if (n.owner() != this) {
                throw new IllegalArgumentException(op.name() + ": input " + i + " " + n
                        + " belongs to another trace; pass tensors in as inputs or constants");
            }
        }
        List<TensorSpec> outSpecs = op.infer(specs(args));
        List<Node> outs = new ArrayList<>(outSpecs.size());
        Apply a = new Apply(op, List.copyOf(args), Collections.unmodifiableList(outs));
        for (int i = 0; i < outSpecs.size(); i++) {
            outs.add(new Node(this, nextId++, outSpecs.get(i), a, i, null));
        }
        applies.add(a);
        return a.outputs();
    }

    Graph finish(List<Node> outputs) {
        for (Node n : outputs) {
            if (Objects.requireNonNull(n, "output").owner() != this) {
                throw new IllegalArgumentException("output " + n + " belongs to another trace");
            }
        }
        // dead-code elimination: keep only applications whose results reach an output, so rules may emit
        // freely (cotangents of constants, unused statistics) and nothing unused is ever run
        java.util.Set<Node> live = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        live.addAll(outputs);
        List<Apply> kept = new ArrayList<>();
        for (int i = applies.size() - 1; i >= 0; i--) {
            Apply a = applies.get(i);
            if (a.outputs().stream().anyMatch(live::contains)) {
                kept.add(a);
                live.addAll(a.inputs());
            }
        }
        Collections.reverse(kept);
        List<Node> usedConstants = constants.stream().filter(live::contains).toList();
        return new Graph(List.copyOf(inputs), List.copyOf(outputs), List.copyOf(kept), usedConstants);
    }
}

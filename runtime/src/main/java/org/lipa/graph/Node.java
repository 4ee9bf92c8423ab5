package org.lipa.graph;

import java.util.Objects;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A symbolic tensor in a traced {@link Graph}: one of the graph's inputs, a constant captured while
 * tracing, or output {@code index} of an {@link Apply}. Nodes compare by identity.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class Node {
    private final Tracer owner;
    private final int id;
    private final TensorSpec spec;
    private final Apply producer;
    private final int index;
    private final Tensor constant;

    Node(Tracer owner, int id, TensorSpec spec, Apply producer, int index, Tensor constant) {
        this.owner = owner;
        this.id = id;
        this.spec = Objects.requireNonNull(spec, "spec");
        this.producer = producer;
        this.index = index;
        this.constant = constant;
    }

    Tracer owner() {
        return owner;
    }

    /** A number unique within the graph that made this node, in creation order. */
    public int id() {
        return id;
    }

    public TensorSpec spec() {
        return spec;
    }

    /** The application that computes this node, or null for inputs and constants. */
    public Apply producer() {
        return producer;
    }

    /** Which output of {@link #producer()} this node is. */
    public int index() {
        return index;
    }

    /** The value of a constant node, or null. */
    public Tensor constant() {
        return constant;
    }

    public boolean isConstant() {
        return constant != null;
    }

    /** Like {@code %3:f32[128, 512]}. */
    @Override
    public String toString() {
        return "%" + id + ":" + spec;
    }
}

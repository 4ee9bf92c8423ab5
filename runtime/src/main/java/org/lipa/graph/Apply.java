package org.lipa.graph;

import java.util.List;
import org.lipa.ops.Op;

/**
 * One application of a primitive op in a graph.
 *
 * @param op      the primitive, with its parameters
 * @param inputs  argument nodes
 * @param outputs result nodes, in the order the op's shape rule gives them
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Apply(Op op, List<Node> inputs, List<Node> outputs) {
    @Override
    public String toString() {
        return outputs + " = " + op + inputs;
    }
}

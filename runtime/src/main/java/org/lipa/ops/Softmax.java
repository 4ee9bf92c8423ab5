package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * Softmax {@code exp(x - max) / sum exp(x - max)} along {@code axis}, or its logarithm when {@code log}.
 * A negative axis counts from the end.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Softmax(int axis, boolean log) implements Op {
    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        Checks.rank(this, "x", in.get(0), 1, org.lipa.tensor.Shape.MAX_RANK);
        Checks.axis(this, "x", in.get(0).shape(), axis);
        return List.of(in.get(0));
    }

    @Override
    public String name() {
        return log ? "log_softmax" : "softmax";
    }
}

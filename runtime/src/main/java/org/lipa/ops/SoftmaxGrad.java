package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * The gradient of {@link Softmax} from its output: inputs {@code y} (the softmax or log-softmax) and the
 * cotangent {@code g}; result {@code y (g - sum(g y))} for softmax and {@code g - exp(y) sum(g)} for
 * log-softmax, sums along {@code axis}. oneDNN's softmax backward.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record SoftmaxGrad(int axis, boolean log) implements Op, Composite {
    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        Checks.sameDType(this, in, "y", "g");
        if (!in.get(0).shape().equals(in.get(1).shape())) {
            throw new IllegalArgumentException(name() + ": y " + in.get(0).shape() + " and g " + in.get(1).shape()
                    + " must have the same shape");
        }
        Checks.axis(this, "y", in.get(0).shape(), axis);
        return List.of(in.get(0));
    }

    @Override
    public <T> List<T> decompose(Ops<T> ops, List<T> in) {
        T y = in.get(0);
        T g = in.get(1);
        if (log) {
            return List.of(ops.sub(g, ops.mul(ops.exp(y), ops.sum(g, true, axis))));
        }
        return List.of(ops.mul(y, ops.sub(g, ops.sum(ops.mul(g, y), true, axis))));
    }

    /** The softmax this is the gradient of. */
    public Softmax forward() {
        return new Softmax(axis, log);
    }

    @Override
    public String name() {
        return (log ? "log_softmax" : "softmax") + "_grad";
    }
}

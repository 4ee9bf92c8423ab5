package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * The gradient of {@link Pool2d} with respect to its input: inputs {@code x} (the pooled input) and the
 * output cotangent {@code g}; result shaped like {@code x}. Average pooling spreads each cotangent
 * evenly over its window (its adjoint; x only gives the shape); max pooling sends it to the window's
 * maximum, the first one in row-major order on ties (as oneDNN and PyTorch do).
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Pool2dGrad(Pool2d pool) implements Op {
    public Pool2dGrad {
        java.util.Objects.requireNonNull(pool, "pool");
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        Checks.sameDType(this, in, "x", "g");
        var y = pool.infer(List.of(in.get(0))).get(0);
        if (!y.shape().equals(in.get(1).shape())) {
            throw new IllegalArgumentException(name() + ": g " + in.get(1).shape() + " is not the pooled shape " + y.shape()
                    + " of x " + in.get(0).shape());
        }
        return List.of(in.get(0));
    }

    @Override
    public String name() {
        return pool.name() + "_grad";
    }
}

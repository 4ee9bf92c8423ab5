package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * The derivative of {@link Pool2d} applied to a tangent: inputs {@code x} (the pooled input) and a
 * tangent {@code v} shaped like it; the result is shaped like the pooled output. Average pooling is
 * linear, so this is the average pooling of {@code v}; max pooling picks {@code v} at each window's
 * maximum of {@code x} (the first on ties). It is the transpose of {@link Pool2dGrad}.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Pool2dTangent(Pool2d pool) implements Op {
    public Pool2dTangent {
        java.util.Objects.requireNonNull(pool, "pool");
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        Checks.sameDType(this, in, "x", "v");
        if (!in.get(0).shape().equals(in.get(1).shape())) {
            throw new IllegalArgumentException(name() + ": x " + in.get(0).shape() + " and v " + in.get(1).shape()
                    + " must have the same shape");
        }
        return pool.infer(List.of(in.get(0)));
    }

    @Override
    public String name() {
        return pool.name() + "_tangent";
    }
}

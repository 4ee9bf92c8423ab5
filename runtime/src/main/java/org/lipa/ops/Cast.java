package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * Copies a tensor of any strides into a contiguous one of dtype {@code to} (oneDNN's reorder).
 * With the same dtype this is how views are materialized.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Cast(org.lipa.tensor.DType to) implements Op {
    public Cast {
        java.util.Objects.requireNonNull(to, "to");
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        return List.of(new TensorSpec(in.get(0).shape(), to));
    }

    @Override
    public String name() {
        return "cast";
    }
}

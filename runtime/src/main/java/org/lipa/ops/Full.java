package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * A tensor of {@code spec} filled with {@code value}; takes no inputs. Differentiation uses it for
 * explicit zeros and ones (a symbolic zero needs no op; an output that must exist does).
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Full(TensorSpec spec, double value) implements Op {
    public Full {
        java.util.Objects.requireNonNull(spec, "spec");
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 0, 0);
        return List.of(spec);
    }

    @Override
    public String name() {
        return "full";
    }
}

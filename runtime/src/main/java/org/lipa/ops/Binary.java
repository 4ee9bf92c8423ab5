package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * An elementwise function of two tensors whose shapes broadcast numpy-style.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Binary(Kind kind) implements Op {
    public enum Kind { ADD, SUB, MUL, DIV, MAX, MIN }

    public Binary {
        java.util.Objects.requireNonNull(kind, "kind");
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        var d = Checks.sameDType(this, in, "a", "b");
        Shape out;
        try {
            out = Shape.broadcast(in.get(0).shape(), in.get(1).shape());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(name() + ": " + e.getMessage(), e);
        }
        return List.of(new TensorSpec(out, d));
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}

package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Joins tensors along {@code axis}; every other dimension must agree.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Concat(int axis) implements Op {
    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        if (in.isEmpty()) {
            throw new IllegalArgumentException("concat needs at least one input");
        }
        var d = Checks.sameDType(this, in);
        Shape first = in.get(0).shape();
        int a = Checks.axis(this, "input 0", first, axis);
        long total = 0;
        for (int i = 0; i < in.size(); i++) {
            Shape s = in.get(i).shape();
            if (s.rank() != first.rank() || !s.with(a, 0).equals(first.with(a, 0))) {
                throw new IllegalArgumentException("concat along axis " + axis + ": input " + i + " " + s
                        + " does not match input 0 " + first + " outside that axis");
            }
            total += s.dim(a);
        }
        return List.of(new TensorSpec(first.with(a, total), d));
    }

    @Override
    public String name() {
        return "concat";
    }
}

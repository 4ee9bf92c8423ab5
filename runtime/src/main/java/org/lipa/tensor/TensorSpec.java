package org.lipa.tensor;

import java.util.Objects;

/**
 * What an op needs to know of a value to check it and infer its result: shape and element type.
 *
 * @param shape the dimensions
 * @param dtype the element type
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record TensorSpec(Shape shape, DType dtype) {
    public TensorSpec {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(dtype, "dtype");
    }

    @Override
    public String toString() {
        return dtype.shortName() + shape;
    }
}

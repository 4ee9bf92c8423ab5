package org.lipa.analysis;

import java.lang.foreign.Arena;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * An operator defined on heap vectors ({@link LinearOperator#apply(double[])} and its transpose), whose tensor
 * level is the same map on float64 vectors {@code [cols]} and {@code [rows]}: the base of
 * {@link LinearOperator#dense} and {@link LinearOperator#symmetric}.
 */
abstract class HeapOperator implements LinearOperator {
    private final TensorSpec domain;
    private final TensorSpec range;

    HeapOperator(int cols, int rows) {
        this.domain = new TensorSpec(Shape.of(cols), DType.F64);
        this.range = new TensorSpec(Shape.of(rows), DType.F64);
    }

    @Override
    public abstract double[] apply(double[] v);

    @Override
    public abstract double[] applyTranspose(double[] u);

    @Override
    public TensorSpec domain() {
        return domain;
    }

    @Override
    public TensorSpec range() {
        return range;
    }

    @Override
    public Tensor apply(Arena arena, Tensor v) {
        return Tensor.of(arena, DType.F64, apply(v.toDoubleArray()), rangeSize());
    }

    @Override
    public Tensor applyTranspose(Arena arena, Tensor u) {
        return Tensor.of(arena, DType.F64, applyTranspose(u.toDoubleArray()), domainSize());
    }
}

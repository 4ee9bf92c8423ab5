package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * How a tensor is laid out, in the terms oneDNN needs: dtype, dims and strides (in elements).
 * A value (equality by content), so it can be part of a primitive cache key.
 *
 * <p>oneDNN does not accept rank-0 memory, so scalars are described as {@code [1]}.
 */
record MemoryDesc(DType dtype, long[] dims, long[] strides) {

    /** The layout of {@code t} as it is, strides included. */
    static MemoryDesc of(Tensor t) {
        if (t.rank() == 0) {
            return new MemoryDesc(t.dtype(), new long[] {1}, new long[] {1});
        }
        return new MemoryDesc(t.dtype(), t.shape().toArray(), t.strides());
    }

    /** A row-major layout of {@code dims}. */
    static MemoryDesc contiguous(DType dtype, long... dims) {
        if (dims.length == 0) {
            return new MemoryDesc(dtype, new long[] {1}, new long[] {1});
        }
        return new MemoryDesc(dtype, dims, org.lipa.tensor.Shape.of(dims).contiguousStrides());
    }

    /** The same layout viewed with other dims and strides (no data moves). */
    MemoryDesc with(long[] newDims, long[] newStrides) {
        return new MemoryDesc(dtype, newDims, newStrides);
    }

    int rank() {
        return dims.length;
    }

    /** Whether a dimension larger than 1 has stride 0 (a broadcast view oneDNN cannot read directly). */
    boolean hasZeroStride() {
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] > 1 && strides[i] == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * Creates the oneDNN memory descriptor; the caller destroys it with {@code dnnl_memory_desc_destroy}
     * (or hands it to {@link Primitive}, which does).
     */
    MemorySegment create() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            MemorySegment d = a.allocateFrom(ValueLayout.JAVA_LONG, dims);
            // size-1 dims may carry any stride in our views; oneDNN wants a consistent one
            long[] s = strides.clone();
            for (int i = 0; i < s.length; i++) {
                if (dims[i] == 1) {
                    s[i] = 1;
                    for (int j = i + 1; j < s.length; j++) {
                        s[i] = Math.max(s[i], s[j] * Math.max(dims[j], 1));
                    }
                }
            }
            MemorySegment st = a.allocateFrom(ValueLayout.JAVA_LONG, s);
            Dnnl.check(dnnl_memory_desc_create_with_strides(out, dims.length, d, dataType(dtype), st),
                    "dnnl_memory_desc_create_with_strides");
            return out.get(ValueLayout.ADDRESS, 0);
        }
    }

    static int dataType(DType t) {
        return switch (t) {
            case F32 -> dnnl_f32();
            case F64 -> dnnl_f64();
            case BF16 -> dnnl_bf16();
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MemoryDesc m && m.dtype == dtype && Arrays.equals(m.dims, dims) && Arrays.equals(m.strides, strides);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dtype.hashCode() + Arrays.hashCode(dims)) + Arrays.hashCode(strides);
    }

    @Override
    public String toString() {
        return dtype.shortName() + Arrays.toString(dims) + " strides " + Arrays.toString(strides);
    }
}

package org.lipa.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Reading the f32 elements of a strided host view into a Java array in row-major order, for
 * {@link Tensor#toFloatArray()}.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
final class StridedFloats {
    private StridedFloats() {
    }

    /**
     * The f32 elements of a strided view in row-major order, row by row of the last axis, without the
     * offset table {@code Tensor.elementOffsets} builds: the gradients of transposed weights come this way, once per
     * parameter per training step (the table made the MLP step 1.6x slower).
     */
    static float[] gather(MemorySegment storage, Shape shape, long[] strides, long offset) {
        float[] out = new float[Math.toIntExact(shape.size())];
        int r = shape.rank();
        if (r >= 2 && strides[r - 2] == 1 && strides[r - 1] != 1 && shape.dim(r - 2) > 1) {
            return transposed(storage, shape, strides, offset, out);
        }
        int inner = Math.toIntExact(shape.dim(r - 1));
        long step = strides[r - 1];
        long[] idx = new long[r - 1];
        long base = offset;
        for (int k = 0; k < out.length; k += inner) {
            if (step == 1) {
                MemorySegment.copy(storage, ValueLayout.JAVA_FLOAT, base * 4, out, k, inner);
            } else {
                long off = base;
                for (int j = 0; j < inner; j++, off += step) {
                    out[k + j] = storage.getAtIndex(ValueLayout.JAVA_FLOAT, off);
                }
            }
            base = advance(shape, strides, idx, base);
        }
        return out;
    }

    /**
     * Steps the index {@code idx} over the leading {@code idx.length} axes to the next position in row-major
     * order and returns {@code base} (the element offset of the current position) moved to match.
     */
    private static long advance(Shape shape, long[] strides, long[] idx, long base) {
        for (int d = idx.length - 1; d >= 0; d--) {
            base += strides[d];
            if (++idx[d] < shape.dim(d)) {
                return base;
            }
            base -= strides[d] * idx[d];
            idx[d] = 0;
        }
        return base;
    }

    /**
     * {@link #gather} for a view whose last two axes are swapped (a transposed matrix, or a batch of
     * them): each stored column (a contiguous run) is bulk-copied to the heap, then transposed there in
     * tiles, which the JIT compiles to plain array code (reading the segment element by element was 4 ns
     * per float).
     */
    private static float[] transposed(MemorySegment storage, Shape shape, long[] strides, long offset, float[] out) {
        int r = shape.rank();
        int rows = Math.toIntExact(shape.dim(r - 2));
        int cols = Math.toIntExact(shape.dim(r - 1));
        long colStep = strides[r - 1];
        float[] stored = new float[rows * cols]; // stored[j * rows + i] = element (i, j)
        int tile = 32;
        long[] idx = new long[r - 2];
        long base = offset;
        for (int k = 0; k < out.length; k += rows * cols) {
            for (int j = 0; j < cols; j++) {
                MemorySegment.copy(storage, ValueLayout.JAVA_FLOAT, (base + j * colStep) * 4, stored, j * rows, rows);
            }
            for (int i0 = 0; i0 < rows; i0 += tile) {
                int i1 = Math.min(rows, i0 + tile);
                for (int j0 = 0; j0 < cols; j0 += tile) {
                    int j1 = Math.min(cols, j0 + tile);
                    for (int i = i0; i < i1; i++) {
                        for (int j = j0; j < j1; j++) {
                            out[k + i * cols + j] = stored[j * rows + i];
                        }
                    }
                }
            }
            base = advance(shape, strides, idx, base);
        }
        return out;
    }
}

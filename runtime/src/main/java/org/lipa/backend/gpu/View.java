package org.lipa.backend.gpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Where the elements of a logical array live, as the CUDA kernels read it: {@code struct View { long long
 * dims[8]; long long strides[8]; int rank; }} (136 bytes, strides in elements, 0 for a broadcast axis).
 *
 * <p>Several views indexed together (the inputs and output of one elementwise kernel) are first
 * {@linkplain #collapse collapsed} jointly: size-1 axes are dropped and neighbouring axes merged wherever
 * every view steps through them as one, so most calls reach the kernel with rank 1 or 2 and the index
 * arithmetic per element stays small.
 *
 * @param dims    the logical dimensions
 * @param strides the stride of each dimension, in elements
 *
 * <p>Thread safety: immutable once built (the arrays are not shared).
 */
record View(long[] dims, long[] strides) {
    /** Most axes a kernel view holds. */
    static final int MAX_RANK = 8;
    /** Size of the C struct, padding included. */
    static final long BYTES = 136;

    /** The view of {@code t} read as an array of {@code shape} it broadcasts to (stride 0 on new or size-1 axes). */
    static View of(Tensor t, Shape shape) {
        int r = shape.rank();
        int off = r - t.rank();
        if (off < 0) {
            throw new IllegalArgumentException(t.spec() + " does not broadcast to " + shape);
        }
        long[] st = new long[r];
        long[] ts = t.strides();
        for (int i = 0; i < t.rank(); i++) {
            long d = t.shape().dim(i);
            if (d == shape.dim(off + i)) {
                st[off + i] = d == 1 ? 0 : ts[i];
            } else if (d == 1) {
                st[off + i] = 0;
            } else {
                throw new IllegalArgumentException(t.spec() + " does not broadcast to " + shape);
            }
        }
        return new View(shape.toArray(), st);
    }

    /** The view of {@code t} over its own shape. */
    static View of(Tensor t) {
        return of(t, t.shape());
    }

    /** A contiguous row-major view of {@code dims}. */
    static View contiguous(long... dims) {
        return new View(dims.clone(), Shape.of(dims).contiguousStrides());
    }

    /**
     * The views with size-1 axes dropped and neighbouring axes merged where every view allows it; all views
     * must have the same dims. Throws if more than {@link #MAX_RANK} axes remain.
     */
    static View[] collapse(View... views) {
        long[] dims = views[0].dims;
        List<Integer> keep = new ArrayList<>();
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] != 1) {
                keep.add(i);
            }
        }
        long[][] outStrides = new long[views.length][keep.size()];
        long[] nd = new long[keep.size()];
        int n = 0;
        for (int k : keep) {
            boolean merge = n > 0;
            for (int v = 0; v < views.length && merge; v++) {
                merge = outStrides[v][n - 1] == views[v].strides[k] * dims[k];
            }
            if (merge) {
                nd[n - 1] *= dims[k];
                for (int v = 0; v < views.length; v++) {
                    outStrides[v][n - 1] = views[v].strides[k];
                }
            } else {
                nd[n] = dims[k];
                for (int v = 0; v < views.length; v++) {
                    outStrides[v][n] = views[v].strides[k];
                }
                n++;
            }
        }
        if (n > MAX_RANK) {
            throw new IllegalArgumentException("the GPU kernels index at most " + MAX_RANK + " axes, but " + Arrays.toString(dims)
                    + " with strides " + Arrays.toString(views[0].strides) + " still has " + n + " after merging");
        }
        View[] out = new View[views.length];
        for (int v = 0; v < views.length; v++) {
            out[v] = new View(Arrays.copyOf(nd, n), Arrays.copyOf(outStrides[v], n));
        }
        return out;
    }

    /** Writes the C struct at {@code at}. */
    void writeTo(MemorySegment at) {
        at.asSlice(0, BYTES).fill((byte) 0);
        for (int i = 0; i < dims.length; i++) {
            at.setAtIndex(ValueLayout.JAVA_LONG, i, dims[i]);
            at.setAtIndex(ValueLayout.JAVA_LONG, MAX_RANK + i, strides[i]);
        }
        at.set(ValueLayout.JAVA_INT, 2L * MAX_RANK * 8, dims.length);
    }

    long size() {
        long n = 1;
        for (long d : dims) {
            n *= d;
        }
        return n;
    }
}

package org.lipa.tensor;

import java.util.Arrays;

/**
 * The two layout questions the backends ask of a view's strides: row-major without gaps
 * ({@link Tensor#isContiguous()}), and without gaps in some axis order ({@link Tensor#isDense()}, true of
 * channels-last activations too).
 *
 * <p>Thread safety: stateless static methods.
 */
final class StrideOrder {
    private StrideOrder() {
    }

    /** Row-major without gaps; size-1 axes may have any stride, and an empty tensor is contiguous. */
    static boolean isContiguous(Shape shape, long[] strides) {
        if (shape.size() == 0) {
            return true;
        }
        long expected = 1;
        for (int i = shape.rank() - 1; i >= 0; i--) {
            long d = shape.dim(i);
            if (d != 1 && strides[i] != expected) {
                return false;
            }
            expected *= d;
        }
        return true;
    }

    /** Contiguous once the axes are sorted by stride; size-1 axes may have any stride. */
    static boolean isDense(Shape shape, long[] strides) {
        if (shape.size() == 0) {
            return true;
        }
        Integer[] axes = new Integer[shape.rank()];
        Arrays.setAll(axes, i -> i);
        Arrays.sort(axes, (a, b) -> Long.compare(strides[a], strides[b]));
        long expected = 1;
        for (int a : axes) {
            long d = shape.dim(a);
            if (d != 1) {
                if (strides[a] != expected) {
                    return false;
                }
                expected *= d;
            }
        }
        return true;
    }
}

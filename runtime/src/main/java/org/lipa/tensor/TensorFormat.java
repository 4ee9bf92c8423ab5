package org.lipa.tensor;

import java.util.Locale;
import java.util.function.LongToDoubleFunction;

/**
 * The values part of {@link Tensor#toString()}: nested brackets by dimension, the first and last three
 * entries of a dimension longer than six, whole numbers as {@code 3.} and the rest to five significant digits.
 *
 * <p>Thread safety: stateless static methods.
 */
final class TensorFormat {
    private TensorFormat() {
    }

    /**
     * Appends the values of a host view to {@code sb}; {@code read} gives the value at an element offset.
     *
     * @return {@code sb}
     */
    static StringBuilder appendValues(StringBuilder sb, Shape shape, long[] strides, long offset, LongToDoubleFunction read) {
        append(sb, shape, strides, 0, offset, read);
        return sb;
    }

    private static void append(StringBuilder sb, Shape shape, long[] strides, int dim, long off, LongToDoubleFunction read) {
        int rank = shape.rank();
        if (dim == rank) {
            sb.append(format(read.applyAsDouble(off)));
            return;
        }
        long n = shape.dim(dim);
        sb.append('[');
        for (long i = 0; i < n; i++) {
            if (n > 6 && i == 3) {
                sb.append("..., ");
                i = n - 3;
            }
            append(sb, shape, strides, dim + 1, off + i * strides[dim], read);
            if (i < n - 1) {
                sb.append(dim == rank - 1 ? ", " : ",\n" + " ".repeat(dim + 1));
            }
        }
        sb.append(']');
    }

    private static String format(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e7) {
            return (long) v + ".";
        }
        return String.format(Locale.ROOT, "%.5g", v);
    }
}

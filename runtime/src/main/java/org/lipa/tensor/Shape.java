package org.lipa.tensor;

import java.util.Arrays;

/**
 * An immutable list of dimension sizes, outermost first (row-major).
 *
 * <p>Sizes are non-negative and their product (reading a size 0 as 1) must fit in a {@code long}; a
 * scalar has rank 0.
 * Example: {@code Shape.of(32, 3, 28, 28).size()} is 75264.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class Shape {
    /** The most dimensions a tensor may have (oneDNN's limit). */
    public static final int MAX_RANK = 12;

    private final long[] dims;
    private final long size;

    private Shape(long[] dims) {
        if (dims.length > MAX_RANK) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has rank " + dims.length
                    + ", more than the supported " + MAX_RANK);
        }
        long n = 1;
        long nonZero = 1; // the product of the sizes with 0 read as 1: the largest contiguous stride
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] < 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(dims) + ": dimension " + i
                        + " is negative (" + dims[i] + ")");
            }
            try {
                nonZero = Math.multiplyExact(nonZero, Math.max(dims[i], 1));
            } catch (ArithmeticException e) {
                // checked with zeros read as 1 so that the answer does not depend on where a zero is, and so
                // that contiguous strides always fit
                throw new IllegalArgumentException("shape " + Arrays.toString(dims)
                        + ": element count (or a stride) overflows a long", e);
            }
            n *= dims[i];
        }
        this.dims = dims;
        this.size = n;
    }

    /** A shape with the given sizes (copied). */
    public static Shape of(long... dims) {
        return new Shape(dims.clone());
    }

    /** A shape with the given sizes. */
    public static Shape of(int... dims) {
        long[] d = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            d[i] = dims[i];
        }
        return new Shape(d);
    }

    /** The rank-0 shape of a scalar. */
    public static Shape scalar() {
        return new Shape(new long[0]);
    }

    public int rank() {
        return dims.length;
    }

    /** Size of dimension {@code axis}; negative axes count from the end. */
    public long dim(int axis) {
        return dims[axis(axis)];
    }

    /** The number of elements. */
    public long size() {
        return size;
    }

    /** A copy of the sizes. */
    public long[] toArray() {
        return dims.clone();
    }

    /** Normalises an axis that may count from the end, checking it is in range. */
    public int axis(int axis) {
        int a = axis < 0 ? axis + dims.length : axis;
        if (a < 0 || a >= dims.length) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for shape " + this);
        }
        return a;
    }

    /** This shape with dimension {@code axis} replaced. */
    public Shape with(int axis, long size) {
        long[] d = dims.clone();
        d[axis(axis)] = size;
        return new Shape(d);
    }

    /** Dimensions {@code from} (inclusive) to {@code to} (exclusive). */
    public Shape sub(int from, int to) {
        if (from < 0 || to > dims.length || from > to) {
            throw new IllegalArgumentException("dimensions [" + from + ", " + to + ") are out of range for shape " + this);
        }
        return new Shape(Arrays.copyOfRange(dims, from, to));
    }

    /** Row-major (C-order) strides in elements. */
    public long[] contiguousStrides() {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(dims[i], 1);
        }
        return s;
    }

    /**
     * The numpy broadcast of two shapes: aligned from the right, each pair of sizes equal or one of them 1.
     *
     * @throws IllegalArgumentException naming both shapes when they do not broadcast
     */
    public static Shape broadcast(Shape a, Shape b) {
        int r = Math.max(a.rank(), b.rank());
        long[] out = new long[r];
        for (int i = 0; i < r; i++) {
            long da = i < r - a.rank() ? 1 : a.dims[i - (r - a.rank())];
            long db = i < r - b.rank() ? 1 : b.dims[i - (r - b.rank())];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + a + " and " + b
                        + " do not broadcast: dimension " + i + " of the result is " + da + " vs " + db);
            }
            out[i] = da == 1 ? db : da;
        }
        return new Shape(out);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape s && Arrays.equals(dims, s.dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** Like {@code [2, 3, 4]}. */
    @Override
    public String toString() {
        return Arrays.toString(dims);
    }
}

package org.lipa.models.data;

import java.lang.foreign.Arena;
import java.util.Random;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Examples as rows of a float matrix with integer class labels, held on the heap; batches are copied to
 * off-heap tensors in the caller's step arena.
 *
 * @param features  {@code n * width} values, row-major
 * @param width     features per example
 * @param labels    class of each example
 * @param classes   number of classes
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Dataset(float[] features, int width, int[] labels, int classes) {
    /**
     * Checks that there are {@code width} features for every label and that every label is a class.
     *
     * @throws IllegalArgumentException naming the first label outside {@code [0, classes)} or the mismatched lengths
     */
    public Dataset {
        if (features.length != (long) labels.length * width) {
            throw new IllegalArgumentException(labels.length + " labels but " + features.length + " features of width " + width);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label " + i + " is " + labels[i] + ", outside [0, " + classes + ")");
            }
        }
    }

    /** The number of examples. */
    public int size() {
        return labels.length;
    }

    /** The examples in a seeded random order. */
    public int[] shuffled(long seed) {
        return permutation(size(), seed);
    }

    /** Two disjoint parts of a data set, such as training and validation examples. */
    public record Parts(Dataset first, Dataset second) {
    }

    /**
     * A seeded random split: {@code round(fraction * size())} examples go to the first part, the rest to the
     * second, each part keeping the examples in their original order.
     *
     * @throws IllegalArgumentException when {@code fraction} is outside [0, 1]
     */
    public Parts split(double fraction, long seed) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("split: fraction must be in [0, 1], got " + fraction);
        }
        int[] order = shuffled(seed);
        int k = (int) Math.round(fraction * size());
        int[] a = java.util.Arrays.copyOfRange(order, 0, k);
        int[] b = java.util.Arrays.copyOfRange(order, k, order.length);
        java.util.Arrays.sort(a);
        java.util.Arrays.sort(b);
        return new Parts(subset(a), subset(b));
    }

    /** The examples at {@code indices}, in that order. */
    public Dataset subset(int[] indices) {
        float[] f = new float[Math.multiplyExact(indices.length, width)];
        int[] y = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            int e = indices[i];
            if (e < 0 || e >= size()) {
                throw new IllegalArgumentException("subset: index " + e + " is outside [0, " + size() + ")");
            }
            System.arraycopy(features, e * width, f, i * width, width);
            y[i] = labels[e];
        }
        return new Dataset(f, width, y, classes);
    }

    /** A seeded Fisher-Yates shuffle of {@code 0 .. n-1}, shared by {@link Dataset} and {@link Regression}. */
    static int[] permutation(int n, long seed) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Random r = new Random(seed);
        for (int i = n - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * Features {@code [b, width]} and one-hot targets {@code [b, classes]} of the examples {@code order[from, from + b)}.
     *
     * @throws IllegalArgumentException naming {@code from} or {@code b} when the range is empty or leaves {@code order}
     */
    public Tensor[] batch(Arena arena, int[] order, int from, int b) {
        checkRange(order, from, b, size());
        float[] x = new float[b * width];
        int[] y = new int[b];
        for (int i = 0; i < b; i++) {
            int e = order[from + i];
            System.arraycopy(features, e * width, x, i * width, width);
            y[i] = labels[e];
        }
        return new Tensor[] {Tensor.of(arena, x, b, width), Tensor.oneHot(arena, DType.F32, y, classes)};
    }

    /** Checks a batch's range {@code order[from, from + b)} and that it names examples of a set of {@code size}. */
    static void checkRange(int[] order, int from, int b, int size) {
        if (b < 1) {
            throw new IllegalArgumentException("batch size b must be at least 1, got " + b);
        }
        if (from < 0 || (long) from + b > order.length) {
            throw new IllegalArgumentException("from = " + from + " with b = " + b + " leaves an order of length " + order.length);
        }
        for (int i = from; i < from + b; i++) {
            if (order[i] < 0 || order[i] >= size) {
                throw new IllegalArgumentException("order[" + i + "] = " + order[i] + " is not an example of [0, " + size + ")");
            }
        }
    }

    /** Images of unsigned bytes scaled to [0, 1] and standardized with the given mean and std (MNIST: 0.1307, 0.3081). */
    public static Dataset images(Idx.Array images, Idx.Array labels, double mean, double std) {
        int n = images.size(0);
        if (labels.size(0) != n) {
            throw new IllegalArgumentException(n + " images but " + labels.size(0) + " labels");
        }
        int width = images.data().length / Math.max(n, 1);
        float[] f = new float[images.data().length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) (((images.data()[i] & 0xff) / 255.0 - mean) / std);
        }
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = labels.data()[i] & 0xff;
        }
        return new Dataset(f, width, y, 10);
    }
}

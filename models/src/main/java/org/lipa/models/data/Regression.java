package org.lipa.models.data;

import java.lang.foreign.Arena;
import org.lipa.tensor.Tensor;

/**
 * Examples with real-valued targets: rows of a float feature matrix and rows of a float target matrix,
 * held on the heap; batches are copied to off-heap tensors in the caller's step arena. The regression
 * counterpart of {@link Dataset}, whose labels are classes.
 *
 * @param features {@code n * width} values, row-major
 * @param width    features per example, at least 1
 * @param targets  {@code n * outputs} values, row-major
 * @param outputs  targets per example, at least 1
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public record Regression(float[] features, int width, float[] targets, int outputs) {
    /**
     * Checks that features and targets describe the same number of examples.
     *
     * @throws IllegalArgumentException naming {@code width} or {@code outputs} when below 1, or the mismatched lengths
     */
    public Regression {
        if (width < 1) {
            throw new IllegalArgumentException("width must be at least 1, got " + width);
        }
        if (outputs < 1) {
            throw new IllegalArgumentException("outputs must be at least 1, got " + outputs);
        }
        if (features.length % width != 0) {
            throw new IllegalArgumentException(features.length + " features are not whole rows of width " + width);
        }
        if ((long) features.length / width * outputs != targets.length) {
            throw new IllegalArgumentException(features.length / width + " examples of width " + width + " but "
                    + targets.length + " targets for " + outputs + " outputs each");
        }
    }

    /** The number of examples. */
    public int size() {
        return features.length / width;
    }

    /** The examples in a seeded random order (the same shuffle as {@link Dataset#shuffled}). */
    public int[] shuffled(long seed) {
        return Dataset.permutation(size(), seed);
    }

    /**
     * Features {@code [b, width]} and targets {@code [b, outputs]} of the examples {@code order[from, from + b)}.
     *
     * @throws IllegalArgumentException naming {@code from} or {@code b} when the range is empty or leaves {@code order}
     */
    public Tensor[] batch(Arena arena, int[] order, int from, int b) {
        Dataset.checkRange(order, from, b, size());
        float[] x = new float[b * width];
        float[] y = new float[b * outputs];
        for (int i = 0; i < b; i++) {
            int e = order[from + i];
            System.arraycopy(features, e * width, x, i * width, width);
            System.arraycopy(targets, e * outputs, y, i * outputs, outputs);
        }
        return new Tensor[] {Tensor.of(arena, x, b, width), Tensor.of(arena, y, b, outputs)};
    }
}

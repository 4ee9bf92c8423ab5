package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.lipa.tensor.Tensor;

class RegressionTest {
    /** Three examples of width 2 (feature values 10e + i) with two targets each (-(10e + o)). */
    private static Regression three() {
        return new Regression(new float[] {0, 1, 10, 11, 20, 21}, 2, new float[] {0, -1, -10, -11, -20, -21}, 2);
    }

    @Test
    void batchesCopyFeatureAndTargetRowsInOrder() {
        Regression r = three();
        assertEquals(3, r.size());
        try (Arena a = Arena.ofConfined()) {
            Tensor[] b = r.batch(a, new int[] {2, 0, 1}, 0, 2);
            assertArrayEquals(new long[] {2, 2}, b[0].shape().toArray());
            assertArrayEquals(new long[] {2, 2}, b[1].shape().toArray());
            assertArrayEquals(new float[] {20, 21, 0, 1}, b[0].toFloatArray());
            assertArrayEquals(new float[] {-20, -21, 0, -1}, b[1].toFloatArray());
            Tensor[] last = r.batch(a, new int[] {2, 0, 1}, 2, 1);
            assertArrayEquals(new float[] {-10, -11}, last[1].toFloatArray());
        }
    }

    @Test
    void shufflingIsSeededAndTheSameAsTheClassificationSets() {
        Regression r = new Regression(new float[12], 1, new float[36], 3);
        int[] order = r.shuffled(7);
        assertArrayEquals(order, r.shuffled(7));
        assertArrayEquals(new Dataset(new float[12], 1, new int[12], 1).shuffled(7), order);
        assertArrayEquals(java.util.stream.IntStream.range(0, 12).toArray(), Arrays.stream(order).sorted().toArray());
    }

    @Test
    void badShapesAndRangesNameTheArgument() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Regression(new float[0], 0, new float[0], 1))
                .getMessage().contains("width must be at least 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Regression(new float[2], 1, new float[2], 0))
                .getMessage().contains("outputs must be at least 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Regression(new float[3], 2, new float[2], 1))
                .getMessage().contains("width 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Regression(new float[4], 2, new float[3], 1))
                .getMessage().contains("3 targets"));
        Regression r = three();
        Dataset d = new Dataset(new float[3], 1, new int[3], 1);
        try (Arena a = Arena.ofConfined()) {
            int[] order = {0, 1, 2};
            assertTrue(assertThrows(IllegalArgumentException.class, () -> r.batch(a, order, 2, 2)).getMessage()
                    .contains("from = 2 with b = 2"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> d.batch(a, order, -1, 1)).getMessage()
                    .contains("from = -1"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> r.batch(a, order, 0, 0)).getMessage()
                    .contains("b must be at least 1, got 0"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> d.batch(a, new int[] {5}, 0, 1)).getMessage()
                    .contains("order[0] = 5"));
        }
    }
}

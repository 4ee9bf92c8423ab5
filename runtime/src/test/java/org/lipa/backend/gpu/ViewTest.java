package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** The strided views the CUDA kernels index by: broadcasting, joint merging of axes, the C struct's bytes. Needs no GPU. */
class ViewTest {
    @Test
    void broadcastAxesGetStrideZero() {
        try (Arena a = Arena.ofConfined()) {
            Tensor t = Tensor.zeros(a, DType.F32, Shape.of(3, 1));
            View v = View.of(t, Shape.of(2, 3, 4));
            assertArrayEquals(new long[] {2, 3, 4}, v.dims());
            assertArrayEquals(new long[] {0, 1, 0}, v.strides());
            assertThrows(IllegalArgumentException.class, () -> View.of(t, Shape.of(2, 4, 4)));
        }
    }

    @Test
    void axesMergeOnlyWhereEveryViewStepsThroughThemAsOne() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.zeros(a, DType.F32, Shape.of(2, 3, 4));
            View[] dense = View.collapse(View.of(x), View.contiguous(2, 3, 4));
            assertArrayEquals(new long[] {24}, dense[0].dims());
            assertArrayEquals(new long[] {1}, dense[1].strides());
            // the transposed input keeps its two axes apart; its contiguous partner follows
            View[] t = View.collapse(View.of(x.transpose(1, 2)), View.contiguous(2, 4, 3));
            assertArrayEquals(new long[] {2, 4, 3}, t[0].dims());
            assertArrayEquals(new long[] {12, 1, 4}, t[0].strides());
            assertArrayEquals(new long[] {12, 3, 1}, t[1].strides());
            // a bias broadcast over rows: [rows, cols] with strides (0, 1) against a dense output
            View[] bias = View.collapse(View.of(Tensor.zeros(a, DType.F32, Shape.of(5)), Shape.of(7, 5)), View.contiguous(7, 5));
            assertArrayEquals(new long[] {7, 5}, bias[0].dims());
            assertArrayEquals(new long[] {0, 1}, bias[0].strides());
            // all-size-1 shapes are scalars
            assertEquals(0, View.collapse(View.contiguous(1, 1, 1))[0].dims().length);
        }
    }

    @Test
    void moreThanEightUnmergeableAxesAreRefused() {
        long[] dims = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        long[] strides = {1, 2, 4, 8, 16, 32, 64, 128, 256}; // reversed: nothing merges
        var e = assertThrows(IllegalArgumentException.class, () -> View.collapse(new View(dims, strides)));
        assertTrue(e.getMessage().contains("at most 8 axes"), e.getMessage());
    }

    @Test
    void theStructHasTheKernelsLayout() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(View.BYTES);
            new View(new long[] {5, 6}, new long[] {6, 1}).writeTo(s);
            assertEquals(5, s.getAtIndex(ValueLayout.JAVA_LONG, 0));
            assertEquals(6, s.getAtIndex(ValueLayout.JAVA_LONG, 1));
            assertEquals(0, s.getAtIndex(ValueLayout.JAVA_LONG, 2));
            assertEquals(6, s.getAtIndex(ValueLayout.JAVA_LONG, 8));
            assertEquals(1, s.getAtIndex(ValueLayout.JAVA_LONG, 9));
            assertEquals(2, s.get(ValueLayout.JAVA_INT, 128));
        }
    }
}

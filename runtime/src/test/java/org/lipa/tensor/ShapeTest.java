package org.lipa.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class ShapeTest {
    /** Asserts {@code e} throws an IllegalArgumentException whose message contains every fragment. */
    static IllegalArgumentException fails(Executable e, String... fragments) {
        var ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage() != null && ex.getMessage().contains(f),
                    "message '" + ex.getMessage() + "' should mention '" + f + "'");
        }
        return ex;
    }

    @Test
    void negativeDimensionIsRejectedNamingTheShapeAndTheDimension() {
        fails(() -> Shape.of(2, -3), "[2, -3]", "dimension 1", "negative", "-3");
        fails(() -> Shape.of(-1L), "[-1]", "dimension 0");
        fails(() -> Shape.of(4, 5).with(0, -2), "[-2, 5]", "negative");
    }

    @Test
    void elementCountOverflowIsRejectedNamingTheShape() {
        fails(() -> Shape.of(1L << 40, 1L << 40), "[1099511627776, 1099511627776]", "overflow");
        fails(() -> Shape.of(Long.MAX_VALUE, 2), String.valueOf(Long.MAX_VALUE), "overflow");
        fails(() -> Shape.of(3, 1L << 62), "overflow");
        // the largest products that fit are fine
        assertEquals(1L << 62, Shape.of(1L << 31, 1L << 31).size());
        assertEquals(Long.MAX_VALUE, Shape.of(Long.MAX_VALUE).size());
    }

    @Test
    void overflowWithAZeroDimensionDoesNotDependOnWhereTheZeroIs() {
        // an empty shape whose other sizes multiply past a long would have strides that overflow; wherever
        // the zero is, the answer must be the same
        fails(() -> Shape.of(1L << 40, 1L << 40, 0), "overflow");
        fails(() -> Shape.of(0, 1L << 40, 1L << 40), "overflow");
        fails(() -> Shape.of(1L << 40, 0, 1L << 40), "overflow");
        assertEquals(0, Shape.of(0, 1L << 30, 1L << 30).size());
    }

    @Test
    void rankAboveTheMaximumIsRejectedNamingTheShape() {
        assertEquals(12, Shape.MAX_RANK);
        long[] thirteen = new long[13];
        java.util.Arrays.fill(thirteen, 1);
        fails(() -> Shape.of(thirteen), "rank 13", "12", "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]");
        fails(() -> Shape.of(new int[13]), "rank 13");
        assertEquals(12, Shape.of(new long[12]).rank());
    }

    @Test
    void sizesAreCopiedInAndOut() {
        long[] d = {2, 3};
        Shape s = Shape.of(d);
        d[0] = 99;
        assertEquals(Shape.of(2, 3), s);
        long[] back = s.toArray();
        back[1] = 99;
        assertEquals(3, s.dim(1));
        assertEquals(Shape.of(2, 3), Shape.of(2L, 3L), "int and long factories agree");
        assertEquals(Shape.of(2, 3).hashCode(), Shape.of(2L, 3L).hashCode());
        assertNotEquals(Shape.of(2, 3), Shape.of(3, 2));
        assertNotEquals(Shape.of(1, 3), Shape.of(3));
    }

    @Test
    void scalarAndEmptyShapes() {
        Shape s = Shape.scalar();
        assertEquals(0, s.rank());
        assertEquals(1, s.size());
        assertEquals("[]", s.toString());
        assertArrayEquals(new long[0], s.contiguousStrides());
        assertEquals(Shape.of(), s);
        assertEquals(0, Shape.of(3, 0, 2).size());
        assertEquals("[3, 0, 2]", Shape.of(3, 0, 2).toString());
    }

    @Test
    void broadcastSucceedsAlongNumpyRules() {
        assertEquals(Shape.of(2, 3, 4), Shape.broadcast(Shape.of(3, 1), Shape.of(2, 1, 4)));
        assertEquals(Shape.of(5), Shape.broadcast(Shape.scalar(), Shape.of(5)));
        assertEquals(Shape.scalar(), Shape.broadcast(Shape.scalar(), Shape.scalar()));
        assertEquals(Shape.of(0, 3), Shape.broadcast(Shape.of(0, 1), Shape.of(3)));
        assertEquals(Shape.of(0), Shape.broadcast(Shape.of(1), Shape.of(0)));
        assertEquals(Shape.of(2, 4, 3), Shape.broadcast(Shape.of(2, 1, 3), Shape.of(4, 1)));
        assertEquals(Shape.of(7, 1, 1), Shape.broadcast(Shape.of(7, 1, 1), Shape.of(1, 1)));
    }

    @Test
    void broadcastFailureNamesBothShapesAndTheClash() {
        fails(() -> Shape.broadcast(Shape.of(2, 3), Shape.of(4, 3)), "[2, 3]", "[4, 3]", "do not broadcast", "2 vs 4");
        fails(() -> Shape.broadcast(Shape.of(3), Shape.of(4, 2)), "[3]", "[4, 2]", "3 vs 2");
        fails(() -> Shape.broadcast(Shape.of(0), Shape.of(2)), "[0]", "[2]");
    }

    @Test
    void broadcastIsCommutativeAndIdempotentOnRandomShapes() {
        Random rnd = new Random(7);
        for (int c = 0; c < 300; c++) {
            int r = rnd.nextInt(5);
            long[] out = new long[r];
            for (int i = 0; i < r; i++) {
                out[i] = rnd.nextInt(4);
            }
            Shape target = Shape.of(out);
            // a and b: suffixes of the target with some dims replaced by 1
            Shape a = randomBroadcastable(rnd, out);
            Shape b = randomBroadcastable(rnd, out);
            Shape ab = Shape.broadcast(a, b);
            assertEquals(ab, Shape.broadcast(b, a));
            assertEquals(ab, Shape.broadcast(ab, a));
            assertEquals(target, Shape.broadcast(ab, target), "both broadcast to " + target);
            // every dimension of the result is the max of the aligned sizes, except that 0 beats 1
            for (int i = 1; i <= ab.rank(); i++) {
                long da = i <= a.rank() ? a.dim(-i) : 1;
                long db = i <= b.rank() ? b.dim(-i) : 1;
                long expected = da == 1 ? db : da;
                assertEquals(expected, ab.dim(-i), a + " and " + b);
            }
        }
    }

    private static Shape randomBroadcastable(Random rnd, long[] full) {
        int drop = full.length == 0 ? 0 : rnd.nextInt(full.length + 1);
        long[] d = java.util.Arrays.copyOfRange(full, drop, full.length);
        for (int i = 0; i < d.length; i++) {
            if (rnd.nextInt(3) == 0) {
                d[i] = 1;
            }
        }
        return Shape.of(d);
    }

    @Test
    void axisNormalization() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(0, s.axis(0));
        assertEquals(2, s.axis(2));
        assertEquals(2, s.axis(-1));
        assertEquals(0, s.axis(-3));
        assertEquals(4, s.dim(-1));
        assertEquals(2, s.dim(-3));
        fails(() -> s.axis(3), "axis 3", "[2, 3, 4]");
        fails(() -> s.axis(-4), "axis -4", "[2, 3, 4]");
        fails(() -> s.dim(7), "axis 7");
        fails(() -> Shape.scalar().axis(0), "axis 0", "[]");
        fails(() -> Shape.scalar().axis(-1), "axis -1");
        assertEquals(Shape.of(2, 3, 7), s.with(-1, 7));
        fails(() -> s.with(3, 1), "axis 3");
    }

    @Test
    void subShapes() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(Shape.of(3, 4), s.sub(1, 3));
        assertEquals(Shape.scalar(), s.sub(1, 1));
        assertEquals(s, s.sub(0, 3));
        fails(() -> s.sub(2, 1), "[2, 3, 4]");
        fails(() -> s.sub(0, 4), "[2, 3, 4]");
        fails(() -> s.sub(-1, 2), "[2, 3, 4]");
    }

    @Test
    void contiguousStridesAreRowMajor() {
        assertArrayEquals(new long[] {12, 4, 1}, Shape.of(2, 3, 4).contiguousStrides());
        assertArrayEquals(new long[] {1}, Shape.of(5).contiguousStrides());
        assertArrayEquals(new long[] {1, 1}, Shape.of(1, 1).contiguousStrides());
        // a zero dimension counts as 1 so that strides stay distinct and positive (PyTorch does the same)
        assertArrayEquals(new long[] {3, 3, 1}, Shape.of(2, 0, 3).contiguousStrides());
        Random rnd = new Random(11);
        for (int c = 0; c < 100; c++) {
            long[] d = new long[rnd.nextInt(6)];
            for (int i = 0; i < d.length; i++) {
                d[i] = rnd.nextInt(5);
            }
            long[] st = Shape.of(d).contiguousStrides();
            for (int i = 0; i < d.length; i++) {
                long p = 1;
                for (int j = i + 1; j < d.length; j++) {
                    p *= Math.max(d[j], 1);
                }
                assertEquals(p, st[i], java.util.Arrays.toString(d));
            }
        }
    }
}

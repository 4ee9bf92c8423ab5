package org.lipa.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ShapeTest {
    @Test
    void rejectsBadSizesNamingTheShape() {
        var e = assertThrows(IllegalArgumentException.class, () -> Shape.of(2, -3));
        assertTrue(e.getMessage().contains("[2, -3]") && e.getMessage().contains("negative"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(1L << 40, 1L << 40));
        assertTrue(e.getMessage().contains("overflows"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Shape.of(new long[13]));
        assertTrue(e.getMessage().contains("rank 13"), e.getMessage());
    }

    @Test
    void broadcastFollowsNumpy() {
        assertEquals(Shape.of(2, 3, 4), Shape.broadcast(Shape.of(3, 1), Shape.of(2, 1, 4)));
        assertEquals(Shape.of(5), Shape.broadcast(Shape.scalar(), Shape.of(5)));
        assertEquals(Shape.of(0, 3), Shape.broadcast(Shape.of(0, 1), Shape.of(3)));
        var e = assertThrows(IllegalArgumentException.class, () -> Shape.broadcast(Shape.of(2, 3), Shape.of(4, 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
    }

    @Test
    void axesAndStrides() {
        Shape s = Shape.of(2, 3, 4);
        assertEquals(4, s.dim(-1));
        assertEquals(2, s.axis(-1));
        assertThrows(IllegalArgumentException.class, () -> s.axis(3));
        assertArrayEquals(new long[] {12, 4, 1}, s.contiguousStrides());
        assertEquals(24, s.size());
        assertEquals(1, Shape.scalar().size());
        assertEquals("[2, 3, 4]", s.toString());
        assertEquals(Shape.of(2, 5, 4), s.with(1, 5));
    }
}

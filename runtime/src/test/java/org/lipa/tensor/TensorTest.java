package org.lipa.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TensorTest {
    private Arena arena;

    @BeforeEach
    void open() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    private Tensor iota(long... dims) {
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.of(arena, DType.F32, v, dims);
    }

    @Test
    void creationAndRoundTrips() {
        Tensor f = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(DType.F32, f.dtype());
        assertEquals(Shape.of(2, 3), f.shape());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, f.toFloatArray());
        assertEquals(6.0, f.get(1, 2));
        Tensor d = Tensor.of(arena, new double[] {0.1, 0.2}, 2);
        assertArrayEquals(new double[] {0.1, 0.2}, d.toDoubleArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.of(arena, new float[] {1, 2, 3}, 2, 2));
        assertTrue(e.getMessage().contains("3 elements") && e.getMessage().contains("[2, 2]"), e.getMessage());
        assertEquals(0, Tensor.zeros(arena, DType.F32, 3).data().address() % 64, "64-byte alignment");
        assertEquals(0, Tensor.zeros(arena, DType.BF16, 7, 3).data().address() % 64, "64-byte alignment");
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, DType.floatToBf16(1.0f));
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F808000))); // tie: to even (down)
        assertEquals((short) 0x3F82, DType.floatToBf16(Float.intBitsToFloat(0x3F818000))); // tie: to even (up)
        assertEquals((short) 0x3F81, DType.floatToBf16(Float.intBitsToFloat(0x3F808001))); // above the tie
        assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(Float.NaN))));
        assertEquals(Float.POSITIVE_INFINITY, DType.bf16ToFloat(DType.floatToBf16(Float.POSITIVE_INFINITY)));
        Tensor t = Tensor.of(arena, DType.BF16, new float[] {1.0f, 3.14159f, -2.5f}, 3);
        assertArrayEquals(new float[] {1.0f, 3.140625f, -2.5f}, t.toFloatArray());
    }

    @Test
    void fullOneHotAndItem() {
        assertArrayEquals(new double[] {2.5, 2.5}, Tensor.full(arena, DType.F64, Shape.of(2), 2.5).toDoubleArray());
        Tensor oh = Tensor.oneHot(arena, DType.F32, new int[] {2, 0}, 3);
        assertArrayEquals(new float[] {0, 0, 1, 1, 0, 0}, oh.toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> Tensor.oneHot(arena, DType.F32, new int[] {0, 3}, 3));
        assertTrue(e.getMessage().contains("labels[1] = 3"), e.getMessage());
        assertEquals(7.0, Tensor.scalar(arena, DType.F32, 7).item());
        assertThrows(IllegalStateException.class, () -> iota(2).item());
    }

    @Test
    void viewsShareStorage() {
        Tensor x = iota(2, 3);
        Tensor xt = x.transpose(0, 1);
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, xt.toFloatArray());
        assertFalse(xt.isContiguous());
        xt.set(42, 2, 1); // x[1, 2]
        assertEquals(42.0, x.get(1, 2));
        Tensor row = x.slice(0, 1, 2);
        assertArrayEquals(new float[] {3, 4, 42}, row.toFloatArray());
        Tensor every2 = iota(7).slice(0, 1, 7, 2);
        assertArrayEquals(new float[] {1, 3, 5}, every2.toFloatArray());
        assertArrayEquals(new float[] {4, 5}, iota(6).slice(0, -2, 6).toFloatArray());
        Tensor b = iota(3).broadcastTo(Shape.of(2, 3));
        assertArrayEquals(new float[] {0, 1, 2, 0, 1, 2}, b.toFloatArray());
        assertArrayEquals(new long[] {0, 1}, b.strides());
        assertEquals(Shape.of(2, 1, 3), x.unsqueeze(1).shape());
        var e = assertThrows(IllegalArgumentException.class, () -> iota(2, 3).broadcastTo(Shape.of(4, 3)));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 3]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> x.permute(0, 0));
        assertThrows(IllegalArgumentException.class, () -> x.slice(1, 2, 5));
    }

    @Test
    void reshapeIsAViewWhenStridesAllow() {
        Tensor x = iota(4, 6);
        Tensor r = x.reshape(2, -1, 3);
        assertEquals(Shape.of(2, 4, 3), r.shape());
        assertEquals(x.storage(), r.storage());
        // rows 1..3 of a contiguous matrix: the trailing dims still merge
        Tensor rows = x.slice(0, 1, 3);
        assertArrayEquals(rows.toFloatArray(), rows.reshape(12).toFloatArray());
        // a transposed matrix can split a dimension but not merge the two
        Tensor t = iota(4, 6).transpose(0, 1); // [6, 4]
        assertArrayEquals(t.toFloatArray(), t.reshape(2, 3, 4).toFloatArray());
        var e = assertThrows(IllegalArgumentException.class, () -> t.reshape(24));
        assertTrue(e.getMessage().contains("contiguous(arena)"), e.getMessage());
        assertArrayEquals(t.toFloatArray(), t.reshape(arena, 24).toFloatArray());
        assertThrows(IllegalArgumentException.class, () -> x.reshape(5, 5));
        assertThrows(IllegalArgumentException.class, () -> x.reshape(-1, -1));
    }

    @Test
    void contiguityWithSizeOneDims() {
        assertTrue(iota(1, 5).transpose(0, 1).isContiguous()); // a size-1 dim may have any stride
        assertTrue(iota(3, 1, 4).isContiguous());
        assertFalse(iota(3, 4).slice(1, 0, 2).isContiguous());
    }

    @Test
    void copiesAndConversion() {
        Tensor t = iota(3, 2).transpose(0, 1);
        Tensor c = t.contiguous(arena);
        assertTrue(c.isContiguous());
        assertArrayEquals(t.toFloatArray(), c.toFloatArray());
        Tensor d = t.to(arena, DType.F64);
        assertEquals(DType.F64, d.dtype());
        assertArrayEquals(new double[] {0, 2, 4, 1, 3, 5}, d.toDoubleArray());
        Tensor target = Tensor.zeros(arena, DType.F32, 2, 3);
        target.copyFrom(d);
        assertArrayEquals(t.toFloatArray(), target.toFloatArray());
    }

    @Test
    void toStringIsReadable() {
        String s = iota(2, 3).toString();
        assertTrue(s.startsWith("Tensor[f32 [2, 3]]"), s);
        assertTrue(s.contains("[[0., 1., 2.],"), s);
        String big = iota(100).toString();
        assertTrue(big.contains("...") && big.contains("99."), big);
        assertTrue(iota(2, 3).transpose(0, 1).toString().contains("strides=[1, 3]"));
    }

    @Test
    void useAfterCloseThrowsInsteadOfCrashing() {
        Tensor x = iota(4);
        arena.close();
        assertThrows(IllegalStateException.class, x::toFloatArray);
        assertThrows(IllegalStateException.class, x::data);
        var e = assertThrows(IllegalStateException.class, () -> x.checkAlive("weights"));
        assertTrue(e.getMessage().contains("weights") && e.getMessage().contains("closed"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> x.get(0));
        assertTrue(x.toString().contains("arena closed"));
        assertThrows(IllegalStateException.class, () -> Tensor.zeros(arena, DType.F32, 2));
    }

    /** Random chains of views against a plain-Java model that tracks, for each element, its source index. */
    @Test
    void randomViewChainsMatchAModel() {
        Random rnd = new Random(1234);
        int cases = 400;
        for (int c = 0; c < cases; c++) {
            int rank = 1 + rnd.nextInt(4);
            long[] dims = new long[rank];
            for (int i = 0; i < rank; i++) {
                dims[i] = rnd.nextInt(5) == 0 ? 1 : 1 + rnd.nextInt(4);
            }
            try (Arena a = Arena.ofConfined()) {
                double[] base = new double[Math.toIntExact(Shape.of(dims).size())];
                for (int i = 0; i < base.length; i++) {
                    base[i] = i;
                }
                Tensor t = Tensor.of(a, base, dims);
                Model m = new Model(dims, base);
                for (int step = 0; step < 4; step++) {
                    switch (rnd.nextInt(4)) {
                        case 0 -> {
                            int[] perm = shuffled(rnd, t.rank());
                            t = t.permute(perm);
                            m = m.permute(perm);
                        }
                        case 1 -> {
                            int ax = rnd.nextInt(t.rank());
                            long n = t.shape().dim(ax);
                            long s = rnd.nextInt((int) n);
                            long e = s + 1 + rnd.nextInt((int) (n - s));
                            long st = 1 + rnd.nextInt(2);
                            t = t.slice(ax, s, e, st);
                            m = m.slice(ax, s, e, st);
                        }
                        case 2 -> {
                            if (t.rank() < 5) {
                                int ax = rnd.nextInt(t.rank() + 1);
                                t = t.unsqueeze(ax);
                                m = m.unsqueeze(ax);
                            }
                        }
                        default -> {
                            // merge everything, or split a factor off the front of the merged size
                            long n = t.size();
                            long f = n % 2 == 0 && rnd.nextBoolean() ? 2 : n % 3 == 0 && rnd.nextBoolean() ? 3 : 1;
                            long[] target = f == 1 ? new long[] {n} : new long[] {f, n / f};
                            Tensor before = t;
                            try {
                                t = t.reshape(target);
                            } catch (IllegalArgumentException notAView) {
                                t = before.reshape(a, target); // copies
                            }
                            m = new Model(target, m.values());
                        }
                    }
                    assertArrayEquals(m.values(), t.toDoubleArray(), "case " + c + " step " + step);
                }
            }
        }
    }

    private static int[] shuffled(Random rnd, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int tmp = p[i];
            p[i] = p[j];
            p[j] = tmp;
        }
        return p;
    }

    /** A view as explicit per-element values in row-major order, transformed by index arithmetic. */
    private record Model(long[] dims, double[] values) {
        private long[] unravel(long flat, long[] d) {
            long[] idx = new long[d.length];
            for (int i = d.length - 1; i >= 0; i--) {
                idx[i] = flat % d[i];
                flat /= d[i];
            }
            return idx;
        }

        private long ravel(long[] idx, long[] d) {
            long f = 0;
            for (int i = 0; i < d.length; i++) {
                f = f * d[i] + idx[i];
            }
            return f;
        }

        Model permute(int[] perm) {
            long[] nd = new long[dims.length];
            for (int i = 0; i < perm.length; i++) {
                nd[i] = dims[perm[i]];
            }
            double[] out = new double[values.length];
            for (int k = 0; k < out.length; k++) {
                long[] idx = unravel(k, nd);
                long[] src = new long[dims.length];
                for (int i = 0; i < perm.length; i++) {
                    src[perm[i]] = idx[i];
                }
                out[k] = values[(int) ravel(src, dims)];
            }
            return new Model(nd, out);
        }

        Model slice(int ax, long s, long e, long st) {
            long[] nd = dims.clone();
            nd[ax] = (e - s + st - 1) / st;
            double[] out = new double[Math.toIntExact(Shape.of(nd).size())];
            for (int k = 0; k < out.length; k++) {
                long[] idx = unravel(k, nd);
                idx[ax] = s + idx[ax] * st;
                out[k] = values[(int) ravel(idx, dims)];
            }
            return new Model(nd, out);
        }

        Model unsqueeze(int ax) {
            long[] nd = new long[dims.length + 1];
            for (int i = 0, j = 0; i < nd.length; i++) {
                nd[i] = i == ax ? 1 : dims[j++];
            }
            return new Model(nd, values);
        }
    }
}

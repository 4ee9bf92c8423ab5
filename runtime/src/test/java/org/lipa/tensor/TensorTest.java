package org.lipa.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lipa.tensor.ShapeTest.fails;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.lipa.memory.Device;
import org.lipa.memory.HostMemory;

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

    /** 0, 1, 2, ... in row-major order, as f64 so that every value is exact. */
    private Tensor iota(long... dims) {
        return iota(DType.F64, dims);
    }

    private Tensor iota(DType dtype, long... dims) {
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.of(arena, dtype, v, dims);
    }

    private static double[] seq(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = i;
        }
        return v;
    }

    // ---------------------------------------------------------------- creation

    /** The strided f32 reads (row by row, and the tiled transpose) against element-by-element reads. */
    /** Strided copies in runs (contiguous tails, broadcast tails, strided last axes) for 2-, 4- and 8-byte dtypes. */
    @Test
    void stridedViewsCopyInRunsForEveryDtype() {
        for (DType t : new DType[] {DType.BF16, DType.F32, DType.F64}) {
            double[] v = new double[2 * 3 * 4];
            for (int i = 0; i < v.length; i++) {
                v[i] = i - 7;
            }
            Tensor x = Tensor.of(arena, t, v, 2, 3, 4);
            Tensor[] views = {
                x.permute(2, 0, 1), x.slice(2, 1, 4), x.slice(1, 0, 3, 2), x.slice(0, 1, 2).broadcastTo(Shape.of(3, 3, 4)),
                x.slice(2, 0, 1).broadcastTo(Shape.of(2, 3, 5)), x.unsqueeze(3).broadcastTo(Shape.of(2, 3, 4, 6)),
                x.permute(0, 2, 1).unsqueeze(1).broadcastTo(Shape.of(2, 2, 4, 3))};
            for (Tensor view : views) {
                double[] want = view.toDoubleArray();
                assertArrayEquals(want, view.contiguous(arena).toDoubleArray(), t + " " + view.spec());
                Tensor into = Tensor.zeros(arena, t, view.shape());
                into.copyFrom(view);
                assertArrayEquals(want, into.toDoubleArray(), t + " copyFrom " + view.spec());
            }
        }
    }

    @Test
    void floatArraysOfStridedViewsAreTheirElementsInRowMajorOrder() {
        java.util.Random rnd = new java.util.Random(3);
        double[] v = new double[2 * 37 * 70];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian();
        }
        Tensor t = Tensor.of(arena, DType.F32, v, 2, 37, 70);
        Tensor[] views = {t.transpose(1, 2), t.transpose(0, 2), t.permute(2, 0, 1), t.slice(2, 1, 70, 3), t.transpose(1, 2).slice(1, 5, 60, 2),
            t.slice(1, 0, 1, 1).broadcastTo(Shape.of(2, 4, 70)), t.transpose(1, 2).slice(2, 3, 4, 1), t.transpose(1, 2).slice(0, 1, 2, 1)};
        for (Tensor view : views) {
            float[] f = view.toFloatArray();
            double[] d = view.toDoubleArray();
            assertEquals(d.length, f.length);
            for (int i = 0; i < d.length; i++) {
                assertEquals((float) d[i], f[i], view + " element " + i);
            }
            // and against get(index), which shares no code with either
            long[] idx = new long[view.rank()];
            for (int i = 0; i < d.length; i++) {
                assertEquals((float) view.get(idx), f[i]);
                for (int a = view.rank() - 1; a >= 0 && ++idx[a] == view.shape().dim(a); a--) {
                    idx[a] = 0;
                }
            }
        }
    }

    @Test
    void createdFromFloatsAndDoubles() {
        Tensor f = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(DType.F32, f.dtype());
        assertEquals(Shape.of(2, 3), f.shape());
        assertEquals(2, f.rank());
        assertEquals(6, f.size());
        assertEquals(Device.CPU, f.device());
        assertEquals(new TensorSpec(Shape.of(2, 3), DType.F32), f.spec());
        assertArrayEquals(new long[] {3, 1}, f.strides());
        assertEquals(0, f.offset());
        assertTrue(f.isContiguous());
        assertEquals(6.0, f.get(1, 2));
        assertEquals(2.0, f.get(0, 1));
        Tensor d = Tensor.of(arena, new double[] {0.1, 0.2, 0.3}, 3);
        assertEquals(DType.F64, d.dtype());
        assertEquals(0.2, d.get(1));
        Tensor s = Tensor.of(arena, new float[] {7}); // no dims: a scalar
        assertEquals(Shape.scalar(), s.shape());
        assertEquals(7.0, s.item());
        assertEquals(Shape.of(0, 3), Tensor.of(arena, new double[0], 0, 3).shape());
    }

    @Test
    void lengthMismatchNamesTheLengthAndTheShape() {
        fails(() -> Tensor.of(arena, new float[] {1, 2, 3}, 2, 2), "3 elements", "[2, 2]", "4");
        fails(() -> Tensor.of(arena, new double[] {1, 2, 3, 4, 5}, 2, 2), "5 elements", "[2, 2]");
        fails(() -> Tensor.of(arena, DType.BF16, new float[] {1}, 2), "1 elements", "[2]");
        fails(() -> Tensor.of(arena, DType.F32, new double[] {1, 2}), "2 elements", "[]");
        fails(() -> Tensor.of(arena, new float[] {1, 2}, 2, -1), "negative");
    }

    @Test
    void zerosAndFull() {
        for (DType dt : DType.values()) {
            Tensor z = Tensor.zeros(arena, dt, 2, 3);
            assertEquals(dt, z.dtype());
            assertArrayEquals(new double[6], z.toDoubleArray());
            assertEquals(Shape.of(2, 3), z.shape());
            Tensor full = Tensor.full(arena, dt, Shape.of(3, 1), -1.5);
            assertArrayEquals(new double[] {-1.5, -1.5, -1.5}, full.toDoubleArray(), dt.shortName());
        }
        Tensor nan = Tensor.full(arena, DType.F32, Shape.of(2), Double.NaN);
        assertTrue(Double.isNaN(nan.get(0)) && Double.isNaN(nan.get(1)));
        assertEquals(0, Tensor.zeros(arena, DType.F32, 0, 4).size());
        assertEquals(5.0, Tensor.full(arena, DType.F64, Shape.scalar(), 5).item());
        assertEquals(-3.0, Tensor.scalar(arena, DType.BF16, -3).item());
    }

    @Test
    void fullKeepsTheSignOfNegativeZero() {
        for (DType dt : DType.values()) {
            Tensor t = Tensor.full(arena, dt, Shape.of(3), -0.0);
            for (double v : t.toDoubleArray()) {
                assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits(v), dt.shortName() + " -0.0");
            }
        }
    }

    @Test
    void oneHot() {
        Tensor oh = Tensor.oneHot(arena, DType.F32, new int[] {2, 0, 1}, 3);
        assertEquals(Shape.of(3, 3), oh.shape());
        assertArrayEquals(new float[] {0, 0, 1, 1, 0, 0, 0, 1, 0}, oh.toFloatArray());
        assertEquals(Shape.of(0, 4), Tensor.oneHot(arena, DType.F64, new int[0], 4).shape());
        fails(() -> Tensor.oneHot(arena, DType.F32, new int[] {0, 3}, 3), "labels[1] = 3", "[0, 3)");
        fails(() -> Tensor.oneHot(arena, DType.F32, new int[] {-1}, 3), "labels[0] = -1");
        fails(() -> Tensor.oneHot(arena, DType.F32, new int[] {0}, 0), "classes", "0");
    }

    // ---------------------------------------------------------------- dtype round trips

    @Test
    void f32RoundTripsExactly() {
        float[] v = {0f, -0f, 1.5f, -2.25f, Float.MIN_VALUE, Float.MAX_VALUE, Float.NEGATIVE_INFINITY, 1e-40f, 0.1f};
        Tensor t = Tensor.of(arena, v, v.length);
        float[] back = t.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
        assertTrue(Float.isNaN(Tensor.of(arena, new float[] {Float.NaN}, 1).toFloatArray()[0]));
        double[] wide = t.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals((double) v[i], wide[i]);
        }
        // doubles into f32 round once, to nearest
        Tensor fromDoubles = Tensor.of(arena, DType.F32, new double[] {0.1, 1.0 / 3}, 2);
        assertArrayEquals(new float[] {0.1f, (float) (1.0 / 3)}, fromDoubles.toFloatArray());
    }

    @Test
    void f64RoundTripsExactly() {
        double[] v = {0.1, -0.0, Math.PI, Double.MIN_VALUE, -Double.MAX_VALUE, Double.POSITIVE_INFINITY, 1e300};
        Tensor t = Tensor.of(arena, v, v.length);
        double[] back = t.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            assertEquals(Double.doubleToRawLongBits(v[i]), Double.doubleToRawLongBits(back[i]), "element " + i);
        }
        float[] narrow = t.toFloatArray();
        assertEquals((float) Math.PI, narrow[2]);
        assertEquals(Float.POSITIVE_INFINITY, narrow[6], "1e300 rounds to +inf as a float");
        assertArrayEquals(v, t.to(arena, DType.F64).toDoubleArray());
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertEquals((short) 0x3F80, DType.floatToBf16(1.0f));
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F807FFF)), "below the tie: down");
        assertEquals((short) 0x3F80, DType.floatToBf16(Float.intBitsToFloat(0x3F808000)), "tie: to even (down)");
        assertEquals((short) 0x3F82, DType.floatToBf16(Float.intBitsToFloat(0x3F818000)), "tie: to even (up)");
        assertEquals((short) 0x3F81, DType.floatToBf16(Float.intBitsToFloat(0x3F808001)), "above the tie: up");
        assertEquals((short) 0xBF80, DType.floatToBf16(Float.intBitsToFloat(0xBF808000)), "negative tie: to even");
        assertEquals((short) 0xBF82, DType.floatToBf16(Float.intBitsToFloat(0xBF818000)), "negative tie: to even");
        assertEquals((short) 0x8000, DType.floatToBf16(-0.0f));
        assertEquals((short) 0x7F80, DType.floatToBf16(Float.MAX_VALUE), "max float rounds to +inf");
        assertEquals((short) 0xFF80, DType.floatToBf16(Float.NEGATIVE_INFINITY));
        assertEquals((short) 0x7F7F, DType.floatToBf16(Float.intBitsToFloat(0x7F7F7FFF)), "largest finite bf16 stays");
        assertEquals((short) 0x0000, DType.floatToBf16(Float.intBitsToFloat(0x00008000)), "subnormal tie to even");
        assertEquals((short) 0x0002, DType.floatToBf16(Float.intBitsToFloat(0x00018000)), "subnormal tie to even");
        assertEquals((short) 0x0080, DType.floatToBf16(Float.intBitsToFloat(0x007FFFFF)), "largest subnormal rounds up to normal");
        assertEquals(3.140625f, DType.bf16ToFloat(DType.floatToBf16(3.14159f)));
        assertEquals(256f, DType.bf16ToFloat(DType.floatToBf16(257f)), "257 is a tie between 256 and 258: even");
        assertEquals(260f, DType.bf16ToFloat(DType.floatToBf16(259f)), "259 is a tie between 258 and 260: even");
    }

    @Test
    void bf16NaNStaysNaN() {
        for (int bits : new int[] {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7F80FFFF}) {
            float nan = Float.intBitsToFloat(bits);
            assertTrue(Float.isNaN(nan));
            assertTrue(Float.isNaN(DType.bf16ToFloat(DType.floatToBf16(nan))), Integer.toHexString(bits));
        }
        Tensor t = Tensor.of(arena, DType.BF16, new float[] {Float.NaN, Float.intBitsToFloat(0x7F800001)}, 2);
        assertTrue(Float.isNaN(t.toFloatArray()[0]) && Float.isNaN(t.toFloatArray()[1]));
        assertTrue(Double.isNaN(t.to(arena, DType.F64).get(1)));
        assertTrue(Double.isNaN(Tensor.of(arena, DType.BF16, new double[] {Double.NaN}, 1).get(0)));
    }

    @Test
    void bf16TensorsRoundOnTheWayInAndAreExactOnTheWayOut() {
        float[] in = {1.0f, 3.14159f, -2.5f, 257f, 259f, 1e-3f, Float.POSITIVE_INFINITY};
        Tensor t = Tensor.of(arena, DType.BF16, in, in.length);
        assertEquals(DType.BF16, t.dtype());
        float[] out = t.toFloatArray();
        for (int i = 0; i < in.length; i++) {
            assertEquals(DType.bf16ToFloat(DType.floatToBf16(in[i])), out[i], "element " + i);
        }
        assertArrayEquals(new float[] {1.0f, 3.140625f, -2.5f, 256f, 260f}, java.util.Arrays.copyOf(out, 5));
        // the stored bits are the rounded bits
        assertEquals((short) 0x4049, t.storage().getAtIndex(ValueLayout.JAVA_SHORT, 1));
        // a bf16 round trip through f32 and back is exact
        assertArrayEquals(out, t.to(arena, DType.F32).to(arena, DType.BF16).toFloatArray());
        // set rounds too
        t.set(1.0 + 1.0 / 128 + 1.0 / 256, 0); // halfway between 1 + 1/128 and 1 + 2/128: to even (up)
        assertEquals(1.0 + 2.0 / 128, t.get(0));
    }

    @Test
    void bf16FromDoublesRoundsOnceNotTwice() {
        // 1 + 2^-8 + 2^-30 lies just above the tie between the bf16 neighbours 1 and 1 + 2^-7, so it rounds up;
        // rounding it to float first lands exactly on the tie (2^-30 is below half a float ulp), which would
        // then round to even, down to 1
        double v = 1 + Math.scalb(1.0, -8) + Math.scalb(1.0, -30);
        double up = 1 + Math.scalb(1.0, -7);
        assertEquals(up, Tensor.of(arena, DType.BF16, new double[] {v}, 1).get(0));
        assertEquals(-up, Tensor.of(arena, DType.BF16, new double[] {-v}, 1).get(0));
        assertEquals(up, Tensor.full(arena, DType.BF16, Shape.of(1), v).get(0));
        Tensor t = Tensor.zeros(arena, DType.BF16, 1);
        t.set(v, 0);
        assertEquals(up, t.get(0));
        // and just below a tie stays below
        double w = 1 + Math.scalb(1.0, -7) + Math.scalb(1.0, -8) - Math.scalb(1.0, -30);
        assertEquals(up, Tensor.of(arena, DType.BF16, new double[] {w}, 1).get(0));
        // a double beyond the float range is +inf in bf16, and a tiny one is a signed zero
        assertEquals(Double.POSITIVE_INFINITY, Tensor.of(arena, DType.BF16, new double[] {1e300}, 1).get(0));
        assertEquals(Double.doubleToRawLongBits(-0.0),
                Double.doubleToRawLongBits(Tensor.of(arena, DType.BF16, new double[] {-1e-300}, 1).get(0)));
    }

    @Test
    void doubleToBf16AgreesWithExactRoundingOnRandomValues() {
        java.util.Random rnd = new java.util.Random(5);
        for (int c = 0; c < 20000; c++) {
            // random doubles near bf16 ties: a random bf16, plus half an ulp, plus a small random perturbation
            float base = DType.bf16ToFloat((short) rnd.nextInt(0x7F00));
            double ulp = Math.ulp(base) * 65536.0; // a bf16 ulp at base (float ulp * 2^16)
            double v = base + ulp / 2 + (rnd.nextInt(3) - 1) * Math.scalb(ulp, -20 - rnd.nextInt(20));
            short got = DType.doubleToBf16(v);
            assertEquals(exactBf16(v), got, "value " + v);
        }
    }

    /** Round-to-nearest-even onto the bf16 grid, by comparing distances to the two neighbours in double. */
    private static short exactBf16(double v) {
        float f = (float) v;
        short lo = (short) (Float.floatToRawIntBits(f) >>> 16); // truncation of f: at or next to the answer
        // find the bf16 neighbours below and above |v|
        short a = lo;
        while (Math.abs(DType.bf16ToFloat(a)) > Math.abs(v)) {
            a--;
        }
        while (Math.abs(DType.bf16ToFloat((short) (a + 1))) <= Math.abs(v)) {
            a++;
        }
        short b = (short) (a + 1);
        double da = Math.abs(Math.abs(v) - Math.abs(DType.bf16ToFloat(a)));
        double db = Math.abs(Math.abs(DType.bf16ToFloat(b)) - Math.abs(v));
        if (da < db) {
            return a;
        }
        if (db < da) {
            return b;
        }
        return (a & 1) == 0 ? a : b;
    }

    // ---------------------------------------------------------------- element access

    @Test
    void getAndSet() {
        for (DType dt : DType.values()) {
            Tensor t = Tensor.zeros(arena, dt, 2, 3);
            t.set(4.5, 1, 2);
            t.set(-1, 0, 0);
            assertEquals(4.5, t.get(1, 2), dt.shortName());
            assertArrayEquals(new double[] {-1, 0, 0, 0, 0, 4.5}, t.toDoubleArray(), dt.shortName());
        }
        Tensor f = Tensor.zeros(arena, DType.F32, 2);
        f.set(0.1, 0);
        assertEquals((double) 0.1f, f.get(0), "f32 stores a float");
        Tensor s = Tensor.scalar(arena, DType.F64, 3);
        s.set(8);
        assertEquals(8.0, s.get());
    }

    @Test
    void badIndicesNameTheIndexAndTheShape() {
        Tensor t = iota(2, 3);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0));
        assertTrue(e.getMessage().contains("[2, 0]") && e.getMessage().contains("[2, 3]"), e.getMessage());
        assertThrows(IndexOutOfBoundsException.class, () -> t.get(0, -1));
        assertThrows(IndexOutOfBoundsException.class, () -> t.set(1, 0, 3));
        fails(() -> t.get(1), "[1]", "rank 2");
        fails(() -> t.set(1, 0, 0, 0), "rank 2");
        // a bad index into a view is caught before it can reach another view's elements
        Tensor row = t.slice(0, 0, 1);
        assertThrows(IndexOutOfBoundsException.class, () -> row.get(1, 0));
    }

    // ---------------------------------------------------------------- views

    private static void assertSharesStorage(Tensor a, Tensor b) {
        assertSame(a.storage(), b.storage(), "a view shares its storage");
    }

    @Test
    void transposeIsAViewWithSwappedIndices() {
        Tensor x = iota(2, 3);
        Tensor xt = x.transpose(0, 1);
        assertSharesStorage(x, xt);
        assertEquals(Shape.of(3, 2), xt.shape());
        assertArrayEquals(new long[] {1, 3}, xt.strides());
        assertArrayEquals(new double[] {0, 3, 1, 4, 2, 5}, xt.toDoubleArray());
        assertArrayEquals(xt.toDoubleArray(), x.transpose(-1, -2).toDoubleArray());
        assertFalse(xt.isContiguous());
        xt.set(42, 2, 1); // x[1, 2]
        assertEquals(42.0, x.get(1, 2));
        x.set(-7, 0, 1);
        assertEquals(-7.0, xt.get(1, 0));
        assertArrayEquals(x.toDoubleArray(), xt.transpose(0, 1).toDoubleArray());
    }

    @Test
    void permuteMatchesIndexArithmetic() {
        long[] d = {2, 3, 4};
        Tensor x = iota(d);
        int[] perm = {2, 0, 1};
        Tensor p = x.permute(perm);
        assertSharesStorage(x, p);
        assertEquals(Shape.of(4, 2, 3), p.shape());
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 2; j++) {
                for (int k = 0; k < 3; k++) {
                    // p[i, j, k] = x[j, k, i], and x[a, b, c] = a*12 + b*4 + c
                    assertEquals(j * 12 + k * 4 + i, p.get(i, j, k));
                }
            }
        }
        assertArrayEquals(p.toDoubleArray(), x.permute(-1, 0, 1).toDoubleArray(), "negative axes");
        p.set(100, 3, 1, 2);
        assertEquals(100.0, x.get(1, 2, 3));
        fails(() -> x.permute(0, 0, 1), "[0, 0, 1]", "repeats axis 0");
        fails(() -> x.permute(0, 1), "[0, 1]", "rank 3");
        fails(() -> x.permute(0, 1, 3), "axis 3");
    }

    @Test
    void sliceWithStepAndNegativeBounds() {
        Tensor v = iota(10);
        Tensor s = v.slice(0, -8, -1, 3); // 2, 5, 8
        assertSharesStorage(v, s);
        assertArrayEquals(new double[] {2, 5, 8}, s.toDoubleArray());
        assertEquals(2, s.offset());
        assertArrayEquals(new long[] {3}, s.strides());
        assertArrayEquals(new double[] {1, 3, 5, 7, 9}, v.slice(0, 1, 10, 2).toDoubleArray());
        assertArrayEquals(new double[] {1, 4, 7}, v.slice(0, 1, 9, 3).toDoubleArray(), "end not on the grid");
        assertArrayEquals(new double[] {7, 8}, v.slice(0, -3, -1).toDoubleArray());
        assertEquals(0, v.slice(0, 4, 4).size());
        assertEquals(0, v.slice(0, 10, 10).size());
        s.set(-1, 1);
        assertEquals(-1.0, v.get(5));

        Tensor m = iota(3, 5);
        Tensor cols = m.slice(-1, 1, 5, 2); // columns 1 and 3
        assertEquals(Shape.of(3, 2), cols.shape());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 2; j++) {
                assertEquals(i * 5 + 1 + 2 * j, cols.get(i, j));
            }
        }
        Tensor rows = m.slice(0, 1, 3);
        assertEquals(5, rows.offset());
        assertArrayEquals(new double[] {5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, rows.toDoubleArray());
    }

    @Test
    void badSlicesNameTheBoundsAndTheAxis() {
        Tensor m = iota(3, 5);
        fails(() -> m.slice(0, 2, 5), "[2, 5)", "axis 0", "size 3");
        fails(() -> m.slice(0, 2, 1), "[2, 1)");
        fails(() -> m.slice(0, -4, 2), "[-4, 2)");
        fails(() -> m.slice(1, 0, 5, 0), "step", "0");
        fails(() -> m.slice(1, 0, 5, -1), "step", "-1");
        fails(() -> m.slice(2, 0, 1), "axis 2");
    }

    @Test
    void unsqueezeInsertsASizeOneDimension() {
        Tensor x = iota(2, 3);
        assertEquals(Shape.of(1, 2, 3), x.unsqueeze(0).shape());
        assertEquals(Shape.of(2, 1, 3), x.unsqueeze(1).shape());
        assertEquals(Shape.of(2, 3, 1), x.unsqueeze(2).shape());
        assertEquals(Shape.of(2, 3, 1), x.unsqueeze(-1).shape());
        assertEquals(Shape.of(1, 2, 3), x.unsqueeze(-3).shape());
        Tensor u = x.unsqueeze(1);
        assertSharesStorage(x, u);
        assertTrue(u.isContiguous());
        assertArrayEquals(x.toDoubleArray(), u.toDoubleArray());
        u.set(9, 1, 0, 2);
        assertEquals(9.0, x.get(1, 2));
        fails(() -> x.unsqueeze(3), "axis 3", "rank 2");
        fails(() -> x.unsqueeze(-4), "axis -4");
        assertEquals(Shape.of(1), Tensor.scalar(arena, DType.F64, 1).unsqueeze(0).shape());
    }

    @Test
    void broadcastToRepeatsWithZeroStrides() {
        Tensor row = iota(3);
        Tensor b = row.broadcastTo(Shape.of(2, 3));
        assertSharesStorage(row, b);
        assertArrayEquals(new double[] {0, 1, 2, 0, 1, 2}, b.toDoubleArray());
        assertArrayEquals(new long[] {0, 1}, b.strides());
        Tensor col = iota(3, 1);
        Tensor c = col.broadcastTo(Shape.of(2, 3, 4));
        for (int i = 0; i < 2; i++) {
            for (int j = 0; j < 3; j++) {
                for (int k = 0; k < 4; k++) {
                    assertEquals(j, c.get(i, j, k));
                }
            }
        }
        // one write shows through every repetition
        col.set(50, 1, 0);
        assertEquals(50.0, c.get(1, 1, 3));
        assertEquals(50.0, c.get(0, 1, 0));
        assertEquals(Shape.of(0, 3), row.broadcastTo(Shape.of(0, 3)).shape());
        assertArrayEquals(new double[] {5, 5}, Tensor.scalar(arena, DType.F64, 5).broadcastTo(Shape.of(2)).toDoubleArray());
        fails(() -> iota(2, 3).broadcastTo(Shape.of(4, 3)), "[2, 3]", "[4, 3]");
        fails(() -> iota(2, 3).broadcastTo(Shape.of(3)), "[2, 3]", "[3]", "lower-rank");
        fails(() -> iota(2).broadcastTo(Shape.of(2, 0)), "[2]", "[2, 0]");
    }

    // ---------------------------------------------------------------- reshape

    @Test
    void reshapeOfAContiguousTensorIsAView() {
        Tensor x = iota(4, 6);
        Tensor r = x.reshape(2, 4, 3);
        assertSharesStorage(x, r);
        assertArrayEquals(new long[] {12, 3, 1}, r.strides());
        assertArrayEquals(x.toDoubleArray(), r.toDoubleArray());
        r.set(-5, 1, 3, 2); // flat 23
        assertEquals(-5.0, x.get(3, 5));
        // a contiguous slice keeps its offset
        Tensor rows = x.slice(0, 1, 3).reshape(3, 4);
        assertEquals(6, rows.offset());
        assertArrayEquals(java.util.Arrays.copyOfRange(x.toDoubleArray(), 6, 18), rows.toDoubleArray());
        assertEquals(Shape.scalar(), iota(1, 1).reshape().shape());
        assertEquals(Shape.of(1, 1, 1), Tensor.scalar(arena, DType.F64, 2).reshape(1, 1, 1).shape());
    }

    @Test
    void reshapeOfViewCompatibleNonContiguousTensorsIsAView() {
        // every other column of a 4x6 matrix: the row dim can split, the strided column dim stays as it is
        Tensor x = iota(4, 6);
        Tensor s = x.slice(1, 0, 6, 2); // [4, 3], strides [6, 2]
        assertFalse(s.isContiguous());
        Tensor split = s.reshape(2, 2, 3);
        assertSharesStorage(x, split);
        assertArrayEquals(new long[] {12, 6, 2}, split.strides());
        assertArrayEquals(s.toDoubleArray(), split.toDoubleArray());

        // every other entry of the leading dim (not contiguous), then the trailing dims merged
        Tensor y = iota(5, 2, 3, 4);
        Tensor lead = y.slice(0, 0, 5, 2); // [3, 2, 3, 4], strides [48, 12, 4, 1]
        assertFalse(lead.isContiguous());
        Tensor flat = lead.reshape(3, 24);
        assertSharesStorage(y, flat);
        assertArrayEquals(new long[] {48, 1}, flat.strides());
        assertArrayEquals(lead.toDoubleArray(), flat.toDoubleArray());
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 24; j++) {
                assertEquals(2 * i * 24 + j, flat.get(i, j));
            }
        }
        // a trailing slice: the leading dims still merge with each other
        Tensor sliced = iota(4, 3, 5).slice(2, 0, 4); // [4, 3, 4], strides [15, 5, 1]
        Tensor leadingMerged = sliced.reshape(12, 4);
        assertSharesStorage(sliced, leadingMerged);
        assertArrayEquals(new long[] {5, 1}, leadingMerged.strides());
        assertArrayEquals(sliced.toDoubleArray(), leadingMerged.toDoubleArray());

        // a transposed matrix can split a dimension but not merge the two
        Tensor t = iota(4, 6).transpose(0, 1); // [6, 4], strides [1, 6]
        Tensor t2 = t.reshape(2, 3, 4);
        assertSharesStorage(t, t2);
        assertArrayEquals(new long[] {3, 1, 6}, t2.strides());
        assertArrayEquals(t.toDoubleArray(), t2.toDoubleArray());
        assertArrayEquals(t.toDoubleArray(), t.reshape(6, 2, 2).toDoubleArray());
        // and size-1 dims can be added or removed anywhere
        assertArrayEquals(t.toDoubleArray(), t.reshape(1, 6, 1, 4, 1).toDoubleArray());
        assertArrayEquals(t.toDoubleArray(), t.unsqueeze(1).reshape(6, 4).toDoubleArray());
        // a broadcast vector can split its broadcast dimension
        Tensor b = iota(4).broadcastTo(Shape.of(6, 4));
        Tensor b2 = b.reshape(2, 3, 4);
        assertArrayEquals(new long[] {0, 0, 1}, b2.strides());
        assertArrayEquals(b.toDoubleArray(), b2.toDoubleArray());
    }

    @Test
    void reshapeThatNeedsACopyThrowsUnlessGivenAnArena() {
        Tensor t = iota(4, 6).transpose(0, 1);
        fails(() -> t.reshape(24), "contiguous(arena)", "[6, 4]", "[24]");
        fails(() -> iota(4).broadcastTo(Shape.of(3, 4)).reshape(12), "contiguous(arena)");
        fails(() -> iota(4, 6).slice(1, 0, 3).reshape(12), "contiguous(arena)");
        Tensor copy = t.reshape(arena, 24);
        assertNotSame(t.storage(), copy.storage());
        assertTrue(copy.isContiguous());
        assertArrayEquals(t.toDoubleArray(), copy.toDoubleArray());
        copy.set(-1, 0);
        assertEquals(0.0, t.get(0, 0), "the copy is independent");
        // with an arena but when a view is possible, still a view
        Tensor view = t.reshape(arena, 2, 3, 4);
        assertSharesStorage(t, view);
        Tensor inferred = t.reshape(arena, -1);
        assertEquals(Shape.of(24), inferred.shape());
    }

    @Test
    void reshapeInfersOneDimension() {
        Tensor x = iota(4, 6);
        assertEquals(Shape.of(24), x.reshape(-1).shape());
        assertEquals(Shape.of(2, 12), x.reshape(2, -1).shape());
        assertEquals(Shape.of(3, 2, 4), x.reshape(3, -1, 4).shape());
        assertEquals(Shape.of(0, 5), iota(0, 5).reshape(-1, 5).shape());
        fails(() -> x.reshape(-1, -1), "only one dimension may be -1");
        fails(() -> x.reshape(-1, 5), "[4, 6]", "[-1, 5]");
        fails(() -> x.reshape(5, 5), "24 elements", "25 elements");
        fails(() -> x.reshape(-2, 12), "negative");
        fails(() -> x.reshape(0, -1), "[4, 6]");
    }

    // ---------------------------------------------------------------- contiguity and copies

    @Test
    void contiguity() {
        assertTrue(iota(3, 4).isContiguous());
        assertTrue(iota(1, 5).transpose(0, 1).isContiguous(), "a size-1 dim may have any stride");
        assertTrue(iota(3, 1, 4).isContiguous());
        assertTrue(iota(3, 4).unsqueeze(1).isContiguous());
        assertTrue(iota(3, 4).slice(0, 1, 3).isContiguous(), "leading rows are contiguous");
        assertFalse(iota(3, 4).slice(1, 0, 2).isContiguous());
        assertFalse(iota(8).slice(0, 0, 8, 2).isContiguous());
        assertTrue(iota(8).slice(0, 3, 4, 2).isContiguous(), "a single element");
        assertFalse(iota(3, 4).transpose(0, 1).isContiguous());
        assertFalse(iota(4).broadcastTo(Shape.of(2, 4)).isContiguous());
        assertTrue(iota(4).broadcastTo(Shape.of(1, 4)).isContiguous());
        assertTrue(Tensor.scalar(arena, DType.F32, 1).isContiguous());
        assertTrue(Tensor.scalar(arena, DType.F32, 1).broadcastTo(Shape.of(1, 1)).isContiguous());
    }

    @Test
    void emptyTensorsAreContiguous() {
        // no element is out of place in a tensor without elements, wherever its zero dimension is
        assertTrue(Tensor.zeros(arena, DType.F32, 0, 3).isContiguous());
        assertTrue(Tensor.zeros(arena, DType.F32, 3, 0).isContiguous());
        assertTrue(Tensor.zeros(arena, DType.F32, 2, 0, 3).isContiguous());
        assertTrue(iota(3, 4).slice(1, 2, 2).isContiguous());
        assertArrayEquals(new double[0], Tensor.zeros(arena, DType.F64, 3, 0).toDoubleArray());
        assertArrayEquals(new float[0], Tensor.zeros(arena, DType.F32, 3, 0).transpose(0, 1).toFloatArray());
        // an empty view whose offset lies past the end of its storage: reading, writing and copying it are no-ops
        Tensor past = iota(2, 3).transpose(0, 1).slice(1, 2, 2).slice(0, 3, 3);
        assertEquals(Shape.of(0, 0), past.shape());
        assertEquals(9, past.offset());
        assertArrayEquals(new double[0], past.toDoubleArray());
        assertArrayEquals(new float[0], past.toFloatArray());
        assertEquals(0, past.data().byteSize());
        past.copyFrom(new double[0]);
        assertEquals(Shape.of(0, 0), past.contiguous(arena).shape());
        assertEquals(Shape.of(0, 0), past.to(arena, DType.BF16).shape());
        assertEquals(Shape.of(0, 7), past.reshape(0, 7).shape());
    }

    @Test
    void contiguousAndToCopy() {
        Tensor x = iota(3, 2);
        Tensor t = x.transpose(0, 1);
        Tensor c = t.contiguous(arena);
        assertTrue(c.isContiguous());
        assertNotSame(t.storage(), c.storage());
        assertEquals(0, c.offset());
        assertArrayEquals(new double[] {0, 2, 4, 1, 3, 5}, c.toDoubleArray());
        c.set(99, 0, 0);
        assertEquals(0.0, x.get(0, 0), "the copy does not write back");
        Tensor again = x.contiguous(arena);
        assertNotSame(x.storage(), again.storage(), "contiguous(arena) always copies");
        assertArrayEquals(x.toDoubleArray(), again.toDoubleArray());
        Tensor sliced = iota(4, 3).slice(0, 1, 3).contiguous(arena);
        assertArrayEquals(new double[] {3, 4, 5, 6, 7, 8}, sliced.toDoubleArray());

        Tensor f = t.to(arena, DType.F32);
        assertEquals(DType.F32, f.dtype());
        assertTrue(f.isContiguous());
        assertArrayEquals(new float[] {0, 2, 4, 1, 3, 5}, f.toFloatArray());
        Tensor third = Tensor.of(arena, new double[] {1.0 / 3, 1.0 + 1.0 / 256}, 2);
        assertArrayEquals(new float[] {(float) (1.0 / 3), 1.0f + 1.0f / 256}, third.to(arena, DType.F32).toFloatArray());
        assertArrayEquals(new float[] {DType.bf16ToFloat(DType.floatToBf16((float) (1.0 / 3))), 1.0f},
                third.to(arena, DType.BF16).toFloatArray(), "1 + 2^-8 is a tie in bf16: to even");
        Tensor other = Tensor.zeros(arena, DType.F32, 2, 3);
        other.copyFrom(t);
        assertArrayEquals(new float[] {0, 2, 4, 1, 3, 5}, other.toFloatArray());
    }

    @Test
    void copyFromWritesThroughViewsAndChecksSizes() {
        Tensor x = Tensor.zeros(arena, DType.F64, 2, 3);
        x.transpose(0, 1).copyFrom(seq(6)); // xt[i, j] = 2i + j, so x[j, i] = 2i + j
        assertArrayEquals(new double[] {0, 2, 4, 1, 3, 5}, x.toDoubleArray());
        x.slice(1, 1, 3).copyFrom(new float[] {-1, -2, -3, -4});
        assertArrayEquals(new double[] {0, -1, -2, 1, -3, -4}, x.toDoubleArray());
        fails(() -> x.copyFrom(new double[5]), "values has 5 elements", "f64[2, 3]", "6");
        fails(() -> x.copyFrom(new float[7]), "values has 7 elements");
        fails(() -> x.copyFrom(iota(3, 2)), "f64[3, 2]", "f64[2, 3]", "shapes differ");
    }

    @Test
    void copyIntoABroadcastViewIsRejected() {
        Tensor row = Tensor.zeros(arena, DType.F64, 3);
        Tensor b = row.broadcastTo(Shape.of(2, 3));
        // two elements of the view share one address: which value would win is not a meaningful answer
        fails(() -> b.copyFrom(seq(6)), "overlap");
        fails(() -> b.copyFrom(new float[6]), "overlap");
        assertArrayEquals(new double[3], row.toDoubleArray(), "nothing was written");
        // stride 0 in a size-1 dimension is harmless
        Tensor u = row.unsqueeze(0);
        u.copyFrom(new double[] {1, 2, 3});
        assertArrayEquals(new double[] {1, 2, 3}, row.toDoubleArray());
    }

    @Test
    void item() {
        assertEquals(7.0, Tensor.scalar(arena, DType.F32, 7).item());
        assertEquals(-2.5, Tensor.full(arena, DType.BF16, Shape.of(1, 1, 1), -2.5).item());
        assertEquals(9.0, iota(2, 5).slice(0, 1, 2).slice(1, 4, 5).item(), "a one-element view at an offset");
        var e = assertThrows(IllegalStateException.class, () -> iota(2).item());
        assertTrue(e.getMessage().contains("f64[2]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> iota(0).item());
    }

    // ---------------------------------------------------------------- printing

    @Test
    void toStringIsReadable() {
        String s = Tensor.of(arena, new float[] {0, 1, 2, 3, 4, 5}, 2, 3).toString();
        assertTrue(s.startsWith("Tensor[f32 [2, 3]]"), s);
        assertTrue(s.contains("[[0., 1., 2.],"), s);
        assertTrue(s.contains("[3., 4., 5.]]"), s);
        String big = iota(2, 100).toString();
        assertTrue(big.contains("f64") && big.contains("[2, 100]"), big);
        assertTrue(big.contains("...") && big.contains("99.") && big.contains("199."), big);
        assertFalse(big.contains("50."), "the middle is elided: " + big);
        assertTrue(big.length() < 200, "large dims stay short: " + big);
        String huge = iota(50, 50, 50).toString();
        assertTrue(huge.length() < 5000, "a large tensor prints a few entries per dim, got " + huge.length() + " chars");
        assertTrue(iota(2, 3).transpose(0, 1).toString().contains("strides=[1, 3]"));
        assertTrue(Tensor.scalar(arena, DType.BF16, 1.5).toString().contains("bf16 []"));
        assertTrue(Tensor.scalar(arena, DType.F64, 0.1).toString().contains("0.10000"));
        assertTrue(Tensor.full(arena, DType.F32, Shape.of(1), Double.NaN).toString().contains("NaN"));
        assertTrue(Tensor.zeros(arena, DType.F32, 0, 3).toString().contains("[0, 3]"));
    }

    // ---------------------------------------------------------------- lifetime and alignment

    @Test
    void useAfterTheArenaClosesThrowsIllegalStateException() {
        Tensor x = iota(DType.F32, 4);
        Tensor view = x.slice(0, 1, 3);
        Tensor other;
        try (Arena second = Arena.ofConfined()) {
            other = Tensor.zeros(second, DType.F32, 4);
        }
        arena.close();
        assertFalse(x.isAlive());
        assertThrows(IllegalStateException.class, x::toFloatArray);
        assertThrows(IllegalStateException.class, x::toDoubleArray);
        assertThrows(IllegalStateException.class, x::data);
        assertThrows(IllegalStateException.class, view::toFloatArray);
        var e = assertThrows(IllegalStateException.class, () -> x.checkAlive("weights"));
        assertTrue(e.getMessage().contains("weights") && e.getMessage().contains("closed")
                && e.getMessage().contains("f32[4]"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> x.get(0));
        assertThrows(IllegalStateException.class, () -> x.set(1, 0));
        assertThrows(IllegalStateException.class, () -> x.slice(0, 0, 1).item());
        assertThrows(IllegalStateException.class, () -> x.copyFrom(new float[4]));
        assertThrows(IllegalStateException.class, () -> other.copyFrom(x));
        try (Arena third = Arena.ofConfined()) {
            assertThrows(IllegalStateException.class, () -> x.contiguous(third));
            assertThrows(IllegalStateException.class, () -> x.to(third, DType.F64));
            assertThrows(IllegalStateException.class, () -> x.broadcastTo(Shape.of(2, 4)).reshape(third, 8));
        }
        assertTrue(x.toString().contains("arena closed"), x.toString());
        assertThrows(IllegalStateException.class, () -> Tensor.zeros(arena, DType.F32, 2));
    }

    @Test
    void freshTensorsAre64ByteAligned() {
        assertEquals(64, HostMemory.ALIGNMENT);
        long[][] shapes = {{1}, {3}, {7, 3}, {5, 5, 5}, {1000}, {13}};
        for (DType dt : DType.values()) {
            for (long[] s : shapes) {
                Tensor t = Tensor.zeros(arena, dt, s);
                assertEquals(0, t.data().address() % 64, dt.shortName() + Shape.of(s));
                Tensor o = Tensor.of(arena, dt, new double[Math.toIntExact(Shape.of(s).size())], s);
                assertEquals(0, o.data().address() % 64, dt.shortName() + Shape.of(s));
            }
        }
        assertEquals(0, iota(5, 3).transpose(0, 1).contiguous(arena).data().address() % 64);
        // data() of a view starts at its first element
        Tensor x = iota(4, 3);
        assertEquals(x.data().address() + 3 * 8, x.slice(0, 1, 3).data().address());
    }

    @Test
    void wrapViewsExistingMemoryAndChecksIt() {
        var seg = arena.allocate(64, 64);
        Tensor t = Tensor.wrap(seg, DType.F32, Shape.of(4, 4));
        t.set(3, 2, 1);
        assertEquals(3.0f, seg.getAtIndex(ValueLayout.JAVA_FLOAT, 9));
        fails(() -> Tensor.wrap(seg, DType.F64, Shape.of(9)), "64 bytes", "f64[9]", "72 bytes");
        fails(() -> Tensor.wrap(seg.asSlice(2), DType.F32, Shape.of(2)), "not aligned", "f32");
    }
}

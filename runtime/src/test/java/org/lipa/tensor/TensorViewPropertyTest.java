package org.lipa.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random chains of views (permute, slice with steps and negative bounds, unsqueeze, broadcast, reshape)
 * on random shapes, including size-1 and size-0 dimensions, against a plain-Java model of the same chain.
 *
 * <p>The model knows nothing of strides: it keeps, for every element of the view in row-major order, the
 * index of the storage element it stands for, and a {@code double[]} mirror of that storage; each view
 * maps indices explicitly. Whether a reshape can be a view is decided independently too: it can exactly
 * when the storage offsets of the elements are an affine function of the new index.
 */
class TensorViewPropertyTest {
    private static final int CASES = 800;
    private static final int STEPS = 8;
    private static final long MAX_ELEMENTS = 3000;

    /** A view: its dims, the storage index of each element (row-major), and the mirror of its storage. */
    private record Model(long[] dims, long[] off, double[] store) {
        long size() {
            return off.length;
        }

        double[] values() {
            double[] v = new double[off.length];
            for (int k = 0; k < v.length; k++) {
                v[k] = store[(int) off[k]];
            }
            return v;
        }

        long offsetAt(long[] idx) {
            return off[(int) ravel(idx, dims)];
        }
    }

    private static long[] unravel(long flat, long[] d) {
        long[] idx = new long[d.length];
        for (int i = d.length - 1; i >= 0; i--) {
            idx[i] = flat % d[i];
            flat /= d[i];
        }
        return idx;
    }

    private static long ravel(long[] idx, long[] d) {
        long f = 0;
        for (int i = 0; i < d.length; i++) {
            f = f * d[i] + idx[i];
        }
        return f;
    }

    private static long product(long[] d) {
        long p = 1;
        for (long x : d) {
            p *= x;
        }
        return p;
    }

    // ---------------------------------------------------------------- the model's views

    private static Model permute(Model m, int[] perm) {
        int r = m.dims.length;
        long[] nd = new long[r];
        int[] p = new int[r];
        for (int i = 0; i < r; i++) {
            p[i] = perm[i] < 0 ? perm[i] + r : perm[i];
            nd[i] = m.dims[p[i]];
        }
        long[] off = new long[m.off.length];
        for (int k = 0; k < off.length; k++) {
            long[] idx = unravel(k, nd);
            long[] src = new long[r];
            for (int i = 0; i < r; i++) {
                src[p[i]] = idx[i];
            }
            off[k] = m.offsetAt(src);
        }
        return new Model(nd, off, m.store);
    }

    private static Model slice(Model m, int axis, long start, long end, long step) {
        long[] nd = m.dims.clone();
        nd[axis] = (end - start + step - 1) / step;
        long[] off = new long[(int) product(nd)];
        for (int k = 0; k < off.length; k++) {
            long[] idx = unravel(k, nd);
            idx[axis] = start + idx[axis] * step;
            off[k] = m.offsetAt(idx);
        }
        return new Model(nd, off, m.store);
    }

    private static Model unsqueeze(Model m, int axis) {
        long[] nd = new long[m.dims.length + 1];
        for (int i = 0, j = 0; i < nd.length; i++) {
            nd[i] = i == axis ? 1 : m.dims[j++];
        }
        return new Model(nd, m.off, m.store);
    }

    private static Model broadcast(Model m, long[] target) {
        int shift = target.length - m.dims.length;
        long[] off = new long[(int) product(target)];
        for (int k = 0; k < off.length; k++) {
            long[] idx = unravel(k, target);
            long[] src = new long[m.dims.length];
            for (int j = 0; j < src.length; j++) {
                src[j] = m.dims[j] == 1 ? 0 : idx[j + shift];
            }
            off[k] = m.offsetAt(src);
        }
        return new Model(target, off, m.store);
    }

    /** Whether the elements, in row-major order of {@code target}, sit at offsets affine in the index. */
    private static boolean viewable(Model m, long[] target) {
        if (m.off.length == 0) {
            return true;
        }
        long base = m.off[0];
        long[] stride = new long[target.length];
        for (int i = 0; i < target.length; i++) {
            if (target[i] > 1) {
                long[] unit = new long[target.length];
                unit[i] = 1;
                stride[i] = m.off[(int) ravel(unit, target)] - base;
            }
        }
        for (int k = 0; k < m.off.length; k++) {
            long[] idx = unravel(k, target);
            long o = base;
            for (int i = 0; i < target.length; i++) {
                o += idx[i] * stride[i];
            }
            if (o != m.off[k]) {
                return false;
            }
        }
        return true;
    }

    private static boolean contiguous(Model m) {
        for (int k = 0; k < m.off.length; k++) {
            if (m.off[k] != m.off[0] + k) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- the property

    @Test
    void randomViewChainsMatchTheModel() {
        Random rnd = new Random(20240611);
        int reshapedAsViews = 0;
        int reshapedByCopy = 0;
        int empty = 0;
        int broadcasts = 0;
        for (int c = 0; c < CASES; c++) {
            try (Arena arena = Arena.ofConfined()) {
                Map<double[], Tensor> roots = new IdentityHashMap<>();
                long[] dims = randomDims(rnd, rnd.nextInt(5));
                double[] store = new double[(int) product(dims)];
                for (int i = 0; i < store.length; i++) {
                    store[i] = i;
                }
                Tensor t = Tensor.of(arena, store.clone(), dims);
                long[] off = new long[store.length];
                Arrays.setAll(off, i -> i);
                Model m = new Model(dims, off, store);
                roots.put(store, t);
                List<String> chain = new ArrayList<>();
                chain.add("of" + Arrays.toString(dims));
                for (int step = 0; step < STEPS; step++) {
                    int r = t.rank();
                    int choice = rnd.nextInt(6);
                    if (choice == 0 && r > 0) {
                        int[] perm = shuffled(rnd, r);
                        for (int i = 0; i < r; i++) {
                            if (rnd.nextBoolean()) {
                                perm[i] -= r;
                            }
                        }
                        chain.add("permute" + Arrays.toString(perm));
                        t = t.permute(perm);
                        m = permute(m, perm);
                    } else if (choice == 1 && r > 0) {
                        int axis = rnd.nextInt(r);
                        long n = m.dims[axis];
                        long s = rnd.nextInt((int) n + 1);
                        // mostly non-empty: an empty slice makes the rest of the chain empty too
                        long e = s == n || rnd.nextInt(10) == 0 ? s : s + 1 + rnd.nextInt((int) (n - s));
                        long st = 1 + rnd.nextInt(3);
                        long start = s < n && rnd.nextBoolean() ? s - n : s;
                        long end = e < n && rnd.nextBoolean() ? e - n : e;
                        int ax = rnd.nextBoolean() ? axis - r : axis;
                        chain.add("slice(" + ax + ", " + start + ", " + end + ", " + st + ")");
                        t = t.slice(ax, start, end, st);
                        m = slice(m, axis, s, e, st);
                    } else if (choice == 2 && r < 8) {
                        int axis = rnd.nextInt(r + 1);
                        int ax = rnd.nextBoolean() ? axis - (r + 1) : axis;
                        chain.add("unsqueeze(" + ax + ")");
                        t = t.unsqueeze(ax);
                        m = unsqueeze(m, axis);
                    } else if (choice == 3 && r < 7) {
                        long[] target = broadcastTarget(rnd, m.dims);
                        if (product(target) > MAX_ELEMENTS) {
                            continue;
                        }
                        chain.add("broadcastTo" + Arrays.toString(target));
                        t = t.broadcastTo(Shape.of(target));
                        m = broadcast(m, target);
                        broadcasts++;
                    } else if (choice == 5 && rnd.nextInt(3) == 0) {
                        chain.add("contiguous");
                        Tensor copy = t.contiguous(arena);
                        assertNotSame(t.storage(), copy.storage());
                        t = copy;
                        m = fresh(m, roots, t);
                    } else {
                        long[] target = reshapeTarget(rnd, m.size());
                        long[] spec = target.clone();
                        if (m.size() > 0 && target.length > 0 && rnd.nextInt(3) == 0) {
                            spec[rnd.nextInt(target.length)] = -1;
                        }
                        chain.add("reshape" + Arrays.toString(spec));
                        boolean expectView = viewable(m, target);
                        Tensor before = t;
                        if (expectView) {
                            try {
                                t = t.reshape(spec);
                            } catch (IllegalArgumentException e) {
                                fail("a view exists but reshape refused it: " + chain + ": " + e.getMessage());
                            }
                            assertSame(before.storage(), t.storage(), "a reshape view shares storage: " + chain);
                            m = new Model(target, m.off, m.store);
                            reshapedAsViews++;
                        } else {
                            var e = assertThrows(IllegalArgumentException.class, () -> before.reshape(spec), chain::toString);
                            assertTrue(e.getMessage().contains("contiguous(arena)"), e.getMessage());
                            t = before.reshape(arena, spec);
                            assertNotSame(before.storage(), t.storage(), "reshape(arena, ...) copies: " + chain);
                            m = fresh(new Model(target, m.off, m.store), roots, t);
                            reshapedByCopy++;
                        }
                    }
                    if (m.size() == 0) {
                        empty++;
                    }
                    check(rnd, t, m, roots, chain);
                }
            }
        }
        // the generator must actually reach the interesting cases
        assertTrue(reshapedAsViews > 200, "reshape views: " + reshapedAsViews);
        assertTrue(reshapedByCopy > 100, "reshape copies: " + reshapedByCopy);
        assertTrue(empty > 100, "empty views: " + empty);
        assertTrue(broadcasts > 100, "broadcasts: " + broadcasts);
    }

    /** A model over the fresh contiguous storage of {@code t}, whose values are {@code m}'s. */
    private static Model fresh(Model m, Map<double[], Tensor> roots, Tensor t) {
        double[] store = m.values();
        long[] off = new long[store.length];
        Arrays.setAll(off, i -> i);
        roots.put(store, t);
        return new Model(m.dims, off, store);
    }

    private static void check(Random rnd, Tensor t, Model m, Map<double[], Tensor> roots, List<String> chain) {
        String what = chain.toString();
        assertEquals(Shape.of(m.dims), t.shape(), what);
        assertArrayEquals(m.values(), t.toDoubleArray(), what);
        assertEquals(contiguous(m), t.isContiguous(), "isContiguous of " + what + " with strides " + Arrays.toString(t.strides()));
        if (m.size() == 0) {
            return;
        }
        // read one element by index, write another through this view, read it back through the root
        long k = rnd.nextInt((int) m.size());
        assertEquals(m.store[(int) m.off[(int) k]], t.get(unravel(k, m.dims)), what);
        long w = rnd.nextInt((int) m.size());
        double v = -1 - rnd.nextInt(1000);
        t.set(v, unravel(w, m.dims));
        m.store[(int) m.off[(int) w]] = v;
        Tensor root = roots.get(m.store);
        assertArrayEquals(m.store, root.toDoubleArray(), "write through " + what);
        assertArrayEquals(m.values(), t.toDoubleArray(), "read back " + what);
    }

    // ---------------------------------------------------------------- generators

    private static long[] randomDims(Random rnd, int rank) {
        long[] d = new long[rank];
        for (int i = 0; i < rank; i++) {
            int k = rnd.nextInt(24);
            d[i] = k == 0 ? 0 : k < 7 ? 1 : 2 + rnd.nextInt(3);
        }
        return d;
    }

    private static long[] broadcastTarget(Random rnd, long[] dims) {
        int extra = rnd.nextInt(3);
        long[] target = new long[extra + dims.length];
        for (int i = 0; i < extra; i++) {
            target[i] = rnd.nextInt(16) == 0 ? 0 : 1 + rnd.nextInt(3);
        }
        for (int j = 0; j < dims.length; j++) {
            target[extra + j] = dims[j] != 1 ? dims[j] : rnd.nextInt(16) == 0 ? 0 : 1 + rnd.nextInt(3);
        }
        return target;
    }

    /** A random shape with {@code n} elements: split into factors, 1s sprinkled in; some zero dim when n is 0. */
    private static long[] reshapeTarget(Random rnd, long n) {
        List<Long> d = new ArrayList<>();
        if (n == 0) {
            int rank = 1 + rnd.nextInt(4);
            for (int i = 0; i < rank; i++) {
                d.add((long) rnd.nextInt(4));
            }
            d.set(rnd.nextInt(rank), 0L);
        } else {
            if (n > 1 || rnd.nextBoolean()) {
                d.add(n);
            }
            for (int splits = rnd.nextInt(4); splits > 0 && !d.isEmpty(); splits--) {
                int i = rnd.nextInt(d.size());
                long x = d.get(i);
                List<Long> divisors = new ArrayList<>();
                for (long f = 2; f < x; f++) {
                    if (x % f == 0) {
                        divisors.add(f);
                    }
                }
                if (!divisors.isEmpty()) {
                    long f = divisors.get(rnd.nextInt(divisors.size()));
                    d.set(i, x / f);
                    d.add(i + (rnd.nextBoolean() ? 1 : 0), f);
                }
            }
            for (int ones = rnd.nextInt(3); ones > 0 && d.size() < 8; ones--) {
                if (rnd.nextInt(3) == 0) {
                    d.add(rnd.nextInt(d.size() + 1), 1L);
                }
            }
        }
        return d.stream().mapToLong(Long::longValue).toArray();
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
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Binary;
import org.lipa.ops.MatMul;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Matrix products. Two kernels, chosen by shape: {@code dnnl_sgemm} for f32 matrices (rank 2 after
 * dropping leading size-1 dims) stored row-major or transposed, and oneDNN's matmul primitive for
 * everything else (batches with broadcasting, bf16, arbitrary strides).
 *
 * <p>Why two: on this project's reference machine (2 cores, AVX-512) {@code dnnl_sgemm} reaches
 * 168-172 GFLOP/s at 256-1024 while the matmul primitive reaches 125-136, and the primitive costs about
 * 1 us per execution even for tiny shapes. The bias of the sgemm path is added afterwards by a binary
 * primitive in place.
 */
final class DnnlMatmul {
    private DnnlMatmul() {
    }

    static void execute(CpuBackend b, MatMul op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        Tensor a = in.get(0);
        Tensor w = in.get(1);
        Tensor bias = in.size() == 3 ? in.get(2) : null;
        long k = a.shape().dim(-1);
        if (k == 0) {
            // an empty inner dimension: the product is zero, plus the bias
            y.copyFrom(new double[Math.toIntExact(y.size())]);
            if (bias != null) {
                DnnlBinary.execute(b, new Binary(Binary.Kind.ADD), List.of(y, bias), List.of(y));
            }
            return;
        }
        Tensor a2 = asMatrix(a);
        Tensor w2 = asMatrix(w);
        if (a.dtype() == DType.F32 && a2 != null && w2 != null && gemmLayout(a2) != 0 && gemmLayout(w2) != 0) {
            sgemm(a2, w2, y.reshape(a2.shape().dim(0), w2.shape().dim(1)));
            if (bias != null) {
                DnnlBinary.execute(b, new Binary(Binary.Kind.ADD), List.of(y, bias), List.of(y));
            }
            return;
        }
        primitive(b, op, a, w, bias, y);
    }

    /** {@code t} as a rank-2 view when its leading dims are all 1, else null. */
    private static Tensor asMatrix(Tensor t) {
        for (int i = 0; i < t.rank() - 2; i++) {
            if (t.shape().dim(i) != 1) {
                return null;
            }
        }
        Tensor v = t;
        while (v.rank() > 2) {
            v = v.slice(0, 0, 1).reshape(subShape(v));
        }
        return v;
    }

    private static long[] subShape(Tensor t) {
        long[] d = t.shape().toArray();
        return java.util.Arrays.copyOfRange(d, 1, d.length);
    }

    /** 'N' if rows are contiguous, 'T' if columns are, 0 if neither (a general strided view). */
    private static byte gemmLayout(Tensor m) {
        long[] s = m.strides();
        long rows = m.shape().dim(0);
        long cols = m.shape().dim(1);
        if ((s[1] == 1 || cols == 1) && s[0] >= Math.max(cols, 1)) {
            return 'N';
        }
        if ((s[0] == 1 || rows == 1) && s[1] >= Math.max(rows, 1)) {
            return 'T';
        }
        return 0;
    }

    private static long leading(Tensor m, byte layout) {
        long[] s = m.strides();
        return layout == 'N' ? Math.max(s[0], Math.max(m.shape().dim(1), 1)) : Math.max(s[1], Math.max(m.shape().dim(0), 1));
    }

    /** Row-major {@code y = a @ w} with dnnl_sgemm; a transposed operand is read in place. */
    private static void sgemm(Tensor a, Tensor w, Tensor y) {
        byte ta = gemmLayout(a);
        byte tw = gemmLayout(w);
        long m = a.shape().dim(0);
        long k = a.shape().dim(1);
        long n = w.shape().dim(1);
        Dnnl.check(dnnl_sgemm(ta, tw, m, n, k, 1f, a.data(), leading(a, ta), w.data(), leading(w, tw), 0f, y.data(), n),
                "dnnl_sgemm");
    }

    /** The matmul primitive: batch dims broadcast (operands brought to the result's rank), bias broadcast. */
    private static void primitive(CpuBackend b, MatMul op, Tensor a, Tensor w, Tensor bias, Tensor y) {
        try (Arena tmp = Arena.ofConfined()) {
            int r = y.rank();
            Tensor av = toRank(a, r);
            Tensor wv = toRank(w, r);
            for (int i = 0; i < r - 2; i++) {
                long n = y.shape().dim(i);
                if (n > 1 && !carries(av, i, n) && !carries(wv, i, n)) {
                    // oneDNN needs one operand to carry the result's batch: source broadcast along it, then copied
                    // by readable() below (a stride-0 batch dim of both operands, or of one beside a size-1 dim)
                    wv = wv.shape().dim(i) > 1 ? wv.slice(i, 0, 1) : wv;
                    long[] dims = av.shape().toArray();
                    dims[i] = n;
                    av = av.shape().dim(i) == n ? av : av.broadcastTo(org.lipa.tensor.Shape.of(dims));
                    av = CpuBackend.readable(av, tmp);
                }
            }
            av = dense(b, compact(av, tmp), tmp);
            wv = dense(b, compact(wv, tmp), tmp);
            // contiguous: oneDNN's matmul reads a strided bias as if it were dense (found by FuzzTest)
            Tensor bv = bias == null ? null : DnnlReorder.materialize(b, compact(toRank(bias, r), tmp), tmp);
            MemoryDesc src = MemoryDesc.of(av);
            MemoryDesc wei = MemoryDesc.of(wv);
            MemoryDesc bia = bv == null ? null : MemoryDesc.of(bv);
            MemoryDesc dst = MemoryDesc.of(y);
            List<MemoryDesc> layouts = bia == null ? List.of(src, wei, dst) : List.of(src, wei, dst, bia);
            Primitive p = b.primitive(op, "primitive", layouts, () -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment pd = Primitive.descriptor("dnnl_matmul_primitive_desc_create",
                            (o, attr) -> dnnl_matmul_primitive_desc_create(o, b.context().engine(), s.md(src), s.md(wei),
                                    s.md(bia), s.md(dst), attr));
                    int[] kinds = bia == null ? new int[] {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST()}
                            : new int[] {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST(), DNNL_ARG_BIAS()};
                    return Primitive.create(b.context(), pd, kinds, layouts.toArray(MemoryDesc[]::new));
                }
            });
            if (bv == null) {
                p.execute(av.data(), wv.data(), y.data());
            } else {
                p.execute(av.data(), wv.data(), y.data(), bv.data());
            }
        }
    }

    private static Tensor toRank(Tensor t, int r) {
        Tensor v = t;
        while (v.rank() < r) {
            v = v.unsqueeze(0);
        }
        return v;
    }

    /**
     * {@code t} when it is contiguous or a contiguous tensor with its last two axes swapped, else a
     * contiguous copy: oneDNN 3.13's matmul reads other batch strides wrongly when the source batch is
     * broadcast (found by FuzzTest: weights sliced with a step along a batch axis).
     */
    private static Tensor dense(CpuBackend b, Tensor t, Arena tmp) {
        if (t.isContiguous() || t.rank() >= 2 && t.transpose(t.rank() - 2, t.rank() - 1).isContiguous()) {
            return t;
        }
        return DnnlReorder.materialize(b, t, tmp);
    }

    /** Whether {@code t} holds distinct data for all {@code n} entries of batch dim {@code i}. */
    private static boolean carries(Tensor t, int i, long n) {
        return t.shape().dim(i) == n && t.strides()[i] != 0;
    }

    /**
     * Stride-0 batch dims become size-1 dims (oneDNN broadcasts those); a stride-0 matrix dim (a
     * broadcast row or column inside the matrix) is copied, since oneDNN cannot read it.
     */
    private static Tensor compact(Tensor t, Arena tmp) {
        Tensor v = t;
        long[] s = t.strides();
        for (int i = 0; i < t.rank() - 2; i++) {
            if (s[i] == 0 && t.shape().dim(i) > 1) {
                v = v.slice(i, 0, 1);
            }
        }
        return CpuBackend.readable(v, tmp);
    }
}

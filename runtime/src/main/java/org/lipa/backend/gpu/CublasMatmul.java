package org.lipa.backend.gpu;

import static org.lipa.bindings.cublas.cublas_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Matrix products on cuBLAS, with batch broadcasting and an optional bias: on cuBLASLt with a heuristically
 * chosen algorithm ({@link CublasLtMatmul}) for bf16 and f32, on {@code cublasGemmStridedBatchedEx} where
 * cuBLASLt has no algorithm for the layout (or with {@code -Dlipa.cuda.cublaslt=false}).
 *
 * <p>cuBLAS is column-major; a row-major {@code C = A B} is the column-major {@code C^T = B^T A^T}, so B is
 * passed first. Each operand is used in place when one of its last two strides is 1 (a transposed view
 * becomes cuBLAS's transpose flag) and its batch axes collapse to one stride (0 for a broadcast batch);
 * otherwise it is first copied contiguous. A bias is broadcast into C, which the product then adds to
 * ({@code beta = 1}). f32 computes in f32 (no TF32, as PyTorch's default; {@code -Dlipa.cuda.tf32=true}
 * allows it); bf16 operands accumulate in f32. A batch of products whose B is shared (batch stride 0, as in a
 * linear layer on a 3-D input) and whose A's matrices follow each other in memory is one product with
 * {@code batch * M} rows, as PyTorch folds it: one larger GEMM instead of a batch of small ones.
 *
 * <p>Thread safety: stateless; runs on the caller's handle and stream.
 */
final class CublasMatmul {
    private static final boolean TF32 = Boolean.getBoolean("lipa.cuda.tf32");

    private CublasMatmul() {
    }

    static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS()) {
            String name = cublasGetStatusName(status).reinterpret(256).getString(0);
            String text = cublasGetStatusString(status).reinterpret(1024).getString(0);
            throw new CudaException(call + " failed: " + name + " (" + status + "): " + text, status);
        }
    }

    static MemorySegment createHandle(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check(cublasCreate_v2(p), "cublasCreate");
            MemorySegment h = p.get(ValueLayout.ADDRESS, 0);
            check(cublasSetStream_v2(h, stream), "cublasSetStream");
            return h;
        }
    }

    static void destroyHandle(MemorySegment h) {
        check(cublasDestroy_v2(h), "cublasDestroy");
    }

    static String version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment h = a.allocate(ValueLayout.ADDRESS);
            check(cublasCreate_v2(h), "cublasCreate");
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            try {
                check(cublasGetVersion_v2(h.get(ValueLayout.ADDRESS, 0), v), "cublasGetVersion");
            } finally {
                cublasDestroy_v2(h.get(ValueLayout.ADDRESS, 0));
            }
            int n = v.get(ValueLayout.JAVA_INT, 0); // major * 10000 + minor * 100 + patch
            return n / 10000 + "." + (n / 100) % 100 + "." + n % 100;
        }
    }

    /** How cuBLAS reads one operand: its pointer, transpose flag, leading dimension and batch stride (elements). */
    record Operand(MemorySegment data, int op, long ld, long batchStride) {
    }

    static void execute(GpuBackend gpu, Handles h, List<Tensor> in, Tensor c, Arena call) {
        Tensor a = in.get(0);
        Tensor b = in.get(1);
        Shape cs = c.shape();
        int r = cs.rank();
        long m = cs.dim(r - 2);
        long n = cs.dim(r - 1);
        long k = a.shape().dim(-1);
        long batch = cs.size() / Math.max(1, m * n);
        if (cs.size() == 0) {
            return;
        }
        boolean bias = in.size() == 3;
        if (bias) {
            GpuElementwise.copy(gpu, h, in.get(2), c);
        }
        if (k == 0) {
            if (!bias) {
                GpuElementwise.fill(gpu, h, c, 0);
            }
            return;
        }
        Shape batchShape = cs.sub(0, r - 2);
        // C^T (n x m) = B^T (n x k) * A^T (k x m), column-major
        Operand ob = operand(gpu, h, b, batchShape, k, n, call);
        Operand oa = operand(gpu, h, a, batchShape, m, k, call);
        if (batch > 1 && ob.batchStride == 0 && oa.op == CUBLAS_OP_N() && oa.batchStride == m * oa.ld) {
            m *= batch; // A's batch of m x k matrices is one (batch * m) x k matrix; so is C's, contiguous
            batch = 1;
        }
        int type = cudaType(c.dtype());
        // cuBLAS's A is our B, its B our A: its m x n (column-major) result is our n x m (row-major) C
        if (CublasLtMatmul.ENABLED && c.dtype() != DType.F64
                && CublasLtMatmul.run(h, type, ob, oa, n, m, k, batch, bias ? 1f : 0f, c.data())) {
            return;
        }
        try (Arena s = Arena.ofConfined()) {
            MemorySegment one = s.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            MemorySegment beta = s.allocateFrom(ValueLayout.JAVA_FLOAT, bias ? 1f : 0f);
            int compute = c.dtype() == DType.F32 && TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32() : CUBLAS_COMPUTE_32F();
            check(cublasGemmStridedBatchedEx(h.cublas, ob.op, oa.op, Math.toIntExact(n), Math.toIntExact(m), Math.toIntExact(k),
                    one, ob.data, type, Math.toIntExact(ob.ld), ob.batchStride, oa.data, type, Math.toIntExact(oa.ld),
                    oa.batchStride, beta, c.data(), type, Math.toIntExact(n), m * n, Math.toIntExact(batch), compute,
                    CUBLAS_GEMM_DEFAULT()), "cublasGemmStridedBatchedEx(" + a.shape() + " x " + b.shape() + ")");
        }
    }

    static int cudaType(DType t) {
        return switch (t) {
            case F32 -> CUDA_R_32F();
            case BF16 -> CUDA_R_16BF();
            case F64 -> CUDA_R_64F();
        };
    }

    /**
     * The row-major {@code rows x cols} matrices of {@code t} (batch broadcast to {@code batch}) as cuBLAS's
     * column-major transpose: flag N with ld = row stride when columns are unit-stride, flag T with ld = column
     * stride when rows are; else a contiguous copy.
     */
    private static Operand operand(GpuBackend gpu, Handles h, Tensor t, Shape batch, long rows, long cols, Arena call) {
        long[] st = t.strides();
        int tr = t.rank();
        long sr = rows == 1 ? cols : st[tr - 2];
        long sc = cols == 1 ? 1 : st[tr - 1];
        Long batchStride = batchStride(t, batch);
        if (batchStride != null) {
            if (sc == 1 && sr >= Math.max(1, cols)) {
                return new Operand(t.data(), CUBLAS_OP_N(), sr, batchStride);
            }
            long sc2 = cols == 1 ? rows : st[tr - 1];
            long sr2 = rows == 1 ? 1 : st[tr - 2];
            if (sr2 == 1 && sc2 >= Math.max(1, rows)) {
                return new Operand(t.data(), CUBLAS_OP_T(), sc2, batchStride);
            }
        }
        long[] full = new long[batch.rank() + 2];
        System.arraycopy(batch.toArray(), 0, full, 0, batch.rank());
        full[batch.rank()] = rows;
        full[batch.rank() + 1] = cols;
        Tensor dense = gpu.allocate(call, new org.lipa.tensor.TensorSpec(Shape.of(full), t.dtype()));
        GpuElementwise.copy(gpu, h, t, dense);
        return new Operand(dense.data(), CUBLAS_OP_N(), cols, rows * cols);
    }

    /** One stride that steps through the batch axes of {@code t} broadcast to {@code batch}, or null. */
    private static Long batchStride(Tensor t, Shape batch) {
        int off = batch.rank() - (t.rank() - 2);
        long[] st = t.strides();
        Long stride = null;
        long expectedNext = -1;
        // walk batch axes from the innermost out; size-1 axes do not constrain
        for (int i = batch.rank() - 1; i >= 0; i--) {
            long d = batch.dim(i);
            if (d == 1) {
                continue;
            }
            int ti = i - off;
            long s = ti < 0 || t.shape().dim(ti) == 1 ? 0 : st[ti];
            if (stride == null) {
                stride = s;
                expectedNext = s * d;
            } else if (s == expectedNext) {
                expectedNext = s * d;
            } else {
                return null;
            }
        }
        return stride == null ? 0L : stride;
    }
}

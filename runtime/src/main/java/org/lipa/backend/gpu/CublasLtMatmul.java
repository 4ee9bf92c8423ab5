package org.lipa.backend.gpu;

import static org.lipa.bindings.cublaslt.cublaslt_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.lipa.bindings.cublas.cublas_h;
import org.lipa.bindings.cublaslt.cublasLtMatmulAlgo_t;
import org.lipa.bindings.cublaslt.cublasLtMatmulHeuristicResult_t;
import org.lipa.bindings.cudart.cudart_h;

/**
 * Matrix products on cuBLASLt ({@code cublasLtMatmul}) with an algorithm chosen by
 * {@code cublasLtMatmulAlgoGetHeuristic} and a 32 MiB workspace, as PyTorch does: on the legacy
 * {@code cublasGemmStridedBatchedEx} a bf16 4096^3 product ran at 616 TFLOP/s against PyTorch's 698 on an H100
 * (issue 24).
 *
 * <p>{@link CublasMatmul} prepares the operands (the row-major product as cuBLAS's column-major transpose,
 * views as transpose flags, batches as one stride) and calls {@link #run}, which takes bf16 and f32 products and
 * returns false when cuBLASLt has no algorithm for them, so that the caller runs {@code cublasGemmStridedBatchedEx}
 * instead: the heuristic answers with no algorithm, or {@code CUBLAS_STATUS_NOT_SUPPORTED}, for a
 * configuration none of its kernels takes, while the legacy API takes every layout the operands can have, so
 * falling back keeps every product working.
 *
 * <p><b>Numerics.</b> Both dtypes accumulate in f32 with f32 scale factors. f32 products compute with
 * {@code CUBLAS_COMPUTE_32F}, which is full f32 on cuBLASLt too (TF32 only with {@code -Dlipa.cuda.tf32=true},
 * as on the legacy path), so f32 keeps its semantics and takes this path as well. Split-K reductions are limited
 * to none or in the compute type ({@code CUBLASLT_REDUCTION_SCHEME_NONE | _COMPUTE_TYPE}): a bf16 product is
 * then one f32 sum rounded once, never partial sums rounded to bf16 and added (which cuBLASLt allows by default).
 *
 * <p><b>Plans.</b> A plan is the operation descriptor, the three layouts (C's serves as D's) and the chosen
 * algorithm, keyed by dtype, transposes, sizes, leading dimensions, batch strides and the alignment of each
 * pointer (cuBLASLt's kernels assume 256-byte aligned operands unless told otherwise, so the preference states the
 * actual alignment, capped at 256, as PyTorch does). Plans are cached per thread ({@link Context}), at most
 * {@value #MAX_PLANS} of them, the least recently used destroyed first, so a repeated product makes one library
 * call. Cached rather than created and destroyed per call (PyTorch does the latter): making and destroying the operation
 * descriptor and three batched layouts measured 1 to 4 microseconds per product through these bindings (host
 * calls, no GPU needed: an AMD EPYC, 2 cores, noisy), comparable to launching a small product, while a cached plan
 * costs a map lookup; the heuristic query (not measured here, no GPU) has to be cached in any case and the
 * descriptors it was asked about come with it.
 * A product for which cuBLASLt has no algorithm is cached too (as such), so it asks once.
 *
 * <p><b>Switch.</b> {@code -Dlipa.cuda.cublaslt=false} sends every product to the legacy path (to compare the two).
 *
 * <p>Thread safety: stateless apart from the counters; each thread uses its own {@link Context} (in its
 * {@link Handles}).
 */
final class CublasLtMatmul {
    /** Device workspace per thread: what PyTorch gives cuBLASLt on Hopper. */
    static final long WORKSPACE_BYTES = 32L << 20;
    static final int MAX_PLANS = 512;
    static final boolean ENABLED = !"false".equalsIgnoreCase(System.getProperty("lipa.cuda.cublaslt", "true"));
    private static final boolean TF32 = Boolean.getBoolean("lipa.cuda.tf32");

    private static final LongAdder CALLS = new LongAdder();
    private static final LongAdder HEURISTIC_QUERIES = new LongAdder();
    private static final LongAdder FALLBACKS = new LongAdder();

    private CublasLtMatmul() {
    }

    /** Products run by {@code cublasLtMatmul}, in this process (what tests check the path by). */
    static long calls() {
        return CALLS.sum();
    }

    /** Heuristic queries made (one per new plan). */
    static long heuristicQueries() {
        return HEURISTIC_QUERIES.sum();
    }

    /** Products that went to the legacy path because cuBLASLt had no algorithm for them. */
    static long fallbacks() {
        return FALLBACKS.sum();
    }

    /** Throws unless {@code status} is {@code CUBLAS_STATUS_SUCCESS}, with cuBLASLt's own name and text for it. */
    static void check(int status, String call) {
        if (status != CUBLAS_STATUS_SUCCESS()) {
            String name = cublasLtGetStatusName(status).reinterpret(256).getString(0);
            String text = cublasLtGetStatusString(status).reinterpret(1024).getString(0);
            throw new CudaException(call + " failed: " + name + " (" + status + "): " + text, status);
        }
    }

    /** cuBLASLt's version, "13.1.1" (it encodes major * 10000 + minor * 100 + patch). */
    static String version() {
        long n = cublasLtGetVersion();
        return n / 10000 + "." + (n / 100) % 100 + "." + n % 100;
    }

    /**
     * {@code C = op(A) op(B) + beta C} in cuBLAS's column-major terms ({@code m x n} result, inner size {@code k},
     * {@code batch} products), C contiguous with leading dimension {@code m} and batch stride {@code m * n}, on the
     * thread's stream. Returns false, having done nothing, when cuBLASLt has no algorithm for it.
     *
     * @param cudaType {@code CUDA_R_16BF} or {@code CUDA_R_32F}, the type of A, B and C
     * @param beta     0 (C is overwritten) or 1 (C, holding the bias, is added to)
     */
    static boolean run(Handles h, int cudaType, CublasMatmul.Operand a, CublasMatmul.Operand b, long m, long n, long k,
            long batch, float beta, MemorySegment c) {
        Context ctx = h.cublasLt;
        int compute = cudaType == cublas_h.CUDA_R_32F() && TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32() : CUBLAS_COMPUTE_32F();
        Key key = new Key(cudaType, compute, a.op(), b.op(), m, n, k, a.ld(), b.ld(), batch,
                batch > 1 ? a.batchStride() : 0, batch > 1 ? b.batchStride() : 0,
                alignment(a.data()), alignment(b.data()), alignment(c));
        Plan p = ctx.plans.get(key);
        if (p == null) {
            p = plan(ctx, key);
            ctx.plans.put(key, p);
        }
        if (p == Plan.NONE) {
            FALLBACKS.increment();
            return false;
        }
        MemorySegment workspace = ctx.workspace(h.stream);
        try (Arena s = Arena.ofConfined()) {
            MemorySegment one = s.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
            MemorySegment betaArg = s.allocateFrom(ValueLayout.JAVA_FLOAT, beta);
            MemorySegment algo = s.allocate(cublasLtMatmulAlgo_t.layout());
            MemorySegment.copy(p.algo, 0, algo, ValueLayout.JAVA_LONG, 0, p.algo.length);
            int status = cublasLtMatmul(ctx.handle, p.desc, one, a.data(), p.aLayout, b.data(), p.bLayout, betaArg, c,
                    p.cLayout, c, p.cLayout, algo, workspace, WORKSPACE_BYTES, h.stream);
            if (status != CUBLAS_STATUS_SUCCESS()) {
                check(status, "cublasLtMatmul(" + key + ")"); // the message only when it fails: this is the hot path
            }
        }
        CALLS.increment();
        return true;
    }

    /** The largest power of two, up to 256, that divides the address (cuBLASLt's MIN_ALIGNMENT preferences). */
    static int alignment(MemorySegment p) {
        long addr = p.address();
        return addr == 0 ? 256 : (int) Math.min(256, Long.lowestOneBit(addr));
    }

    /** What decides the algorithm; C's alignment stands for D's (the same pointer). */
    private record Key(int type, int compute, int opA, int opB, long m, long n, long k, long lda, long ldb, long batch,
            long strideA, long strideB, int alignA, int alignB, int alignC) {
    }

    /** The descriptors and algorithm of one product shape. {@link #NONE}: cuBLASLt has no algorithm for it. */
    private record Plan(MemorySegment desc, MemorySegment aLayout, MemorySegment bLayout, MemorySegment cLayout, long[] algo) {
        static final Plan NONE = new Plan(null, null, null, null, null);

        void destroy() {
            if (this == NONE) {
                return;
            }
            check(cublasLtMatrixLayoutDestroy(cLayout), "cublasLtMatrixLayoutDestroy");
            check(cublasLtMatrixLayoutDestroy(bLayout), "cublasLtMatrixLayoutDestroy");
            check(cublasLtMatrixLayoutDestroy(aLayout), "cublasLtMatrixLayoutDestroy");
            check(cublasLtMatmulDescDestroy(desc), "cublasLtMatmulDescDestroy");
        }
    }

    /** Builds the descriptors and asks the heuristic for its best algorithm within the workspace. */
    private static Plan plan(Context ctx, Key key) {
        HEURISTIC_QUERIES.increment();
        MemorySegment desc = MemorySegment.NULL;
        MemorySegment aLayout = MemorySegment.NULL;
        MemorySegment bLayout = MemorySegment.NULL;
        MemorySegment cLayout = MemorySegment.NULL;
        MemorySegment pref = MemorySegment.NULL;
        boolean kept = false;
        try (Arena s = Arena.ofConfined()) {
            MemorySegment out = s.allocate(ValueLayout.ADDRESS);
            check(cublasLtMatmulDescCreate(out, key.compute, cublas_h.CUDA_R_32F()), "cublasLtMatmulDescCreate"); // f32 alpha, beta
            desc = out.get(ValueLayout.ADDRESS, 0);
            setDesc(s, desc, CUBLASLT_MATMUL_DESC_TRANSA(), key.opA);
            setDesc(s, desc, CUBLASLT_MATMUL_DESC_TRANSB(), key.opB);
            // stored (not transposed) shapes: op(A) is m x k, op(B) is k x n
            boolean ta = key.opA != cublas_h.CUBLAS_OP_N();
            boolean tb = key.opB != cublas_h.CUBLAS_OP_N();
            aLayout = layout(s, key.type, ta ? key.k : key.m, ta ? key.m : key.k, key.lda, key.batch, key.strideA);
            bLayout = layout(s, key.type, tb ? key.n : key.k, tb ? key.k : key.n, key.ldb, key.batch, key.strideB);
            cLayout = layout(s, key.type, key.m, key.n, key.m, key.batch, key.m * key.n);

            check(cublasLtMatmulPreferenceCreate(out), "cublasLtMatmulPreferenceCreate");
            pref = out.get(ValueLayout.ADDRESS, 0);
            setPref(s, pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES(), s.allocateFrom(ValueLayout.JAVA_LONG, WORKSPACE_BYTES));
            setPref(s, pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK(), s.allocateFrom(ValueLayout.JAVA_INT,
                    CUBLASLT_REDUCTION_SCHEME_NONE() | CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE()));
            setPref(s, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES(), s.allocateFrom(ValueLayout.JAVA_INT, key.alignA));
            setPref(s, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES(), s.allocateFrom(ValueLayout.JAVA_INT, key.alignB));
            setPref(s, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES(), s.allocateFrom(ValueLayout.JAVA_INT, key.alignC));
            setPref(s, pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES(), s.allocateFrom(ValueLayout.JAVA_INT, key.alignC));

            MemorySegment results = cublasLtMatmulHeuristicResult_t.allocateArray(1, s);
            MemorySegment count = s.allocate(ValueLayout.JAVA_INT);
            int status = cublasLtMatmulAlgoGetHeuristic(ctx.handle, desc, aLayout, bLayout, cLayout, cLayout, pref, 1, results, count);
            if (status == CUBLAS_STATUS_NOT_SUPPORTED()) {
                return Plan.NONE; // no kernel for this configuration: the legacy API runs it
            }
            check(status, "cublasLtMatmulAlgoGetHeuristic(" + key + ")");
            if (count.get(ValueLayout.JAVA_INT, 0) < 1
                    || cublasLtMatmulHeuristicResult_t.state(results) != CUBLAS_STATUS_SUCCESS()) {
                return Plan.NONE;
            }
            MemorySegment algo = cublasLtMatmulHeuristicResult_t.algo(results);
            kept = true;
            return new Plan(desc, aLayout, bLayout, cLayout, algo.toArray(ValueLayout.JAVA_LONG));
        } finally {
            if (!pref.equals(MemorySegment.NULL)) {
                check(cublasLtMatmulPreferenceDestroy(pref), "cublasLtMatmulPreferenceDestroy");
            }
            if (!kept) {
                destroyAll(cLayout, bLayout, aLayout, desc);
            }
        }
    }

    /** Destroys what was made of a plan that is not kept (NULL entries were never made). */
    private static void destroyAll(MemorySegment cLayout, MemorySegment bLayout, MemorySegment aLayout, MemorySegment desc) {
        for (MemorySegment l : new MemorySegment[] {cLayout, bLayout, aLayout}) {
            if (!l.equals(MemorySegment.NULL)) {
                check(cublasLtMatrixLayoutDestroy(l), "cublasLtMatrixLayoutDestroy");
            }
        }
        if (!desc.equals(MemorySegment.NULL)) {
            check(cublasLtMatmulDescDestroy(desc), "cublasLtMatmulDescDestroy");
        }
    }

    private static void setDesc(Arena s, MemorySegment desc, int attribute, int value) {
        MemorySegment v = s.allocateFrom(ValueLayout.JAVA_INT, value); // int32_t (cublasOperation_t)
        check(cublasLtMatmulDescSetAttribute(desc, attribute, v, v.byteSize()), "cublasLtMatmulDescSetAttribute(" + attribute + ")");
    }

    private static void setPref(Arena s, MemorySegment pref, int attribute, MemorySegment value) {
        check(cublasLtMatmulPreferenceSetAttribute(pref, attribute, value, value.byteSize()),
                "cublasLtMatmulPreferenceSetAttribute(" + attribute + ")");
    }

    /** A column-major {@code rows x cols} layout with leading dimension {@code ld}; strided-batched when batch > 1. */
    private static MemorySegment layout(Arena s, int type, long rows, long cols, long ld, long batch, long batchStride) {
        MemorySegment out = s.allocate(ValueLayout.ADDRESS);
        check(cublasLtMatrixLayoutCreate(out, type, rows, cols, ld), "cublasLtMatrixLayoutCreate(" + rows + " x " + cols + ", ld " + ld + ")");
        MemorySegment l = out.get(ValueLayout.ADDRESS, 0);
        if (batch > 1) {
            try {
                MemorySegment count = s.allocateFrom(ValueLayout.JAVA_INT, Math.toIntExact(batch)); // int32_t
                check(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT(), count, count.byteSize()),
                        "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)");
                MemorySegment stride = s.allocateFrom(ValueLayout.JAVA_LONG, batchStride); // int64_t, elements
                check(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET(), stride, stride.byteSize()),
                        "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)");
            } catch (RuntimeException e) {
                cublasLtMatrixLayoutDestroy(l);
                throw e;
            }
        }
        return l;
    }

    /**
     * One thread's cuBLASLt state: its handle, its workspace (allocated on its first product, on its stream) and its
     * plans. Closed by {@link Handles#close} after the stream is synchronized.
     *
     * <p>Thread safety: used by its owning thread only; closed once, when no product runs.
     */
    static final class Context implements AutoCloseable {
        final MemorySegment handle;
        private MemorySegment workspace = MemorySegment.NULL;
        private MemorySegment workspaceStream = MemorySegment.NULL;
        private final Map<Key, Plan> plans = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Key, Plan> eldest) {
                if (size() > MAX_PLANS) {
                    // cuBLASLt reads descriptors when a product is enqueued, not when it runs: safe to destroy now
                    eldest.getValue().destroy();
                    return true;
                }
                return false;
            }
        };

        Context() {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ValueLayout.ADDRESS);
                check(cublasLtCreate(p), "cublasLtCreate");
                handle = p.get(ValueLayout.ADDRESS, 0);
            }
        }

        /** Plans cached now. */
        int plans() {
            return plans.size();
        }

        private MemorySegment workspace(MemorySegment stream) {
            if (workspace.equals(MemorySegment.NULL)) {
                try (Arena a = Arena.ofConfined()) {
                    MemorySegment p = a.allocate(ValueLayout.ADDRESS);
                    Cuda.check(cudart_h.cudaMallocAsync(p, WORKSPACE_BYTES, stream), "cudaMallocAsync(cuBLASLt workspace, " + WORKSPACE_BYTES + ")");
                    workspace = p.get(ValueLayout.ADDRESS, 0);
                    workspaceStream = stream;
                }
            }
            return workspace;
        }

        /** Destroys the plans, frees the workspace and destroys the handle; the stream must be idle. */
        @Override
        public void close() {
            for (Plan p : plans.values()) {
                p.destroy();
            }
            plans.clear();
            if (!workspace.equals(MemorySegment.NULL)) {
                Cuda.check(cudart_h.cudaFreeAsync(workspace, workspaceStream), "cudaFreeAsync(cuBLASLt workspace)");
                workspace = MemorySegment.NULL;
            }
            check(cublasLtDestroy(handle), "cublasLtDestroy");
        }
    }
}

package org.lipa.backend.gpu;

import static org.lipa.bindings.cudnn.cudnn_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.lipa.bindings.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.lipa.bindings.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.lipa.bindings.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Convolutions on cuDNN: forward ({@code cudnnConvolutionForward}), transposed convolution as cuDNN's
 * backward-data and the weight gradient as its backward-filter, grouped and dilated.
 *
 * <p>Each distinct call (op, shapes, input strides, dtype) gets a {@link Plan}: its descriptors and the
 * algorithm {@code cudnnFind*} measured fastest on first use (as PyTorch's {@code cudnn.benchmark}), kept
 * until the backend closes. The input may be strided (cuDNN reads it through an Nd descriptor); the
 * weight is made contiguous. f32 computes without TF32 ({@code -Dlipa.cuda.tf32=true} allows it), bf16
 * on tensor cores with f32 accumulation.
 *
 * <p>Thread safety: plans are shared between threads (descriptors are only read after creation); each
 * call runs on its thread's cuDNN handle and workspace.
 */
final class CudnnConv {
    private static final boolean TF32 = Boolean.getBoolean("lipa.cuda.tf32");
    /** The most workspace an algorithm may ask for. */
    private static final long MAX_WORKSPACE = 1L << 30;

    private CudnnConv() {
    }

    static void check(int status, String call) {
        if (status != CUDNN_STATUS_SUCCESS()) {
            String text = cudnnGetErrorString(status).reinterpret(1024).getString(0);
            String detail;
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(1024);
                cudnnGetLastErrorString(buf, 1024);
                detail = buf.getString(0);
            }
            throw new CudaException(call + " failed: " + text + " (" + status + ")" + (detail.isBlank() ? "" : ": " + detail), status);
        }
    }

    static MemorySegment createHandle(MemorySegment stream) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check(cudnnCreate(p), "cudnnCreate");
            MemorySegment h = p.get(ValueLayout.ADDRESS, 0);
            check(cudnnSetStream(h, stream), "cudnnSetStream");
            return h;
        }
    }

    static void destroyHandle(MemorySegment h) {
        check(cudnnDestroy(h), "cudnnDestroy");
    }

    static String version() {
        long v = cudnnGetVersion(); // major * 10000 + minor * 100 + patch (cuDNN 9)
        return v / 10000 + "." + (v / 100) % 100 + "." + v % 100;
    }

    /** What a plan is keyed by: the call's kind and parameters, and the layouts of its arguments. */
    private record Key(String variant, Object op, DType dtype, List<Long> x, List<Long> xStrides, List<Long> w, List<Long> y) {
    }

    /** Descriptors and the chosen algorithm of one distinct convolution call. */
    private record Plan(MemorySegment xDesc, MemorySegment wDesc, MemorySegment conv, MemorySegment yDesc, int algo, long workspace) {
        void destroy() {
            cudnnDestroyTensorDescriptor(xDesc);
            cudnnDestroyFilterDescriptor(wDesc);
            cudnnDestroyConvolutionDescriptor(conv);
            cudnnDestroyTensorDescriptor(yDesc);
        }
    }

    /** The plans of one backend, destroyed with it. */
    static final class Plans implements AutoCloseable {
        private final ConcurrentHashMap<Key, Plan> plans = new ConcurrentHashMap<>();

        int size() {
            return plans.size();
        }

        @Override
        public void close() {
            plans.values().forEach(Plan::destroy);
            plans.clear();
        }
    }

    static void conv(GpuBackend gpu, Handles h, Conv2d c, List<Tensor> in, Tensor y, Arena call) {
        if (empty(gpu, h, in, y)) {
            if (in.size() == 3 && y.size() > 0) {
                addBias(gpu, h, in.get(2), y);
            }
            return;
        }
        Tensor x = readable(gpu, h, in.get(0), call);
        Tensor w = GpuNorm.dense(gpu, h, in.get(1), call);
        Plan p = plan(gpu, h, "fwd", c, x, w, y, c.stride(), c.padding(), c.dilation(), c.groups());
        try (Arena a = Arena.ofConfined()) {
            check(cudnnConvolutionForward(h.cudnn, one(a), p.xDesc, x.data(), p.wDesc, w.data(), p.conv, p.algo,
                    h.workspace(p.workspace), p.workspace, zero(a), p.yDesc, y.data()), "cudnnConvolutionForward");
        }
        if (in.size() == 3) {
            addBias(gpu, h, in.get(2), y);
        }
    }

    static void deconv(GpuBackend gpu, Handles h, ConvTranspose2d c, List<Tensor> in, Tensor y, Arena call) {
        if (empty(gpu, h, in, y)) {
            if (in.size() == 3 && y.size() > 0) {
                addBias(gpu, h, in.get(2), y);
            }
            return;
        }
        Tensor x = GpuNorm.dense(gpu, h, in.get(0), call); // cuDNN's dy, described as contiguous
        Tensor w = GpuNorm.dense(gpu, h, in.get(1), call);
        Plan p = plan(gpu, h, "bwd_data", c, y, w, x, c.stride(), c.padding(), c.dilation(), c.groups());
        try (Arena a = Arena.ofConfined()) {
            check(cudnnConvolutionBackwardData(h.cudnn, one(a), p.wDesc, w.data(), p.yDesc, x.data(), p.conv, p.algo,
                    h.workspace(p.workspace), p.workspace, zero(a), p.xDesc, y.data()), "cudnnConvolutionBackwardData");
        }
        if (in.size() == 3) {
            addBias(gpu, h, in.get(2), y);
        }
    }

    static void weightGrad(GpuBackend gpu, Handles h, Conv2dWeightGrad c, List<Tensor> in, Tensor dw, Arena call) {
        if (empty(gpu, h, in, dw)) {
            return;
        }
        Tensor x = readable(gpu, h, in.get(0), call);
        Tensor g = GpuNorm.dense(gpu, h, in.get(1), call);
        Plan p = plan(gpu, h, "bwd_filter", c, x, dw, g, c.stride(), c.padding(), c.dilation(), c.groups());
        try (Arena a = Arena.ofConfined()) {
            check(cudnnConvolutionBackwardFilter(h.cudnn, one(a), p.xDesc, x.data(), p.yDesc, g.data(), p.conv, p.algo,
                    h.workspace(p.workspace), p.workspace, zero(a), p.wDesc, dw.data()), "cudnnConvolutionBackwardFilter");
        }
    }

    /**
     * cuDNN refuses empty tensors: an empty output needs nothing, and an output whose inputs are empty (no
     * batch, channels or taps to sum over) is zero. Returns whether it handled the call.
     */
    private static boolean empty(GpuBackend gpu, Handles h, List<Tensor> in, Tensor out) {
        if (out.size() == 0) {
            return true;
        }
        if (in.get(0).size() == 0 || in.get(1).size() == 0) {
            GpuElementwise.fill(gpu, h, out, 0);
            return true;
        }
        return false;
    }

    /** {@code x} itself when cuDNN can read its strides (none zero, none negative), else a contiguous copy. */
    private static Tensor readable(GpuBackend gpu, Handles h, Tensor x, Arena call) {
        long[] st = x.strides();
        for (int i = 0; i < st.length; i++) {
            if (st[i] <= 0 && x.shape().dim(i) > 1) {
                return GpuNorm.dense(gpu, h, x, call);
            }
        }
        return x;
    }

    /** y += bias over channels, in place. */
    private static void addBias(GpuBackend gpu, Handles h, Tensor bias, Tensor y) {
        GpuElementwise.binary(gpu, h, new org.lipa.ops.Binary(org.lipa.ops.Binary.Kind.ADD), y, bias.unsqueeze(1).unsqueeze(2), y);
    }

    private static MemorySegment one(Arena a) {
        return a.allocateFrom(ValueLayout.JAVA_FLOAT, 1f);
    }

    private static MemorySegment zero(Arena a) {
        return a.allocateFrom(ValueLayout.JAVA_FLOAT, 0f);
    }

    /**
     * The plan for a convolution whose forward direction maps {@code x} (the input, strided allowed) with
     * filter {@code w} to {@code y}: made on first use, measuring the algorithms of {@code variant}.
     */
    private static Plan plan(GpuBackend gpu, Handles h, String variant, Object op, Tensor x, Tensor w, Tensor y, Hw stride,
            Hw padding, Hw dilation, int groups) {
        Key key = new Key(variant, op, x.dtype(), boxed(x.shape().toArray()), boxed(x.strides()), boxed(w.shape().toArray()),
                boxed(y.shape().toArray()));
        return gpu.convPlans().plans.computeIfAbsent(key, k -> create(h, variant, x, w, y, stride, padding, dilation, groups));
    }

    private static Plan create(Handles h, String variant, Tensor x, Tensor w, Tensor y, Hw stride, Hw padding, Hw dilation,
            int groups) {
        int type = dataType(x.dtype());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment xDesc = tensorDesc(a, type, x.shape().toArray(), x.strides());
            MemorySegment yDesc = tensorDesc(a, type, y.shape().toArray(), org.lipa.tensor.Shape.of(y.shape().toArray()).contiguousStrides());
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check(cudnnCreateFilterDescriptor(p), "cudnnCreateFilterDescriptor");
            MemorySegment wDesc = p.get(ValueLayout.ADDRESS, 0);
            long[] wd = w.shape().toArray();
            check(cudnnSetFilter4dDescriptor(wDesc, type, CUDNN_TENSOR_NCHW(), (int) wd[0], (int) wd[1], (int) wd[2], (int) wd[3]),
                    "cudnnSetFilter4dDescriptor(" + Arrays.toString(wd) + ")");
            check(cudnnCreateConvolutionDescriptor(p), "cudnnCreateConvolutionDescriptor");
            MemorySegment conv = p.get(ValueLayout.ADDRESS, 0);
            check(cudnnSetConvolution2dDescriptor(conv, padding.h(), padding.w(), stride.h(), stride.w(), dilation.h(), dilation.w(),
                    CUDNN_CROSS_CORRELATION(), CUDNN_DATA_FLOAT()), "cudnnSetConvolution2dDescriptor");
            check(cudnnSetConvolutionGroupCount(conv, groups), "cudnnSetConvolutionGroupCount(" + groups + ")");
            int math = x.dtype() == DType.F32 && !TF32 ? CUDNN_FMA_MATH() : CUDNN_TENSOR_OP_MATH();
            check(cudnnSetConvolutionMathType(conv, math), "cudnnSetConvolutionMathType");
            Choice choice = switch (variant) {
                case "fwd" -> findForward(h, a, xDesc, wDesc, conv, yDesc);
                case "bwd_data" -> findBackwardData(h, a, xDesc, wDesc, conv, yDesc);
                default -> findBackwardFilter(h, a, xDesc, wDesc, conv, yDesc);
            };
            // what the measurement reported is not always what the call then asks for (seen with bf16): ask
            MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
            switch (variant) {
                case "fwd" -> check(cudnnGetConvolutionForwardWorkspaceSize(h.cudnn, xDesc, wDesc, conv, yDesc, choice.algo(), size),
                        "cudnnGetConvolutionForwardWorkspaceSize");
                case "bwd_data" -> check(cudnnGetConvolutionBackwardDataWorkspaceSize(h.cudnn, wDesc, yDesc, conv, xDesc, choice.algo(),
                        size), "cudnnGetConvolutionBackwardDataWorkspaceSize");
                default -> check(cudnnGetConvolutionBackwardFilterWorkspaceSize(h.cudnn, xDesc, yDesc, conv, wDesc, choice.algo(), size),
                        "cudnnGetConvolutionBackwardFilterWorkspaceSize");
            }
            long workspace = Math.max(choice.workspace(), size.get(ValueLayout.JAVA_LONG, 0));
            return new Plan(xDesc, wDesc, conv, yDesc, choice.algo(), workspace);
        }
    }

    private static MemorySegment tensorDesc(Arena a, int type, long[] dims, long[] strides) {
        MemorySegment p = a.allocate(ValueLayout.ADDRESS);
        check(cudnnCreateTensorDescriptor(p), "cudnnCreateTensorDescriptor");
        MemorySegment d = p.get(ValueLayout.ADDRESS, 0);
        MemorySegment dimA = a.allocate(ValueLayout.JAVA_INT, dims.length);
        MemorySegment strideA = a.allocate(ValueLayout.JAVA_INT, dims.length);
        for (int i = 0; i < dims.length; i++) {
            dimA.setAtIndex(ValueLayout.JAVA_INT, i, Math.toIntExact(dims[i]));
            // a size-1 axis may carry any stride; cuDNN wants one consistent with the layout
            long s = dims[i] == 1 ? 1 : strides[i];
            strideA.setAtIndex(ValueLayout.JAVA_INT, i, Math.toIntExact(Math.max(1, s)));
        }
        check(cudnnSetTensorNdDescriptor(d, type, dims.length, dimA, strideA),
                "cudnnSetTensorNdDescriptor(" + Arrays.toString(dims) + ", strides " + Arrays.toString(strides) + ")");
        return d;
    }

    static int dataType(DType t) {
        return switch (t) {
            case F32 -> CUDNN_DATA_FLOAT();
            case BF16 -> CUDNN_DATA_BFLOAT16();
            case F64 -> CUDNN_DATA_DOUBLE();
        };
    }

    /** An algorithm and the workspace it needs. */
    private record Choice(int algo, long workspace) {
    }

    /** The fastest successful algorithm within the workspace limit (cuDNN returns them fastest first). */
    private static Choice findForward(Handles h, Arena a, MemorySegment x, MemorySegment w, MemorySegment conv, MemorySegment y) {
        int n = 16;
        MemorySegment count = a.allocate(ValueLayout.JAVA_INT);
        MemorySegment perf = cudnnConvolutionFwdAlgoPerf_t.allocateArray(n, a);
        check(cudnnFindConvolutionForwardAlgorithm(h.cudnn, x, w, conv, y, n, count, perf), "cudnnFindConvolutionForwardAlgorithm");
        for (int i = 0; i < count.get(ValueLayout.JAVA_INT, 0); i++) {
            MemorySegment r = cudnnConvolutionFwdAlgoPerf_t.asSlice(perf, i);
            if (cudnnConvolutionFwdAlgoPerf_t.status(r) == CUDNN_STATUS_SUCCESS() && cudnnConvolutionFwdAlgoPerf_t.memory(r) <= MAX_WORKSPACE) {
                return new Choice(cudnnConvolutionFwdAlgoPerf_t.algo(r), cudnnConvolutionFwdAlgoPerf_t.memory(r));
            }
        }
        throw new CudaException("cuDNN found no forward convolution algorithm for this shape", CudaException.NO_STATUS);
    }

    private static Choice findBackwardData(Handles h, Arena a, MemorySegment dx, MemorySegment w, MemorySegment conv, MemorySegment dy) {
        int n = 16;
        MemorySegment count = a.allocate(ValueLayout.JAVA_INT);
        MemorySegment perf = cudnnConvolutionBwdDataAlgoPerf_t.allocateArray(n, a);
        check(cudnnFindConvolutionBackwardDataAlgorithm(h.cudnn, w, dy, conv, dx, n, count, perf),
                "cudnnFindConvolutionBackwardDataAlgorithm");
        for (int i = 0; i < count.get(ValueLayout.JAVA_INT, 0); i++) {
            MemorySegment r = cudnnConvolutionBwdDataAlgoPerf_t.asSlice(perf, i);
            if (cudnnConvolutionBwdDataAlgoPerf_t.status(r) == CUDNN_STATUS_SUCCESS()
                    && cudnnConvolutionBwdDataAlgoPerf_t.memory(r) <= MAX_WORKSPACE) {
                return new Choice(cudnnConvolutionBwdDataAlgoPerf_t.algo(r), cudnnConvolutionBwdDataAlgoPerf_t.memory(r));
            }
        }
        throw new CudaException("cuDNN found no backward-data convolution algorithm for this shape", CudaException.NO_STATUS);
    }

    private static Choice findBackwardFilter(Handles h, Arena a, MemorySegment x, MemorySegment dw, MemorySegment conv, MemorySegment dy) {
        int n = 16;
        MemorySegment count = a.allocate(ValueLayout.JAVA_INT);
        MemorySegment perf = cudnnConvolutionBwdFilterAlgoPerf_t.allocateArray(n, a);
        check(cudnnFindConvolutionBackwardFilterAlgorithm(h.cudnn, x, dy, conv, dw, n, count, perf),
                "cudnnFindConvolutionBackwardFilterAlgorithm");
        for (int i = 0; i < count.get(ValueLayout.JAVA_INT, 0); i++) {
            MemorySegment r = cudnnConvolutionBwdFilterAlgoPerf_t.asSlice(perf, i);
            if (cudnnConvolutionBwdFilterAlgoPerf_t.status(r) == CUDNN_STATUS_SUCCESS()
                    && cudnnConvolutionBwdFilterAlgoPerf_t.memory(r) <= MAX_WORKSPACE) {
                return new Choice(cudnnConvolutionBwdFilterAlgoPerf_t.algo(r), cudnnConvolutionBwdFilterAlgoPerf_t.memory(r));
            }
        }
        throw new CudaException("cuDNN found no backward-filter convolution algorithm for this shape", CudaException.NO_STATUS);
    }

    private static List<Long> boxed(long[] v) {
        return Arrays.stream(v).boxed().toList();
    }
}

package org.lipa.backend.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.lipa.backend.Backend;
import org.lipa.memory.Device;
import org.lipa.memory.DeviceMemory;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.Full;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.LayerNormGrad;
import org.lipa.ops.MatMul;
import org.lipa.ops.NormGrad;
import org.lipa.ops.Op;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.ops.RandomSample;
import org.lipa.ops.Reduce;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The GPU backend: the same ops, and so the same JVP and VJP rules, on an NVIDIA GPU through the CUDA
 * runtime, cuBLAS and cuBLASLt (matmul), cuDNN (convolutions) and Lipa's own CUDA C kernels compiled by NVRTC
 * (elementwise, reductions, normalization, softmax, pooling), all called through the FFM API (no JNI).
 *
 * <p>Outputs live in device memory ({@link #memory()}): allocate them with {@link #allocate} (as
 * {@code Eager} and planned graphs do). Inputs may be device tensors of this GPU or host tensors, which
 * are copied in for the call (convenient for constants; keep large inputs on the device with
 * {@link #toDevice}). Results are read back explicitly with {@link Tensor#toHost} or through
 * {@link Tensor#toFloatArray()}, which copy. Computes in f32 and bf16 (f64 is refused as on the oneDNN
 * backend, except for casts).
 *
 * <pre>{@code
 * try (GpuBackend gpu = GpuBackend.open(); Arena arena = Arena.ofConfined()) {
 *     Eager ops = new Eager(gpu, arena);
 *     Tensor x = gpu.toDevice(Tensor.of(arena, new float[] {1, -2, 3, -4}, 2, 2), arena);
 *     Tensor y = ops.relu(ops.matmul(x, x));
 *     float[] values = y.toFloatArray();   // copied to the host
 * }
 * }</pre>
 *
 * <p>Thread safety: {@code execute} may be called from any number of threads at once: each thread gets
 * its own stream, cuBLAS, cuBLASLt and cuDNN handles and workspaces on first use (kept until {@link #close}). Work
 * is queued asynchronously on the calling thread's stream; copies to the host wait for it. A tensor
 * written on one thread and read by kernels on another needs {@link #synchronize()} in between.
 * {@code close} must not race with executions.
 */
public final class GpuBackend implements Backend {
    private final int ordinal;
    private final DeviceAllocator memory;
    private final Kernels kernels;
    private final ThreadLocal<Handles> handles = new ThreadLocal<>();
    private final ConcurrentLinkedQueue<Handles> allHandles = new ConcurrentLinkedQueue<>();
    private final CudnnConv.Plans convPlans = new CudnnConv.Plans();
    private final String name;
    private final java.util.concurrent.atomic.LongAdder deviceCalls = new java.util.concurrent.atomic.LongAdder();
    private volatile boolean closed;

    private GpuBackend(int ordinal) {
        this.ordinal = ordinal;
        Cuda.check(org.lipa.bindings.cudart.cudart_h.cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
        this.memory = new DeviceAllocator(this, ordinal);
        this.kernels = Kernels.load(ordinal);
        this.name = "cuda:" + ordinal + " (" + kernels.arch() + ", CUDA " + Cuda.versionText(Cuda.runtimeVersion())
                + ", cuBLAS " + CublasMatmul.version() + (CublasLtMatmul.ENABLED ? ", cuBLASLt " + CublasLtMatmul.version() : ", cuBLASLt off")
                + ", cuDNN " + CudnnConv.version() + ")";
    }

    /** Opens device 0. */
    public static GpuBackend open() {
        return open(0);
    }

    /**
     * Loads the CUDA libraries ({@link CudaLibraries}), compiles the kernels and opens device {@code ordinal}.
     *
     * @throws CudaException            if a library is missing or the device cannot be used
     * @throws IllegalArgumentException if there is no such device
     */
    public static GpuBackend open(int ordinal) {
        CudaLibraries.load();
        int count = Cuda.deviceCount();
        if (ordinal < 0 || ordinal >= count) {
            throw new IllegalArgumentException("device ordinal " + ordinal + " is out of range: " + count + " CUDA devices");
        }
        return new GpuBackend(ordinal);
    }

    /** Whether a CUDA device and the libraries are present (what GPU tests check to skip cleanly). */
    public static boolean isAvailable() {
        return CudaLibraries.available();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Device device() {
        return memory.device();
    }

    /** The device memory tensors of this backend live in. */
    public DeviceMemory memory() {
        return memory;
    }

    /** A contiguous copy of {@code t} on this GPU, allocated in {@code arena}. */
    public Tensor toDevice(Tensor t, Arena arena) {
        return t.toDevice(memory, arena);
    }

    /** Waits until every thread's queued work on this GPU has finished. */
    public void synchronize() {
        Cuda.check(org.lipa.bindings.cudart.cudart_h.cudaDeviceSynchronize(), "cudaDeviceSynchronize");
    }

    /** Device bytes held by open tensors now. */
    public long liveBytes() {
        return memory.liveBytes();
    }

    /** The most device bytes held by tensors at once. */
    public long peakBytes() {
        return memory.peakBytes();
    }

    /** Device bytes reserved by the caching pool (in use or cached). */
    public long reservedBytes() {
        return memory.reservedBytes();
    }

    /** Executions that passed every check and reached the device (a refused call does not count). */
    public long deviceCalls() {
        return deviceCalls.sum();
    }

    /** Device allocations made so far. */
    public long allocations() {
        return memory.allocations();
    }

    @Override
    public Tensor allocate(Arena arena, TensorSpec spec) {
        return Tensor.empty(memory, arena, spec.dtype(), spec.shape());
    }

    @Override
    public MemorySegment allocateBuffer(Arena arena, long bytes) {
        return memory.allocate(arena, bytes);
    }

    @Override
    public Tensor wrap(MemorySegment buffer, TensorSpec spec) {
        return Tensor.wrap(buffer, spec.dtype(), spec.shape(), memory);
    }

    @Override
    public void execute(Op op, List<Tensor> inputs, List<Tensor> outputs) {
        if (closed) {
            throw new IllegalStateException("the GPU backend is closed");
        }
        Backend.checkCall(op, inputs, outputs);
        for (int i = 0; i < outputs.size(); i++) {
            if (outputs.get(i).deviceMemory() != memory) {
                throw new IllegalArgumentException(op.name() + ": output " + i + " is on " + outputs.get(i).device()
                        + ", not on " + device() + ": allocate outputs with this backend's allocate");
            }
        }
        if (!(op instanceof Cast || op instanceof RandomSample)) {
            for (int i = 0; i < inputs.size(); i++) {
                if (inputs.get(i).dtype() == DType.F64) {
                    throw new IllegalArgumentException(op.name() + ": input " + i + " is f64, which the GPU backend does not "
                            + "compute in; use the reference backend for f64 or cast to f32");
                }
            }
        }
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = inputs.get(i);
            if (!t.isHost() && t.deviceMemory() != memory) {
                throw new IllegalArgumentException(op.name() + ": input " + i + " is on " + t.device() + ", not on " + device());
            }
        }
        deviceCalls.increment(); // every check passed: from here on the device is used
        if (op instanceof RandomSample r) {
            random(r, inputs.get(0), outputs);
            return;
        }
        try (Arena call = Arena.ofConfined()) {
            List<Tensor> in = new ArrayList<>(inputs.size());
            for (Tensor t : inputs) {
                in.add(t.isHost() ? t.toDevice(memory, call) : t); // host constants are copied in for this call
            }
            Handles h = handles();
            run(op, in, outputs, h, call);
        }
    }

    private void run(Op op, List<Tensor> in, List<Tensor> out, Handles h, Arena call) {
        switch (op) {
            case MatMul m -> CublasMatmul.execute(this, h, in, out.get(0), call);
            case Conv2d c -> convolution(c, in, out.get(0), h, call);
            case ConvTranspose2d c -> convolution(c, in, out.get(0), h, call);
            case Conv2dWeightGrad c -> convolution(c, in, out.get(0), h, call);
            case Eltwise e -> GpuElementwise.eltwise(this, h, e, in.get(0), out.get(0));
            case EltwiseGrad e -> GpuElementwise.eltwiseGrad(this, h, e, in.get(0), in.get(1), out.get(0));
            case Binary b -> GpuElementwise.binary(this, h, b, in.get(0), in.get(1), out.get(0));
            case Cast c -> GpuElementwise.copy(this, h, in.get(0), out.get(0));
            case Full f -> GpuElementwise.fill(this, h, out.get(0), f.value());
            case Concat c -> GpuElementwise.concat(this, h, c, in, out.get(0));
            case Reduce r -> GpuReduce.reduce(this, h, r, in.get(0), out.get(0));
            case Softmax s -> GpuNorm.softmax(this, h, s, in.get(0), out.get(0), call);
            case SoftmaxGrad s -> GpuNorm.softmaxGrad(this, h, s, in.get(0), in.get(1), out.get(0), call);
            case LayerNorm n -> GpuNorm.layerNorm(this, h, n, in, out, call);
            case BatchNorm n -> GpuNorm.batchNorm(this, h, n, in, out, call);
            case GroupNorm n -> GpuNorm.groupNorm(this, h, n, in, out, call);
            case LayerNormGrad n -> composite(n, in, out);
            case NormGrad n -> composite(n, in, out);
            case Pool2d p -> GpuPool.pool(this, h, p, in.get(0), out.get(0), call);
            case Pool2dGrad p -> GpuPool.grad(this, h, p.pool(), in.get(0), in.get(1), out.get(0), call);
            case Pool2dTangent p -> GpuPool.tangent(this, h, p.pool(), in.get(0), in.get(1), out.get(0), call);
            case RandomSample r -> throw new AssertionError("handled before");
            case ViewOp v -> throw new IllegalArgumentException(v.name() + " is a view and needs no kernel");
        }
    }

    /**
     * A convolution on cuDNN; where cuDNN has no bf16 kernel for the geometry (it says so with an error
     * status), the same call in f32 on widened copies, rounded once at the end.
     */
    private void convolution(Op op, List<Tensor> in, Tensor out, Handles h, Arena call) {
        try {
            convolutionAs(op, in, out, h, call);
        } catch (CudaException e) {
            if (out.dtype() != DType.BF16 || e.status() == CudaException.NO_STATUS && !e.getMessage().contains("found no")) {
                throw e;
            }
            List<Tensor> wide = new ArrayList<>();
            for (Tensor t : in) {
                Tensor w = allocate(call, new TensorSpec(t.shape(), DType.F32));
                GpuElementwise.copy(this, h, t, w);
                wide.add(w);
            }
            Tensor o = allocate(call, new TensorSpec(out.shape(), DType.F32));
            convolutionAs(op, wide, o, h, call);
            GpuElementwise.copy(this, h, o, out);
        }
    }

    private void convolutionAs(Op op, List<Tensor> in, Tensor out, Handles h, Arena call) {
        switch (op) {
            case Conv2d c -> CudnnConv.conv(this, h, c, in, out, call);
            case ConvTranspose2d c -> CudnnConv.deconv(this, h, c, in, out, call);
            case Conv2dWeightGrad c -> CudnnConv.weightGrad(this, h, c, in, out, call);
            default -> throw new AssertionError(op);
        }
    }

    /**
     * Gradients of the normalizations run their definition (other primitives, on this GPU): as exact as
     * the kernels they are made of; a fused kernel would save launches.
     */
    private void composite(org.lipa.ops.Composite op, List<Tensor> in, List<Tensor> out) {
        try (Arena tmp = Arena.ofConfined()) {
            List<Tensor> r = op.decompose(new org.lipa.eval.Eager(this, tmp), in);
            Handles h = handles();
            for (int i = 0; i < out.size(); i++) {
                GpuElementwise.copy(this, h, r.get(i), out.get(i));
            }
        }
    }

    /** Random numbers are drawn on the host by the op's own generator (bit-identical to the CPU) and copied in. */
    private void random(RandomSample r, Tensor key, List<Tensor> outputs) {
        try (Arena tmp = Arena.ofConfined()) {
            Tensor hostKey = key.toHost(tmp);
            Tensor values = Tensor.zeros(tmp, outputs.get(0).dtype(), outputs.get(0).shape());
            Tensor next = Tensor.zeros(tmp, outputs.get(1).dtype(), outputs.get(1).shape());
            r.fill(hostKey, values, next);
            outputs.get(0).copyFrom(values);
            outputs.get(1).copyFrom(next);
        }
    }

    /** The calling thread's stream and handles, made on its first call. */
    Handles handles() {
        Handles h = handles.get();
        if (h == null) {
            h = new Handles(ordinal);
            handles.set(h);
            allHandles.add(h);
        }
        return h;
    }

    /** The calling thread's stream. */
    MemorySegment stream() {
        return handles().stream;
    }

    CudnnConv.Plans convPlans() {
        return convPlans;
    }

    /** Distinct convolutions planned (each measured its algorithms once). */
    public int convolutionPlans() {
        return convPlans.size();
    }

    Kernels kernels() {
        return kernels;
    }

    DeviceAllocator allocator() {
        return memory;
    }

    /** Waits for all work, then destroys every thread's handles and streams and unloads the kernels. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        synchronize();
        for (Handles h : allHandles) {
            h.close();
        }
        allHandles.clear();
        convPlans.close();
        kernels.close();
    }
}

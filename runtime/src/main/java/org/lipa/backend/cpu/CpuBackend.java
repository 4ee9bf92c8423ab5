package org.lipa.backend.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.backend.Backend;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.ops.Full;
import org.lipa.ops.RandomSample;
import org.lipa.ops.Reduce;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
import org.lipa.ops.LayerNormGrad;
import org.lipa.ops.NormGrad;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The CPU backend on oneDNN primitives, called through the FFM API (no JNI).
 *
 * <p>Owns a oneDNN engine, its streams and a bounded cache of created primitives: an op with the same
 * parameters and argument layouts as an earlier call reuses that call's primitive, re-pointed at the
 * new buffers; beyond the cache's capacity the least recently used primitive is destroyed. Computes in f32 (and bf16 where oneDNN implements it); f64 is the reference backend's.
 *
 * <pre>{@code
 * try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
 *     Eager ops = new Eager(cpu, arena);
 *     Tensor y = ops.relu(ops.matmul(x, w));
 * }
 * }</pre>
 *
 * <p>Thread safety: {@code execute} may be called from any number of threads at once, also for the
 * same op and shapes: every concurrent execution gets its own stream, memory objects and scratchpad
 * (so one traced graph can serve many request threads). {@code close} must not race with executions.
 */
public final class CpuBackend implements Backend {
    private final DnnlContext context;
    private final PrimitiveCache cache;

    private CpuBackend(DnnlContext context, int cacheCapacity) {
        this.context = context;
        this.cache = new PrimitiveCache(cacheCapacity);
    }

    /**
     * Loads oneDNN (extracting it on first use, see {@link DnnlLibrary}) and creates a CPU engine and stream.
     *
     * @throws DnnlException if the library cannot be loaded or the engine cannot be created
     */
    public static CpuBackend open() {
        return open(PrimitiveCache.DEFAULT_CAPACITY);
    }

    /**
     * As {@link #open()}, keeping at most {@code cacheCapacity} primitives (default 1024, or
     * {@code -Dlipa.dnnl.cacheCapacity}).
     *
     * @throws IllegalArgumentException if {@code cacheCapacity < 1}
     */
    public static CpuBackend open(int cacheCapacity) {
        if (cacheCapacity < 1) {
            throw new IllegalArgumentException("cacheCapacity must be at least 1, got " + cacheCapacity);
        }
        return new CpuBackend(DnnlContext.create(), cacheCapacity);
    }

    @Override
    public String name() {
        return "cpu (oneDNN " + DnnlLibrary.version() + ")";
    }

    /** Primitives created since this backend was opened; a repeated call with the same shapes adds none. */
    public long primitiveCreations() {
        return cache.creations();
    }

    /** Primitives the cache holds now (at most its capacity). */
    public int cachedPrimitives() {
        return cache.size();
    }

    /** Primitives destroyed to keep the cache within its capacity. */
    public long primitiveEvictions() {
        return cache.evictions();
    }

    /** oneDNN streams created: the most executions that ran at the same time. */
    public int streams() {
        return context.streams();
    }

    /**
     * Channels-last where oneDNN's kernels want it. Its convolutions on this machine run on
     * {@code [N, H, W, C]} (brgemm) or blocked layouts, so a row-major activation costs a reorder in and
     * one out of every convolution, and batch norm on row-major data runs oneDNN's plain-C kernel
     * ({@code ncsp_bnorm}): convolutions write channels-last, and elementwise ops and batch norm keep it
     * when an input of the output's shape has it.
     */
    @Override
    public boolean channelsLast(Op op, List<TensorSpec> inputs, boolean[] inputsChannelsLast, int output) {
        if (output != 0 || !writesChannelsLast(op) || op instanceof NormGrad n && n.groups() != 0) {
            return false;
        }
        TensorSpec y = op.infer(inputs).get(0);
        if (y.shape().rank() != 4) {
            return false;
        }
        if (op instanceof Conv2d || op instanceof ConvTranspose2d) {
            return true;
        }
        for (int i = 0; i < inputs.size(); i++) {
            if (inputsChannelsLast[i] && inputs.get(i).shape().equals(y.shape())) {
                return true;
            }
        }
        return false;
    }

    /** The ops whose kernels here write any dense output layout (see {@link #channelsLast}). */
    private static boolean writesChannelsLast(Op op) {
        return op instanceof Conv2d || op instanceof ConvTranspose2d || op instanceof Eltwise || op instanceof EltwiseGrad
                || op instanceof Binary || op instanceof BatchNorm || op instanceof NormGrad;
    }

    @Override
    public void execute(Op op, List<Tensor> inputs, List<Tensor> outputs) {
        context.checkOpen();
        Backend.checkCall(op, inputs, outputs, writesChannelsLast(op));
        if (!(op instanceof Cast || op instanceof RandomSample)) {
            for (int i = 0; i < inputs.size(); i++) {
                checkComputeType(op, "input " + i, inputs.get(i).dtype());
            }
        }
        switch (op) {
            case MatMul m -> DnnlMatmul.execute(this, m, inputs, outputs);
            case Conv2d c -> DnnlConv.conv(this, c, inputs, outputs);
            case ConvTranspose2d c -> DnnlConv.deconv(this, c, inputs, outputs);
            case Conv2dWeightGrad c -> DnnlConv.weightGrad(this, c, inputs, outputs);
            case Eltwise e -> DnnlEltwise.execute(this, e, inputs, outputs);
            case EltwiseGrad e -> DnnlEltwise.backward(this, e, inputs, outputs);
            case Softmax s -> DnnlSoftmax.execute(this, s, inputs, outputs);
            case SoftmaxGrad s -> DnnlSoftmax.backward(this, s, inputs, outputs);
            case LayerNorm n -> DnnlNorm.layerNorm(this, n, inputs, outputs);
            case LayerNormGrad n -> DnnlNorm.layerNormGrad(this, n, inputs, outputs);
            case BatchNorm n -> DnnlNorm.batchNorm(this, n, inputs, outputs);
            case GroupNorm n -> DnnlNorm.groupNorm(this, n, inputs, outputs);
            case NormGrad n -> DnnlNorm.normGrad(this, n, inputs, outputs);
            case Pool2d p -> DnnlPooling.execute(this, p, inputs, outputs);
            case Pool2dGrad p -> DnnlPooling.backward(this, p, inputs, outputs);
            case Pool2dTangent p -> DnnlPooling.tangent(this, p, inputs, outputs);
            case Full f -> fill(outputs.get(0), f.value());
            case RandomSample r -> r.fill(inputs.get(0), outputs.get(0), outputs.get(1));
            case Binary b -> DnnlBinary.execute(this, b, inputs, outputs);
            case Reduce r -> DnnlReduction.execute(this, r, inputs, outputs);
            case Concat c -> DnnlReorder.concat(this, c, inputs, outputs);
            case Cast c -> DnnlReorder.cast(this, c, inputs, outputs);
            case ViewOp v -> throw new IllegalArgumentException(v.name() + " is a view and needs no kernel");
        }
    }

    private static void checkComputeType(Op op, String arg, DType t) {
        if (t == DType.F64) {
            throw new IllegalArgumentException(op.name() + ": " + arg + " is f64, which the oneDNN CPU backend does not "
                    + "compute in; use the reference backend for f64 or cast to f32");
        }
    }

    /** Filling needs no kernel: zero is a memset, other values are written from Java (they are small constants). */
    private static void fill(Tensor t, double value) {
        if (value == 0) {
            t.data().asSlice(0, t.size() * t.dtype().byteSize()).fill((byte) 0);
        } else {
            double[] v = new double[Math.toIntExact(t.size())];
            java.util.Arrays.fill(v, value);
            t.copyFrom(v);
        }
    }

    // ---------------------------------------------------------------- for the family classes

    DnnlContext context() {
        return context;
    }

    /** The cached primitive for {@code (op, variant, layouts)}, created by {@code factory} on first use, leased for one execution. */
    Primitive primitive(Object op, String variant, List<MemoryDesc> layouts, java.util.function.Supplier<Primitive> factory) {
        return cache.get(new PrimitiveCache.Key(op, variant, layouts), factory);
    }

    /** Makes a primitive descriptor from the native descriptors of the buffers' layouts, in argument order. */
    @FunctionalInterface
    interface DescriptorFactory {
        MemorySegment create(Primitive.Scope scope, MemorySegment[] mds);
    }

    /**
     * Runs the primitive for {@code (op, variant)} on {@code buffers}, bound to the argument kinds
     * {@code kinds} in order: cached by the buffers' layouts, created on first use by {@code descriptor}.
     * The pattern every family shares.
     */
    void run(Object op, String variant, int[] kinds, List<Tensor> buffers, DescriptorFactory descriptor) {
        List<MemoryDesc> layouts = buffers.stream().map(MemoryDesc::of).toList();
        Primitive p = primitive(op, variant, layouts, () -> {
            try (Primitive.Scope s = new Primitive.Scope()) {
                MemorySegment[] mds = layouts.stream().map(s::md).toArray(MemorySegment[]::new);
                return Primitive.create(context, descriptor.create(s, mds), kinds, layouts.toArray(MemoryDesc[]::new));
            }
        });
        p.execute(buffers.stream().map(Tensor::data).toArray(MemorySegment[]::new));
    }

    /**
     * {@code t} itself, or a contiguous copy in {@code tmp} when a broadcast (stride-0) dimension makes it
     * unreadable for oneDNN.
     */
    static Tensor readable(Tensor t, Arena tmp) {
        return MemoryDesc.of(t).hasZeroStride() ? t.contiguous(tmp) : t;
    }

    /** Destroys the cached primitives, then the stream and engine. Idempotent. */
    @Override
    public synchronized void close() {
        if (context.isClosed()) {
            return;
        }
        cache.close();
        context.close();
    }
}

package org.lipa.backend.gpu;

import static org.lipa.bindings.cudart.cudart_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.lipa.memory.Device;
import org.lipa.memory.DeviceMemory;

/**
 * Device memory for tensors: a caching allocator on CUDA's stream-ordered memory pool.
 *
 * <p>Allocations come from the device's default pool with {@code cudaMallocAsync} on the legacy default
 * stream; the pool's release threshold is raised to "never" so that freed blocks stay cached in
 * the process and are handed out again without a driver call (as PyTorch's and JAX's allocators do, but
 * keeping CUDA's own bookkeeping of which stream may reuse what). A block is freed when its arena closes,
 * with {@code cudaFreeAsync} on the legacy default stream, which orders the free after the work already
 * queued on every stream of this backend (they are blocking streams): so an arena may close on any thread
 * while kernels that read its tensors are still queued. Allocating on that stream too makes a block
 * usable on every thread's stream at once (its reuse waits for the earlier owner's work); the price is
 * an ordering point across streams per allocation, and a planned graph allocates once per run. {@link #trim()} gives cached memory back.
 *
 * <p>Copies to and from the host use {@code cudaMemcpy}, which waits for queued work on those streams.
 *
 * <p>Thread safety: all methods may be called from any number of threads.
 */
final class DeviceAllocator implements DeviceMemory {
    /** Every allocation is rounded up to this many bytes (and so aligned for vector loads). */
    static final long GRANULE = 256;

    private final Device device;
    private final GpuBackend owner;
    private final MemorySegment pool;
    private final LongAdder allocations = new LongAdder();
    private final AtomicLong live = new AtomicLong();
    private final AtomicLong peak = new AtomicLong();

    DeviceAllocator(GpuBackend owner, int ordinal) {
        this.owner = owner;
        this.device = new Device(Device.Kind.CUDA, ordinal);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            Cuda.check(cudaDeviceGetDefaultMemPool(p, ordinal), "cudaDeviceGetDefaultMemPool");
            pool = p.get(ValueLayout.ADDRESS, 0);
            MemorySegment threshold = a.allocateFrom(ValueLayout.JAVA_LONG, -1L); // UINT64_MAX: keep everything cached
            Cuda.check(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold(), threshold), "cudaMemPoolSetAttribute");
        }
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("cannot allocate " + bytes + " device bytes in a closed arena");
        }
        long rounded = Math.max(GRANULE, (bytes + GRANULE - 1) / GRANULE * GRANULE);
        MemorySegment address;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            int status = cudaMallocAsync(p, rounded, MemorySegment.NULL);
            if (status == cudaErrorMemoryAllocation()) {
                cudaGetLastError();
                throw new CudaException("out of device memory allocating " + rounded + " bytes on " + device + " ("
                        + live.get() + " bytes live in Lipa's tensors)", status);
            }
            Cuda.check(status, "cudaMallocAsync(" + rounded + ")");
            address = p.get(ValueLayout.ADDRESS, 0);
        }
        allocations.increment();
        long now = live.addAndGet(rounded);
        peak.accumulateAndGet(now, Math::max);
        // freed when the arena closes, never by the GC; the legacy stream orders the free after queued work
        return address.reinterpret(bytes, arena, s -> {
            int status = cudaFreeAsync(s, MemorySegment.NULL);
            live.addAndGet(-rounded);
            if (status != cudaSuccess()) {
                System.err.println("lipa: cudaFreeAsync failed: " + Cuda.errorString(status));
            }
        });
    }

    @Override
    public void copyToHost(MemorySegment src, MemorySegment dst, long bytes) {
        checkHost(dst, bytes, "destination");
        Cuda.check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost()), "cudaMemcpy(device to host, " + bytes + ")");
    }

    @Override
    public void copyFromHost(MemorySegment src, MemorySegment dst, long bytes) {
        checkHost(src, bytes, "source");
        Cuda.check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice()), "cudaMemcpy(host to device, " + bytes + ")");
    }

    @Override
    public void copyOnDevice(MemorySegment src, MemorySegment dst, long bytes) {
        Cuda.check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice(), owner.stream()),
                "cudaMemcpyAsync(device to device, " + bytes + ")");
    }

    private static void checkHost(MemorySegment s, long bytes, String what) {
        if (s.byteSize() < bytes) {
            throw new IllegalArgumentException("host " + what + " of " + s.byteSize() + " bytes is smaller than the copy of " + bytes);
        }
    }

    /** Allocations made so far. */
    long allocations() {
        return allocations.sum();
    }

    /** Bytes held by tensors whose arenas are open (rounded to {@link #GRANULE}). */
    long liveBytes() {
        return live.get();
    }

    /** The most bytes live at once. */
    long peakBytes() {
        return peak.get();
    }

    /** Bytes the pool holds from the driver, cached blocks included. */
    long reservedBytes() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_LONG);
            Cuda.check(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent(), v), "cudaMemPoolGetAttribute");
            return v.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Returns cached blocks to the driver (after the queued frees complete). */
    void trim() {
        Cuda.check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
        Cuda.check(cudaMemPoolTrimTo(pool, 0), "cudaMemPoolTrimTo");
    }
}

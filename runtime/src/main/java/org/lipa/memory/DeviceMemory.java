package org.lipa.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Memory of an accelerator: allocations whose addresses are device pointers, and the explicit copies
 * between them and the host.
 *
 * <p>A device segment carries a device address and a byte size so that slicing, bounds and arena
 * lifetimes work as for host memory, but it must never be read or written from Java: its bytes are not
 * mapped on the host. Only the copies below (and kernels) touch them.
 *
 * <pre>{@code
 * try (GpuBackend gpu = GpuBackend.open(); Arena arena = Arena.ofConfined()) {
 *     Tensor x = Tensor.of(arena, new float[] {1, 2, 3}, 3).toDevice(gpu.memory(), arena);
 *     float[] back = x.toFloatArray();   // copied back through copyToHost
 * }
 * }</pre>
 *
 * <p>Thread safety: implementations accept calls from any number of threads.
 */
public interface DeviceMemory {
    /** The device whose memory this is. */
    Device device();

    /**
     * Allocates {@code bytes} (uninitialized) on the device, returned to the allocator when {@code arena}
     * closes.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException    if the arena is closed
     */
    MemorySegment allocate(Arena arena, long bytes);

    /** Copies {@code bytes} from device memory at {@code src} to host memory at {@code dst}, waiting for pending work. */
    void copyToHost(MemorySegment src, MemorySegment dst, long bytes);

    /** Copies {@code bytes} from host memory at {@code src} to device memory at {@code dst}. */
    void copyFromHost(MemorySegment src, MemorySegment dst, long bytes);

    /** Copies {@code bytes} between two device buffers. */
    void copyOnDevice(MemorySegment src, MemorySegment dst, long bytes);
}

package org.lipa.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Host allocations for tensor storage.
 *
 * <p>Every allocation belongs to the arena it is made in and is freed when that arena closes,
 * never by the garbage collector. Alignment is 64 bytes (a cache line and an AVX-512 vector), which
 * oneDNN's kernels prefer.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class HostMemory {
    /** Alignment in bytes of every host allocation. */
    public static final long ALIGNMENT = 64;

    private static final java.util.concurrent.atomic.LongAdder ALLOCATIONS = new java.util.concurrent.atomic.LongAdder();
    private static final java.util.concurrent.atomic.LongAdder ALLOCATED = new java.util.concurrent.atomic.LongAdder();
    private static final java.util.concurrent.atomic.LongAdder LIVE = new java.util.concurrent.atomic.LongAdder();

    private HostMemory() {
    }

    /** Allocations made so far (tensors, plan buffers). */
    public static long allocations() {
        return ALLOCATIONS.sum();
    }

    /** Bytes allocated so far, freed or not. */
    public static long allocatedBytes() {
        return ALLOCATED.sum();
    }

    /**
     * Bytes allocated and not yet freed: each allocation is counted out when its arena closes (arenas that
     * never close, such as the global one, keep theirs). What a soak test watches return to its baseline.
     */
    public static long liveBytes() {
        return LIVE.sum();
    }

    /**
     * Allocates {@code bytes} zeroed bytes in {@code arena}.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative
     * @throws IllegalStateException    if the arena is closed
     */
    public static MemorySegment allocate(Arena arena, long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        checkAlive(arena);
        try {
            MemorySegment m = arena.allocate(bytes, ALIGNMENT);
            ALLOCATIONS.increment();
            ALLOCATED.add(bytes);
            LIVE.add(bytes);
            // counted out when the arena frees it: a cleanup on the same arena, run at close, never by the GC
            return m.reinterpret(arena, s -> LIVE.add(-bytes));
        } catch (OutOfMemoryError e) {
            // malloc said no: a size that cannot be had is a caller's error, not a JVM-wide emergency
            throw new IllegalArgumentException("cannot allocate " + bytes + " bytes of host memory", e);
        }
    }

    /** Throws a clear {@link IllegalStateException} if {@code arena} is closed. */
    public static void checkAlive(Arena arena) {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("the arena is closed: nothing can be allocated in it");
        }
    }
}

package org.lipa.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Host allocations for tensor storage.
 *
 * <p>Every allocation belongs to the arena it is made in and is given up when that arena closes,
 * never by the garbage collector. Alignment is 64 bytes (a cache line and an AVX-512 vector), which
 * oneDNN's kernels prefer.
 *
 * <p>{@link #allocate} returns zeroed memory, freed when its arena closes. {@link #allocateScratch}, for
 * buffers that are written before they are read (a planned graph's plan buffer), may return a block
 * an earlier arena gave back: large blocks go to a cache of at most {@link #cacheCapacity()} idle bytes
 * ({@code -Dlipa.memory.cacheBytes}, 1 GiB by default) instead of being freed, and {@link #trim()} frees
 * them. With {@code -Dlipa.memory.poison=true} (the test suite's setting) every scratch block starts filled
 * with 0xFF bytes, a NaN in every floating-point dtype, so an op that leaves part of its output unwritten
 * shows up in the results.
 *
 * <p>Example: {@code HostMemory.liveBytes()} before and after a run, with its arena closed, must match;
 * {@code HostMemory.cachedBytes()} is what the cache keeps beside that.
 *
 * <p>Thread safety: static methods; safe to call from any number of threads.
 */
public final class HostMemory {
    /** Alignment in bytes of every host allocation. */
    public static final long ALIGNMENT = 64;

    private static final java.util.concurrent.atomic.LongAdder ALLOCATIONS = new java.util.concurrent.atomic.LongAdder();
    private static final java.util.concurrent.atomic.LongAdder ALLOCATED = new java.util.concurrent.atomic.LongAdder();
    private static final java.util.concurrent.atomic.LongAdder LIVE = new java.util.concurrent.atomic.LongAdder();

    /** Scratch requests below this size are plain allocations: malloc recycles small blocks by itself. */
    static final long CACHED_FROM = 1L << 20;
    private static final BlockCache CACHE = new BlockCache(Long.getLong("lipa.memory.cacheBytes", 1L << 30));
    private static final boolean POISON = Boolean.getBoolean("lipa.memory.poison");

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

    /**
     * Allocates {@code bytes} bytes in {@code arena} whose contents are unspecified: zeroes, or what an
     * earlier user of a cached block left there (0xFF bytes under {@code -Dlipa.memory.poison}). When the
     * arena closes, a block of at least 1 MiB goes back to the cache rather than to the system.
     *
     * @throws IllegalArgumentException if {@code bytes} is negative or cannot be had
     * @throws IllegalStateException    if the arena is closed
     */
    public static MemorySegment allocateScratch(Arena arena, long bytes) {
        if (bytes < CACHED_FROM) {
            MemorySegment m = allocate(arena, bytes);
            return POISON ? m.fill((byte) 0xFF) : m;
        }
        checkAlive(arena);
        BlockCache.Block b = CACHE.take(bytes);
        if (b == null) {
            b = freshBlock(bytes);
        }
        if (POISON) {
            b.memory.fill((byte) 0xFF);
        }
        ALLOCATIONS.increment();
        ALLOCATED.add(bytes);
        LIVE.add(bytes);
        BlockCache.Block block = b;
        return b.memory.asSlice(0, bytes).reinterpret(arena, s -> {
            LIVE.add(-bytes);
            CACHE.give(block);
        });
    }

    private static BlockCache.Block freshBlock(long bytes) {
        for (int attempt = 0; ; attempt++) {
            Arena owner = Arena.ofShared();
            try {
                return new BlockCache.Block(owner, owner.allocate(bytes, ALIGNMENT));
            } catch (OutOfMemoryError e) {
                owner.close();
                if (attempt > 0 || CACHE.trim() == 0) { // idle blocks are the first thing to give up
                    throw new IllegalArgumentException("cannot allocate " + bytes + " bytes of host memory", e);
                }
            }
        }
    }

    /** Bytes of idle blocks the scratch cache holds for reuse (not counted in {@link #liveBytes()}). */
    public static long cachedBytes() {
        return CACHE.idleBytes();
    }

    /** The most idle bytes the scratch cache keeps ({@code -Dlipa.memory.cacheBytes}). */
    public static long cacheCapacity() {
        return CACHE.capacity();
    }

    /** Frees every idle block of the scratch cache; returns the bytes freed. */
    public static long trim() {
        return CACHE.trim();
    }

    /** Throws a clear {@link IllegalStateException} if {@code arena} is closed. */
    public static void checkAlive(Arena arena) {
        if (!arena.scope().isAlive()) {
            throw new IllegalStateException("the arena is closed: nothing can be allocated in it");
        }
    }
}

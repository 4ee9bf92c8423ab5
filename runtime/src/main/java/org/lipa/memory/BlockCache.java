package org.lipa.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.TreeMap;

/**
 * Large host blocks whose arenas have closed, kept for the next allocation of about the same size
 * instead of being freed.
 *
 * <p>Why: a fresh block of hundreds of MiB costs a page fault and a page the kernel zeroes for every
 * 4 KiB touched, and {@link Arena#allocate} zeroes it once more. A planned graph takes one such block
 * per run (its plan buffer), so on a ResNet-8 training step at batch 128 that was 35 ms of 134 (JFR).
 * A block handed out again costs a map lookup.
 *
 * <p>A request takes the smallest idle block at least as large and at most a quarter larger; idle blocks
 * beyond {@code capacity} bytes are freed, least recently returned first, so the cache never holds more
 * than that. Each block is its own shared arena, closed when it is evicted or {@linkplain #trim trimmed}.
 *
 * <p>Thread safety: all methods are synchronized; blocks may be taken and given back on any thread.
 */
final class BlockCache {
    /** A block of host memory owned by its own arena. */
    static final class Block {
        private final Arena owner;
        final MemorySegment memory;

        Block(Arena owner, MemorySegment memory) {
            this.owner = owner;
            this.memory = memory;
        }

        long bytes() {
            return memory.byteSize();
        }
    }

    private final long capacity;
    private final TreeMap<Long, ArrayDeque<Block>> bySize = new TreeMap<>();
    /** Idle blocks, least recently given back first. */
    private final LinkedHashSet<Block> idle = new LinkedHashSet<>();
    private long idleBytes;

    BlockCache(long capacity) {
        this.capacity = capacity;
    }

    /** An idle block of {@code bytes} to {@code bytes * 5 / 4}, or null if there is none. */
    synchronized Block take(long bytes) {
        Map.Entry<Long, ArrayDeque<Block>> e = bySize.ceilingEntry(bytes);
        if (e == null || e.getKey() > bytes + bytes / 4) {
            return null;
        }
        Block b = e.getValue().pollLast(); // the most recently used block of that size: the warmest in the caches
        if (e.getValue().isEmpty()) {
            bySize.remove(e.getKey());
        }
        idle.remove(b);
        idleBytes -= b.bytes();
        return b;
    }

    /** Keeps {@code b} for a later {@link #take}, freeing the least recently returned blocks beyond the capacity. */
    void give(Block b) {
        ArrayDeque<Block> evicted = new ArrayDeque<>();
        synchronized (this) {
            bySize.computeIfAbsent(b.bytes(), k -> new ArrayDeque<>()).addLast(b);
            idle.add(b);
            idleBytes += b.bytes();
            Iterator<Block> oldest = idle.iterator();
            while (idleBytes > capacity) {
                Block old = oldest.next();
                oldest.remove();
                ArrayDeque<Block> same = bySize.get(old.bytes());
                same.remove(old);
                if (same.isEmpty()) {
                    bySize.remove(old.bytes());
                }
                idleBytes -= old.bytes();
                evicted.add(old);
            }
        }
        evicted.forEach(old -> old.owner.close()); // outside the lock: closing a shared arena waits for other threads
    }

    /** Frees every idle block; returns the bytes freed. */
    long trim() {
        ArrayDeque<Block> all;
        long freed;
        synchronized (this) {
            all = new ArrayDeque<>(idle);
            freed = idleBytes;
            idle.clear();
            bySize.clear();
            idleBytes = 0;
        }
        all.forEach(b -> b.owner.close());
        return freed;
    }

    synchronized long idleBytes() {
        return idleBytes;
    }

    long capacity() {
        return capacity;
    }
}

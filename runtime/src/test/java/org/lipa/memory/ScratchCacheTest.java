package org.lipa.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/**
 * Scratch blocks come back from the cache when their arena closes, are handed out again (poisoned under
 * the test suite's {@code -Dlipa.memory.poison}), are counted live only while in use, and the cache never
 * keeps more than its capacity: the least recently returned blocks are freed first.
 */
class ScratchCacheTest {
    private static final long MIB = 1 << 20;

    @Test
    void aClosedArenasBlockIsHandedOutAgain() {
        long live = HostMemory.liveBytes();
        long address;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = HostMemory.allocateScratch(a, 3 * MIB + 64);
            assertEquals(3 * MIB + 64, m.byteSize());
            assertEquals(0, m.address() % HostMemory.ALIGNMENT);
            m.fill((byte) 7);
            address = m.address();
            assertEquals(live + 3 * MIB + 64, HostMemory.liveBytes());
        }
        assertEquals(live, HostMemory.liveBytes());
        assertTrue(HostMemory.cachedBytes() >= 3 * MIB, "cached " + HostMemory.cachedBytes());
        try (Arena a = Arena.ofConfined()) {
            MemorySegment m = HostMemory.allocateScratch(a, 3 * MIB);
            assertEquals(address, m.address(), "the same block");
            if (Boolean.getBoolean("lipa.memory.poison")) {
                assertTrue(Float.isNaN(m.get(ValueLayout.JAVA_FLOAT, 1000)), "poisoned: what the last user left is gone");
            }
        }
        HostMemory.trim();
        assertEquals(0, HostMemory.cachedBytes());
        assertEquals(live, HostMemory.liveBytes());
    }

    @Test
    void smallScratchIsAPlainAllocationAndBadSizesAreRefused() {
        try (Arena a = Arena.ofConfined()) {
            long cached = HostMemory.cachedBytes();
            assertEquals(100, HostMemory.allocateScratch(a, 100).byteSize());
            assertEquals(cached, HostMemory.cachedBytes());
            var e = assertThrows(IllegalArgumentException.class, () -> HostMemory.allocateScratch(a, -1));
            assertTrue(e.getMessage().contains("-1"), e.getMessage());
        }
        Arena closed = Arena.ofConfined();
        closed.close();
        assertThrows(IllegalStateException.class, () -> HostMemory.allocateScratch(closed, 2 * MIB));
    }

    @Test
    void theCacheKeepsAtMostItsCapacityAndTakesOnlyCloseSizes() {
        BlockCache cache = new BlockCache(4 * MIB);
        Arena[] owners = new Arena[4];
        BlockCache.Block[] blocks = new BlockCache.Block[4];
        long[] sizes = {MIB, MIB, 2 * MIB, 2 * MIB};
        for (int i = 0; i < 4; i++) {
            owners[i] = Arena.ofShared();
            blocks[i] = new BlockCache.Block(owners[i], owners[i].allocate(sizes[i], 64));
        }
        cache.give(blocks[0]);
        cache.give(blocks[1]);
        cache.give(blocks[2]);
        assertEquals(4 * MIB, cache.idleBytes());
        cache.give(blocks[3]); // 6 MiB: the two oldest (1 MiB each) are freed
        assertEquals(4 * MIB, cache.idleBytes());
        assertFalse(owners[0].scope().isAlive());
        assertFalse(owners[1].scope().isAlive());
        assertTrue(owners[2].scope().isAlive());
        assertNull(cache.take(MIB), "2 MiB is more than a quarter larger than 1 MiB");
        assertSame(blocks[3], cache.take(2 * MIB - 1000), "the most recently returned of that size");
        assertEquals(2 * MIB, cache.idleBytes());
        assertEquals(2 * MIB, cache.trim());
        assertFalse(owners[2].scope().isAlive());
        assertEquals(0, cache.idleBytes());
        owners[3].close();
    }
}

package org.lipa.backend.cpu;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Created primitives keyed by what determines them: the op (its record, with every parameter), a variant
 * name for families with several primitives per op (forward, backward data, ...), and the layouts (dtype,
 * dims, strides) of every argument. A repeated call with the same key creates nothing; {@link #creations()}
 * counts the primitives ever created, which the tests check.
 *
 * <p>Bounded: it keeps at most {@code capacity} primitives and evicts the least recently used beyond that,
 * so a service that sees ever new shapes holds bounded native memory. Thread-safe: lookups take a short
 * lock; creation runs outside it (two threads missing the same key may both create, and one result is
 * dropped and not counted). An evicted primitive still running on another thread is destroyed when that run ends (see
 * {@link Primitive#lease}).
 */
final class PrimitiveCache implements AutoCloseable {
    /** The default capacity; {@code -Dlipa.dnnl.cacheCapacity=N} changes it. */
    static final int DEFAULT_CAPACITY = Integer.getInteger("lipa.dnnl.cacheCapacity", 1024);

    /** What identifies a primitive. */
    record Key(Object op, String variant, List<MemoryDesc> layouts) {
    }

    private final int capacity;
    private final LinkedHashMap<Key, Primitive> map = new LinkedHashMap<>(64, 0.75f, true);
    private final AtomicLong creations = new AtomicLong();
    private final AtomicLong evictions = new AtomicLong();
    private boolean closed;

    PrimitiveCache(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("primitive cache capacity must be at least 1, got " + capacity);
        }
        this.capacity = capacity;
    }

    /**
     * The primitive for {@code key}, created by {@code factory} on first use, leased to the caller for one
     * {@link Primitive#execute}.
     */
    Primitive get(Key key, Supplier<Primitive> factory) {
        while (true) {
            synchronized (this) {
                checkOpen();
                Primitive p = map.get(key);
                if (p != null && p.lease()) {
                    return p;
                }
            }
            PrimitiveCreationEvent event = new PrimitiveCreationEvent();
            event.begin();
            Primitive created = factory.get();
            event.op = key.op().toString();
            event.variant = key.variant();
            event.commit();
            synchronized (this) {
                if (closed) {
                    created.close();
                    checkOpen();
                }
                Primitive raced = map.get(key);
                if (raced != null) {
                    // another thread created it meanwhile: keep theirs
                    created.close();
                    if (raced.lease()) {
                        return raced;
                    }
                    continue;
                }
                map.put(key, created);
                creations.incrementAndGet();
                created.lease();
                evict();
                return created;
            }
        }
    }

    private void evict() {
        var it = map.entrySet().iterator();
        while (map.size() > capacity && it.hasNext()) {
            Map.Entry<Key, Primitive> eldest = it.next();
            it.remove();
            eldest.getValue().close();
            evictions.incrementAndGet();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the oneDNN CPU backend is closed");
        }
    }

    long creations() {
        return creations.get();
    }

    long evictions() {
        return evictions.get();
    }

    synchronized int size() {
        return map.size();
    }

    int capacity() {
        return capacity;
    }

    @Override
    public synchronized void close() {
        closed = true;
        map.values().forEach(Primitive::close);
        map.clear();
    }
}

package org.lipa.backend.cpu;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * Created primitives keyed by what determines them: the op (its record, with every parameter),
 * a variant name for families with several primitives per op (forward, backward data, ...), and
 * the layouts (dtype, dims, strides) of every argument. A repeated call with the same key creates
 * nothing; {@link #creations()} counts the primitives ever created, which the tests check.
 *
 * <p>Owns the arena holding scratchpads and argument arrays; closing the cache destroys every primitive.
 */
final class PrimitiveCache implements AutoCloseable {
    /** What identifies a primitive. */
    record Key(Object op, String variant, List<MemoryDesc> layouts) {
    }

    private final Map<Key, Primitive> map = new ConcurrentHashMap<>();
    private final AtomicLong creations = new AtomicLong();
    private final Arena arena = Arena.ofShared();

    /** The primitive for {@code key}, creating it with {@code factory} (given the cache's arena) on first use. */
    Primitive get(Key key, Function<Arena, Primitive> factory) {
        Primitive p = map.get(key);
        if (p != null) {
            return p;
        }
        return map.computeIfAbsent(key, k -> {
            creations.incrementAndGet();
            return factory.apply(arena);
        });
    }

    long creations() {
        return creations.get();
    }

    int size() {
        return map.size();
    }

    @Override
    public void close() {
        map.values().forEach(Primitive::close);
        map.clear();
        arena.close();
    }
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A oneDNN CPU engine and its stream: the context tier of native ownership. Created once per
 * backend and destroyed explicitly, stream before engine (the reverse of creation), because the
 * stream depends on the engine and an arena would run cleanups in no defined order.
 */
final class DnnlContext implements AutoCloseable {
    private final MemorySegment engine;
    private final MemorySegment stream;
    private volatile boolean closed;

    private DnnlContext(MemorySegment engine, MemorySegment stream) {
        this.engine = engine;
        this.stream = stream;
    }

    static DnnlContext create() {
        DnnlLibrary.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_engine_create(out, dnnl_cpu(), 0), "dnnl_engine_create");
            MemorySegment engine = out.get(ValueLayout.ADDRESS, 0);
            int status = dnnl_stream_create(out, engine, dnnl_stream_default_flags());
            if (status != dnnl_success()) {
                dnnl_engine_destroy(engine);
                Dnnl.check(status, "dnnl_stream_create");
            }
            return new DnnlContext(engine, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    MemorySegment engine() {
        checkOpen();
        return engine;
    }

    MemorySegment stream() {
        checkOpen();
        return stream;
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the oneDNN CPU backend is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Dnnl.check(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
        Dnnl.check(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
    }
}

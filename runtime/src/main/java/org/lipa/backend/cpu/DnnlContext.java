package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * A oneDNN CPU engine and its streams (one per concurrent execution): the context tier of native ownership. Created once per
 * backend and destroyed explicitly, stream before engine (the reverse of creation), because the
 * stream depends on the engine and an arena would run cleanups in no defined order.
 */
final class DnnlContext implements AutoCloseable {
    private final MemorySegment engine;
    /** Streams not in use; an execution takes one and gives it back, so concurrent executions never share one. */
    private final ConcurrentLinkedDeque<MemorySegment> idle = new ConcurrentLinkedDeque<>();
    /** Every stream created, for closing. */
    private final List<MemorySegment> streams = new ArrayList<>();
    private volatile boolean closed;

    private DnnlContext(MemorySegment engine) {
        this.engine = engine;
    }

    static DnnlContext create() {
        DnnlLibrary.ensureLoaded();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_engine_create(out, dnnl_cpu(), 0), "dnnl_engine_create");
            DnnlContext ctx = new DnnlContext(out.get(ValueLayout.ADDRESS, 0));
            try {
                ctx.releaseStream(ctx.acquireStream());
            } catch (RuntimeException e) {
                ctx.close();
                throw e;
            }
            return ctx;
        }
    }

    MemorySegment engine() {
        checkOpen();
        return engine;
    }

    /** A stream for one execution, created when every existing one is busy; give it back with {@link #releaseStream}. */
    MemorySegment acquireStream() {
        checkOpen();
        MemorySegment s = idle.poll();
        return s != null ? s : newStream();
    }

    void releaseStream(MemorySegment stream) {
        idle.push(stream);
    }

    /** Streams created so far: the most executions that ran at once. */
    synchronized int streams() {
        return streams.size();
    }

    private synchronized MemorySegment newStream() {
        checkOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_stream_create(out, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
            MemorySegment s = out.get(ValueLayout.ADDRESS, 0);
            streams.add(s);
            return s;
        }
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the oneDNN CPU backend is closed");
        }
    }

    /** Destroys the streams, then the engine (the reverse of creation). Executions must have ended. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        idle.clear();
        for (MemorySegment s : streams) {
            Dnnl.check(dnnl_stream_destroy(s), "dnnl_stream_destroy");
        }
        streams.clear();
        Dnnl.check(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
    }
}

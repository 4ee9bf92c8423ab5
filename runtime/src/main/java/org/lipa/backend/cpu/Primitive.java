package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.ReentrantLock;
import org.lipa.bindings.dnnl.dnnl_exec_arg_t;

/**
 * A created oneDNN primitive with one memory object per argument, built once and re-pointed at new
 * buffers on every execution ({@code dnnl_memory_set_data_handle}) instead of being rebuilt.
 *
 * <p>The scratchpad is user-managed (oneDNN never allocates user memory): its buffer is allocated
 * once here, from the cache's arena. Executions of one primitive are serialized by a lock because
 * the memory objects and the scratchpad are shared state; different primitives run concurrently.
 */
final class Primitive implements AutoCloseable {
    private final MemorySegment primitive;
    private final int[] argKinds;
    private final MemorySegment[] memories;
    private final MemorySegment execArgs;
    private final int userArgs;
    private final ReentrantLock lock = new ReentrantLock();

    /**
     * Creates the primitive from {@code pd} (which this call destroys) and memory objects for the
     * given arguments: {@code argKinds[i]} ({@code DNNL_ARG_*}) described by {@code mds[i]}. A null
     * descriptor asks the primitive descriptor for the argument's layout ({@code dnnl_query_exec_arg_md}),
     * for arguments such as workspaces whose layout only oneDNN knows.
     * A scratchpad argument is added when the primitive needs one.
     */
    static Primitive create(DnnlContext ctx, Arena arena, MemorySegment pd, int[] argKinds, MemoryDesc[] mds) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            int status = dnnl_primitive_create(out, pd);
            if (status != dnnl_success()) {
                dnnl_primitive_desc_destroy(pd);
                Dnnl.check(status, "dnnl_primitive_create");
            }
            MemorySegment prim = out.get(ValueLayout.ADDRESS, 0);
            MemorySegment scratchMd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md(), 0);
            long scratchBytes = scratchMd.equals(MemorySegment.NULL) ? 0 : dnnl_memory_desc_get_size(scratchMd);
            int n = argKinds.length + (scratchBytes > 0 ? 1 : 0);
            int[] kinds = new int[n];
            MemorySegment[] mems = new MemorySegment[n];
            System.arraycopy(argKinds, 0, kinds, 0, argKinds.length);
            try {
                for (int i = 0; i < argKinds.length; i++) {
                    if (mds[i] == null) {
                        // owned by the primitive descriptor: not destroyed here
                        MemorySegment md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md(), argKinds[i]);
                        mems[i] = memory(ctx, tmp, md, MemorySegment.NULL);
                        continue;
                    }
                    MemorySegment md = mds[i].create();
                    try {
                        requireLayout(pd, argKinds[i], md, mds[i]);
                        mems[i] = memory(ctx, tmp, md, MemorySegment.NULL);
                    } finally {
                        dnnl_memory_desc_destroy(md);
                    }
                }
                if (scratchBytes > 0) {
                    kinds[n - 1] = DNNL_ARG_SCRATCHPAD();
                    MemorySegment buffer = arena.allocate(scratchBytes, 64);
                    mems[n - 1] = memory(ctx, tmp, scratchMd, buffer);
                }
            } catch (RuntimeException e) {
                for (MemorySegment m : mems) {
                    if (m != null) {
                        dnnl_memory_destroy(m);
                    }
                }
                dnnl_primitive_destroy(prim);
                throw e;
            } finally {
                dnnl_primitive_desc_destroy(pd);
            }
            MemorySegment args = arena.allocate(dnnl_exec_arg_t.layout(), n);
            for (int i = 0; i < n; i++) {
                MemorySegment a = dnnl_exec_arg_t.asSlice(args, i);
                dnnl_exec_arg_t.arg(a, kinds[i]);
                dnnl_exec_arg_t.memory(a, mems[i]);
            }
            return new Primitive(prim, kinds, mems, args, argKinds.length);
        }
    }

    /** A oneDNN call that creates a primitive descriptor into {@code out} under {@code attr}. */
    @FunctionalInterface
    interface DescriptorCall {
        int create(MemorySegment out, MemorySegment attr);
    }

    /**
     * Creates a primitive descriptor with a user-managed scratchpad (so oneDNN allocates no memory of
     * its own at execution) and {@code postOps} (may be NULL), checking the status under {@code call}'s name.
     */
    static MemorySegment descriptor(String call, MemorySegment postOps, DescriptorCall c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment attrOut = a.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_primitive_attr_create(attrOut), "dnnl_primitive_attr_create");
            MemorySegment attr = attrOut.get(ValueLayout.ADDRESS, 0);
            try {
                Dnnl.check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user()),
                        "dnnl_primitive_attr_set_scratchpad_mode");
                if (!postOps.equals(MemorySegment.NULL)) {
                    Dnnl.check(dnnl_primitive_attr_set_post_ops(attr, postOps), "dnnl_primitive_attr_set_post_ops");
                }
                MemorySegment out = a.allocate(ValueLayout.ADDRESS);
                Dnnl.check(c.create(out, attr), call);
                return out.get(ValueLayout.ADDRESS, 0);
            } finally {
                dnnl_primitive_attr_destroy(attr);
            }
        }
    }

    static MemorySegment descriptor(String call, DescriptorCall c) {
        return descriptor(call, MemorySegment.NULL, c);
    }

    /**
     * Native memory descriptors and dims arrays needed while a primitive descriptor is created; closing
     * destroys the descriptors and frees the arrays.
     */
    static final class Scope implements AutoCloseable {
        private final Arena arena = Arena.ofConfined();
        private final java.util.List<MemorySegment> mds = new java.util.ArrayList<>();

        /** The native descriptor of {@code d}, or NULL for a null {@code d} (an absent optional argument). */
        MemorySegment md(MemoryDesc d) {
            if (d == null) {
                return MemorySegment.NULL;
            }
            MemorySegment m = d.create();
            mds.add(m);
            return m;
        }

        /** A {@code dnnl_dims_t} holding {@code values}. */
        MemorySegment dims(long... values) {
            return arena.allocateFrom(ValueLayout.JAVA_LONG, values);
        }

        /** An array of pointers. */
        MemorySegment pointers(MemorySegment... values) {
            MemorySegment arr = arena.allocate(ValueLayout.ADDRESS, values.length);
            for (int i = 0; i < values.length; i++) {
                arr.setAtIndex(ValueLayout.ADDRESS, i, values[i]);
            }
            return arr;
        }

        @Override
        public void close() {
            mds.forEach(m -> dnnl_memory_desc_destroy(m));
            arena.close();
        }
    }

    /**
     * Guards against buffer overruns: the layout the primitive will access for {@code argKind} must be the
     * one our buffer has. A mismatch is a bug in a family class, reported instead of corrupting memory.
     */
    private static void requireLayout(MemorySegment pd, int argKind, MemorySegment md, MemoryDesc ours) {
        MemorySegment expected = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md(), argKind);
        if (expected.equals(MemorySegment.NULL) || dnnl_memory_desc_equal(expected, md) == 0) {
            long want = expected.equals(MemorySegment.NULL) ? 0 : dnnl_memory_desc_get_size(expected);
            throw new DnnlException("oneDNN expects another layout for argument " + argKind + " than " + ours
                    + " (" + dnnl_memory_desc_get_size(md) + " bytes; the primitive wants " + want + " bytes)", dnnl_invalid_arguments());
        }
    }

    private static MemorySegment memory(DnnlContext ctx, Arena tmp, MemorySegment md, MemorySegment handle) {
        MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
        Dnnl.check(dnnl_memory_create(out, md, ctx.engine(), handle), "dnnl_memory_create");
        return out.get(ValueLayout.ADDRESS, 0);
    }

    private Primitive(MemorySegment primitive, int[] argKinds, MemorySegment[] memories, MemorySegment execArgs, int userArgs) {
        this.primitive = primitive;
        this.argKinds = argKinds;
        this.memories = memories;
        this.execArgs = execArgs;
        this.userArgs = userArgs;
    }

    /**
     * Executes with {@code buffers[i]} as the data of argument i (in the order given at creation) and
     * waits for completion. Liveness of every buffer is checked here, before native code sees it.
     */
    void execute(DnnlContext ctx, MemorySegment... buffers) {
        if (buffers.length != userArgs) {
            throw new IllegalArgumentException("primitive takes " + userArgs + " buffers, got " + buffers.length);
        }
        lock.lock();
        try {
            for (int i = 0; i < userArgs; i++) {
                // set_data_handle takes a raw address; FFM checks the segment is alive at this call
                Dnnl.check(dnnl_memory_set_data_handle(memories[i], buffers[i]), "dnnl_memory_set_data_handle");
            }
            synchronized (ctx) {
                Dnnl.check(dnnl_primitive_execute(primitive, ctx.stream(), argKinds.length, execArgs), "dnnl_primitive_execute");
                Dnnl.check(dnnl_stream_wait(ctx.stream()), "dnnl_stream_wait");
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        for (MemorySegment m : memories) {
            dnnl_memory_destroy(m);
        }
        dnnl_primitive_destroy(primitive);
    }

    /** Bytes the argument at {@code index} (creation order) needs, for buffers whose layout oneDNN chose. */
    long argumentBytes(int index) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_memory_get_memory_desc(memories[index], out), "dnnl_memory_get_memory_desc");
            return dnnl_memory_desc_get_size(out.get(ValueLayout.ADDRESS, 0));
        }
    }
}

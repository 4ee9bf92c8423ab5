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
    /** Per user argument, the reorder between the caller's layout and the primitive's, or null when they agree. */
    private final Reorder[] reorders;
    private final ReentrantLock lock = new ReentrantLock();

    /**
     * Creates the primitive from {@code pd} (which this call destroys) and memory objects for the
     * given arguments: {@code argKinds[i]} ({@code DNNL_ARG_*}) described by {@code mds[i]}. A null
     * descriptor asks the primitive descriptor for the argument's layout ({@code dnnl_query_exec_arg_md}),
     * for arguments such as workspaces whose layout only oneDNN knows.
     * A scratchpad argument is added when the primitive needs one.
     */
    /** {@code -Dlipa.dnnl.verbose=true} prints which oneDNN implementation each new primitive uses. */
    private static final boolean VERBOSE = Boolean.getBoolean("lipa.dnnl.verbose");

    /** oneDNN's name of the implementation a primitive descriptor chose, such as {@code brg_conv_fwd:avx512_core}. */
    static String implementation(MemorySegment pd) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment str = tmp.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str(), 0, str), "dnnl_primitive_desc_query");
            return str.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    static Primitive create(DnnlContext ctx, Arena arena, MemorySegment pd, int[] argKinds, MemoryDesc[] mds) {
        return create(ctx, arena, pd, argKinds, mds, false);
    }

    /**
     * As {@link #create(DnnlContext, Arena, MemorySegment, int[], MemoryDesc[])}; with {@code reorder}, an
     * argument whose layout the primitive chose differently (a descriptor made with {@link Scope#anyMd})
     * gets a buffer of the chosen layout, from {@code arena}, and a reorder primitive that runs before
     * execution (inputs) or after it (outputs), so callers keep passing their own row-major buffers.
     */
    static Primitive create(DnnlContext ctx, Arena arena, MemorySegment pd, int[] argKinds, MemoryDesc[] mds, boolean reorder) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            int status = dnnl_primitive_create(out, pd);
            if (status != dnnl_success()) {
                dnnl_primitive_desc_destroy(pd);
                Dnnl.check(status, "dnnl_primitive_create");
            }
            MemorySegment prim = out.get(ValueLayout.ADDRESS, 0);
            if (VERBOSE) {
                System.err.println("lipa: created oneDNN primitive " + implementation(pd));
            }
            MemorySegment scratchMd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md(), 0);
            long scratchBytes = scratchMd.equals(MemorySegment.NULL) ? 0 : dnnl_memory_desc_get_size(scratchMd);
            int n = argKinds.length + (scratchBytes > 0 ? 1 : 0);
            int[] kinds = new int[n];
            MemorySegment[] mems = new MemorySegment[n];
            Reorder[] reorders = new Reorder[argKinds.length];
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
                        MemorySegment chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md(), argKinds[i]);
                        if (reorder && !chosen.equals(MemorySegment.NULL) && dnnl_memory_desc_equal(chosen, md) == 0) {
                            MemorySegment buffer = arena.allocate(dnnl_memory_desc_get_size(chosen), 64);
                            mems[i] = memory(ctx, tmp, chosen, buffer);
                            reorders[i] = Reorder.create(ctx, arena, md, chosen, buffer, isOutput(argKinds[i]));
                        } else {
                            requireLayout(pd, argKinds[i], md, mds[i]);
                            mems[i] = memory(ctx, tmp, md, MemorySegment.NULL);
                        }
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
                for (Reorder r : reorders) {
                    if (r != null) {
                        r.close();
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
            return new Primitive(prim, kinds, mems, args, argKinds.length, reorders);
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

        /**
         * A descriptor with {@code d}'s dims and dtype and no layout ({@code format_tag_any}): the primitive
         * picks the layout its fastest kernel wants, and {@link #create} reorders to and from ours.
         */
        MemorySegment anyMd(MemoryDesc d) {
            if (d == null) {
                return MemorySegment.NULL;
            }
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_memory_desc_create_with_tag(out, d.rank(), dims(d.dims()), MemoryDesc.dataType(d.dtype()),
                    dnnl_format_tag_any()), "dnnl_memory_desc_create_with_tag");
            MemorySegment m = out.get(ValueLayout.ADDRESS, 0);
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

    private Primitive(MemorySegment primitive, int[] argKinds, MemorySegment[] memories, MemorySegment execArgs, int userArgs,
            Reorder[] reorders) {
        this.reorders = reorders;
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
                MemorySegment target = reorders[i] == null ? memories[i] : reorders[i].user;
                Dnnl.check(dnnl_memory_set_data_handle(target, buffers[i]), "dnnl_memory_set_data_handle");
            }
            synchronized (ctx) {
                for (Reorder r : reorders) {
                    if (r != null && !r.output) {
                        r.execute(ctx);
                    }
                }
                Dnnl.check(dnnl_primitive_execute(primitive, ctx.stream(), argKinds.length, execArgs), "dnnl_primitive_execute");
                for (Reorder r : reorders) {
                    if (r != null && r.output) {
                        r.execute(ctx);
                    }
                }
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
        for (Reorder r : reorders) {
            if (r != null) {
                r.close();
            }
        }
        dnnl_primitive_destroy(primitive);
    }

    private static boolean isOutput(int argKind) {
        return argKind == DNNL_ARG_DST() || argKind == DNNL_ARG_DIFF_SRC() || argKind == DNNL_ARG_DIFF_WEIGHTS()
                || argKind == DNNL_ARG_DIFF_BIAS();
    }

    /** A reorder between a caller's buffer ({@code user}, re-pointed per execution) and a primitive's own buffer. */
    private record Reorder(MemorySegment primitive, MemorySegment user, MemorySegment own, MemorySegment args, boolean output) {
        static Reorder create(DnnlContext ctx, Arena arena, MemorySegment userMd, MemorySegment ownMd, MemorySegment ownBuffer,
                boolean output) {
            try (Arena tmp = Arena.ofConfined()) {
                MemorySegment from = output ? ownMd : userMd;
                MemorySegment to = output ? userMd : ownMd;
                MemorySegment pdOut = tmp.allocate(ValueLayout.ADDRESS);
                Dnnl.check(dnnl_reorder_primitive_desc_create(pdOut, from, ctx.engine(), to, ctx.engine(), MemorySegment.NULL),
                        "dnnl_reorder_primitive_desc_create");
                MemorySegment pd = pdOut.get(ValueLayout.ADDRESS, 0);
                MemorySegment primOut = tmp.allocate(ValueLayout.ADDRESS);
                try {
                    Dnnl.check(dnnl_primitive_create(primOut, pd), "dnnl_primitive_create (reorder)");
                } finally {
                    dnnl_primitive_desc_destroy(pd);
                }
                MemorySegment user = memory(ctx, tmp, userMd, MemorySegment.NULL);
                MemorySegment own = memory(ctx, tmp, ownMd, ownBuffer);
                MemorySegment args = arena.allocate(dnnl_exec_arg_t.layout(), 2);
                dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 0), DNNL_ARG_FROM());
                dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 0), output ? own : user);
                dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 1), DNNL_ARG_TO());
                dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 1), output ? user : own);
                return new Reorder(primOut.get(ValueLayout.ADDRESS, 0), user, own, args, output);
            }
        }

        void execute(DnnlContext ctx) {
            Dnnl.check(dnnl_primitive_execute(primitive, ctx.stream(), 2, args), "dnnl_primitive_execute (reorder)");
        }

        void close() {
            dnnl_memory_destroy(user);
            dnnl_memory_destroy(own);
            dnnl_primitive_destroy(primitive);
        }
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

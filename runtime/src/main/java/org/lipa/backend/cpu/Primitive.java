package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;
import org.lipa.bindings.dnnl.dnnl_exec_arg_t;

/**
 * A created oneDNN primitive, built once and executed many times, from many threads at once: its memory
 * objects are re-pointed at new buffers on every execution ({@code dnnl_memory_set_data_handle}) instead of
 * being rebuilt.
 *
 * <p>oneDNN primitives are immutable and may run concurrently; what may not be shared is the state around
 * an execution: the memory objects being re-pointed, the user-managed scratchpad (oneDNN never allocates
 * user memory) and the buffers in the layout the primitive chose. That state is a {@link Binding}; each
 * execution takes an idle one from a pool (creating one when all are busy), so concurrent executions never
 * share one, and as many exist as executions ever ran at once. Each execution also takes its own stream
 * from the context.
 *
 * <p>Lifetime: the primitive descriptor is kept for the primitive's life (the argument descriptors queried
 * from it stay valid for new bindings). A primitive is reference counted: the cache holds one reference and
 * hands each caller a lease that {@link #execute} returns, so a primitive evicted while another thread
 * executes it is destroyed only after that execution ends.
 */
final class Primitive implements AutoCloseable {
    private final DnnlContext ctx;
    private final MemorySegment primitive;
    private final MemorySegment pd;
    /** Argument kinds: the user's, then the scratchpad when there is one. */
    private final int[] kinds;
    /** Per argument, the descriptor of the memory the primitive reads or writes. */
    private final MemorySegment[] mds;
    /** Descriptors this object created (the others belong to {@link #pd}). */
    private final List<MemorySegment> ownedMds;
    /** Per user argument, the reorder between the caller's layout and the primitive's, or null when they agree. */
    private final Reorder[] reorders;
    private final int userArgs;
    private final long scratchBytes;
    /** Holds the bindings' buffers and argument arrays; closed with the primitive. */
    private final Arena arena = Arena.ofShared();
    private final ConcurrentLinkedDeque<Binding> idle = new ConcurrentLinkedDeque<>();
    private final List<Binding> bindings = new ArrayList<>();
    /** The cache's reference plus one per lease; 0 means destroyed. */
    private final AtomicInteger refs = new AtomicInteger(1);

    /** {@code -Dlipa.dnnl.verbose=true} prints which oneDNN implementation each new primitive uses. */
    private static final boolean VERBOSE = Boolean.getBoolean("lipa.dnnl.verbose");

    private Primitive(DnnlContext ctx, MemorySegment primitive, MemorySegment pd, int[] kinds, MemorySegment[] mds,
            List<MemorySegment> ownedMds, Reorder[] reorders, int userArgs, long scratchBytes) {
        this.ctx = ctx;
        this.primitive = primitive;
        this.pd = pd;
        this.kinds = kinds;
        this.mds = mds;
        this.ownedMds = ownedMds;
        this.reorders = reorders;
        this.userArgs = userArgs;
        this.scratchBytes = scratchBytes;
    }

    /** oneDNN's name of the implementation a primitive descriptor chose, such as {@code brg_conv_fwd:avx512_core}. */
    static String implementation(MemorySegment pd) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment str = tmp.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str(), 0, str), "dnnl_primitive_desc_query");
            return str.get(ValueLayout.ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    /**
     * Creates the primitive from {@code pd} (which it then owns) for the given arguments: {@code argKinds[i]}
     * ({@code DNNL_ARG_*}) described by {@code mds[i]}. A null descriptor asks the primitive descriptor for
     * the argument's layout ({@code dnnl_query_exec_arg_md}), for arguments such as workspaces whose layout
     * only oneDNN knows. A scratchpad argument is added when the primitive needs one.
     */
    static Primitive create(DnnlContext ctx, MemorySegment pd, int[] argKinds, MemoryDesc[] mds) {
        return create(ctx, pd, argKinds, mds, false);
    }

    /**
     * As {@link #create(DnnlContext, MemorySegment, int[], MemoryDesc[])}; with {@code reorder}, an argument
     * whose layout the primitive chose differently (a descriptor made with {@link Scope#anyMd}) gets a buffer
     * of the chosen layout in each binding and a reorder primitive that runs before execution (inputs) or
     * after it (outputs), so callers keep passing their own row-major buffers.
     */
    static Primitive create(DnnlContext ctx, MemorySegment pd, int[] argKinds, MemoryDesc[] mds, boolean reorder) {
        MemorySegment prim;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            int status = dnnl_primitive_create(out, pd);
            if (status != dnnl_success()) {
                dnnl_primitive_desc_destroy(pd);
                Dnnl.check(status, "dnnl_primitive_create");
            }
            prim = out.get(ValueLayout.ADDRESS, 0);
        }
        if (VERBOSE) {
            System.err.println("lipa: created oneDNN primitive " + implementation(pd));
        }
        List<MemorySegment> owned = new ArrayList<>();
        Reorder[] reorders = new Reorder[argKinds.length];
        try {
            MemorySegment scratchMd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md(), 0);
            long scratchBytes = scratchMd.equals(MemorySegment.NULL) ? 0 : dnnl_memory_desc_get_size(scratchMd);
            int n = argKinds.length + (scratchBytes > 0 ? 1 : 0);
            int[] kinds = new int[n];
            MemorySegment[] argMds = new MemorySegment[n];
            System.arraycopy(argKinds, 0, kinds, 0, argKinds.length);
            for (int i = 0; i < argKinds.length; i++) {
                if (mds[i] == null) {
                    argMds[i] = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md(), argKinds[i]);
                    continue;
                }
                MemorySegment md = mds[i].create();
                owned.add(md);
                MemorySegment chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md(), argKinds[i]);
                if (reorder && !chosen.equals(MemorySegment.NULL) && dnnl_memory_desc_equal(chosen, md) == 0) {
                    argMds[i] = chosen;
                    reorders[i] = Reorder.create(ctx, md, chosen, isOutput(argKinds[i]));
                } else {
                    requireLayout(pd, argKinds[i], md, mds[i]);
                    argMds[i] = md;
                }
            }
            if (scratchBytes > 0) {
                kinds[n - 1] = DNNL_ARG_SCRATCHPAD();
                argMds[n - 1] = scratchMd;
            }
            return new Primitive(ctx, prim, pd, kinds, argMds, owned, reorders, argKinds.length, scratchBytes);
        } catch (RuntimeException e) {
            for (Reorder r : reorders) {
                if (r != null) {
                    r.close();
                }
            }
            owned.forEach(m -> dnnl_memory_desc_destroy(m));
            dnnl_primitive_destroy(prim);
            dnnl_primitive_desc_destroy(pd);
            throw e;
        }
    }

    /** Takes a lease for one {@link #execute}; false when the primitive was destroyed (evicted) meanwhile. */
    boolean lease() {
        while (true) {
            int r = refs.get();
            if (r <= 0) {
                return false;
            }
            if (refs.compareAndSet(r, r + 1)) {
                return true;
            }
        }
    }

    /** Gives back a reference; the last one destroys the primitive. */
    void release() {
        if (refs.decrementAndGet() == 0) {
            destroy();
        }
    }

    /**
     * Executes with {@code buffers[i]} as the data of argument i (in the order given at creation) and waits
     * for completion; returns the caller's lease. Liveness of every buffer is checked here, before native code
     * sees it. Safe to call from many threads at once.
     */
    void execute(MemorySegment... buffers) {
        try {
            if (buffers.length != userArgs) {
                throw new IllegalArgumentException("primitive takes " + userArgs + " buffers, got " + buffers.length);
            }
            Binding b = idle.poll();
            if (b == null) {
                b = bind();
            }
            MemorySegment stream = ctx.acquireStream();
            try {
                b.run(stream, buffers);
            } finally {
                ctx.releaseStream(stream);
                idle.push(b);
            }
        } finally {
            release();
        }
    }

    /** Bytes the argument at {@code index} (creation order) needs, for buffers whose layout oneDNN chose. */
    long argumentBytes(int index) {
        return dnnl_memory_desc_get_size(mds[index]);
    }

    /** Executions that ran at the same time, at most, so far: the number of bindings. */
    synchronized int bindings() {
        return bindings.size();
    }

    /** The state of one execution: memory objects, the scratchpad and the primitive-layout buffers. */
    private final class Binding {
        private final MemorySegment[] memories;
        private final MemorySegment execArgs;
        /** Per user argument with a reorder: the memory over the caller's buffer and the reorder's arguments. */
        private final MemorySegment[] userMemories;
        private final MemorySegment[] reorderArgs;

        Binding(MemorySegment[] memories, MemorySegment execArgs, MemorySegment[] userMemories, MemorySegment[] reorderArgs) {
            this.memories = memories;
            this.execArgs = execArgs;
            this.userMemories = userMemories;
            this.reorderArgs = reorderArgs;
        }

        void run(MemorySegment stream, MemorySegment[] buffers) {
            for (int i = 0; i < userArgs; i++) {
                // set_data_handle takes a raw address; FFM checks the segment is alive at this call
                MemorySegment target = reorders[i] == null ? memories[i] : userMemories[i];
                Dnnl.check(dnnl_memory_set_data_handle(target, buffers[i]), "dnnl_memory_set_data_handle");
            }
            for (int i = 0; i < userArgs; i++) {
                if (reorders[i] != null && !reorders[i].output()) {
                    reorders[i].execute(stream, reorderArgs[i]);
                }
            }
            Dnnl.check(dnnl_primitive_execute(primitive, stream, kinds.length, execArgs), "dnnl_primitive_execute");
            for (int i = 0; i < userArgs; i++) {
                if (reorders[i] != null && reorders[i].output()) {
                    reorders[i].execute(stream, reorderArgs[i]);
                }
            }
            Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
        }

        void close() {
            for (MemorySegment m : memories) {
                if (m != null) {
                    dnnl_memory_destroy(m);
                }
            }
            for (MemorySegment m : userMemories) {
                if (m != null) {
                    dnnl_memory_destroy(m);
                }
            }
        }
    }

    private synchronized Binding bind() {
        int n = kinds.length;
        MemorySegment[] mems = new MemorySegment[n];
        MemorySegment[] user = new MemorySegment[userArgs];
        MemorySegment[] reorderArgs = new MemorySegment[userArgs];
        Binding b = new Binding(mems, arena.allocate(dnnl_exec_arg_t.layout(), n), user, reorderArgs);
        try (Arena tmp = Arena.ofConfined()) {
            for (int i = 0; i < n; i++) {
                boolean scratch = i >= userArgs;
                boolean own = scratch || reorders[i] != null;
                MemorySegment buffer = own ? arena.allocate(Math.max(dnnl_memory_desc_get_size(mds[i]), 1), 64) : MemorySegment.NULL;
                mems[i] = memory(ctx, tmp, mds[i], buffer);
                if (!scratch && reorders[i] != null) {
                    user[i] = memory(ctx, tmp, reorders[i].userMd(), MemorySegment.NULL);
                    reorderArgs[i] = reorders[i].arguments(arena, user[i], mems[i]);
                }
                MemorySegment a = dnnl_exec_arg_t.asSlice(b.execArgs, i);
                dnnl_exec_arg_t.arg(a, kinds[i]);
                dnnl_exec_arg_t.memory(a, mems[i]);
            }
        } catch (RuntimeException e) {
            b.close();
            throw e;
        }
        bindings.add(b);
        return b;
    }

    /** The cache gives up its reference (eviction or shutdown); destroyed now or when the last lease returns. */
    @Override
    public void close() {
        release();
    }

    private synchronized void destroy() {
        bindings.forEach(Binding::close);
        bindings.clear();
        idle.clear();
        for (Reorder r : reorders) {
            if (r != null) {
                r.close();
            }
        }
        ownedMds.forEach(m -> dnnl_memory_desc_destroy(m));
        dnnl_primitive_destroy(primitive);
        dnnl_primitive_desc_destroy(pd);
        arena.close();
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

    private static boolean isOutput(int argKind) {
        return argKind == DNNL_ARG_DST() || argKind == DNNL_ARG_DIFF_SRC() || argKind == DNNL_ARG_DIFF_WEIGHTS()
                || argKind == DNNL_ARG_DIFF_BIAS();
    }

    /**
     * A reorder primitive between a caller's layout ({@code userMd}) and the primitive's ({@code ownMd}),
     * from the caller's buffer for inputs and to it for outputs; shared by all bindings.
     */
    private record Reorder(MemorySegment primitive, MemorySegment userMd, boolean output) {
        static Reorder create(DnnlContext ctx, MemorySegment userMd, MemorySegment ownMd, boolean output) {
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
                return new Reorder(primOut.get(ValueLayout.ADDRESS, 0), userMd, output);
            }
        }

        /** The FROM/TO argument array for one binding's memories. */
        MemorySegment arguments(Arena arena, MemorySegment user, MemorySegment own) {
            MemorySegment args = arena.allocate(dnnl_exec_arg_t.layout(), 2);
            dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 0), DNNL_ARG_FROM());
            dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 0), output ? own : user);
            dnnl_exec_arg_t.arg(dnnl_exec_arg_t.asSlice(args, 1), DNNL_ARG_TO());
            dnnl_exec_arg_t.memory(dnnl_exec_arg_t.asSlice(args, 1), output ? user : own);
            return args;
        }

        void execute(MemorySegment stream, MemorySegment args) {
            Dnnl.check(dnnl_primitive_execute(primitive, stream, 2, args), "dnnl_primitive_execute (reorder)");
        }

        void close() {
            dnnl_primitive_destroy(primitive);
        }
    }
}

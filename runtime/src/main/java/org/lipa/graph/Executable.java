package org.lipa.graph;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CancellationException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.lipa.backend.Backend;
import org.lipa.eval.Eager;
import org.lipa.eval.FiniteCheck;
import org.lipa.memory.HostMemory;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A graph planned for one backend: every intermediate has a fixed offset in one buffer, computed once
 * from the nodes' lifetimes so that buffers of dead values are reused (first fit, 64-byte aligned).
 * Each {@link #run} makes a single allocation of {@link #planBytes()} in the caller's arena (on the host,
 * usually the block an earlier run's arena gave back: see {@link HostMemory#allocateScratch}) and
 * executes the applications in order; views cost nothing and share their source's buffer.
 *
 * <p>Thread safety: immutable after construction; concurrent runs are safe when the backend's are
 * and each run has its own arena.
 *
 * <p>Operations: a run checks its thread's interrupt flag before each op and throws
 * {@link CancellationException} when it is set (so a long analysis cancelled through its {@code Future}
 * stops within one op and its arenas close as the exception unwinds); {@link FiniteCheck}'s mode scans
 * each op's outputs; each run is a JFR event {@code org.lipa.GraphRun}.
 */
public final class Executable {
    private final Graph graph;
    private final Backend backend;
    /** Offset in the plan buffer of each computed node; views and external nodes have none. */
    private final Map<Node, Long> offsets = new IdentityHashMap<>();
    /** Computed nodes the backend stores channels-last ({@link Backend#channelsLast}); never a graph output's buffer. */
    private final Set<Node> channelsLast = Collections.newSetFromMap(new IdentityHashMap<>());
    private final long planBytes;
    private final long unplannedBytes;

    Executable(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = java.util.Objects.requireNonNull(backend, "backend");
        // which buffer each node lives in: its own, or (for a view) its source's
        Map<Node, Node> root = new IdentityHashMap<>();
        for (Node n : graph.inputs()) {
            root.put(n, n);
        }
        for (Node n : graph.constants()) {
            root.put(n, n);
        }
        List<Apply> applies = graph.applies();
        for (Apply a : applies) {
            for (Node o : a.outputs()) {
                root.put(o, a.op() instanceof ViewOp ? root.get(a.inputs().get(0)) : o);
            }
        }
        // the last application that reads each buffer; graph outputs live to the end
        Map<Node, Integer> lastUse = new IdentityHashMap<>();
        for (int i = 0; i < applies.size(); i++) {
            for (Node n : applies.get(i).inputs()) {
                lastUse.put(root.get(n), i);
            }
        }
        for (Node n : graph.outputs()) {
            lastUse.put(root.get(n), Integer.MAX_VALUE);
        }
        Set<Node> outputRoots = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node n : graph.outputs()) {
            outputRoots.add(root.get(n));
        }
        for (Apply a : applies) {
            if (a.op() instanceof ViewOp) {
                continue;
            }
            List<TensorSpec> in = a.inputs().stream().map(Node::spec).toList();
            boolean[] inCl = new boolean[in.size()];
            for (int i = 0; i < inCl.length; i++) {
                inCl[i] = channelsLast.contains(a.inputs().get(i));
            }
            for (int i = 0; i < a.outputs().size(); i++) {
                Node o = a.outputs().get(i);
                if (!outputRoots.contains(o) && backend.channelsLast(a.op(), in, inCl, i)) {
                    channelsLast.add(o);
                }
            }
        }
        FreeList free = new FreeList();
        long total = 0;
        for (int i = 0; i < applies.size(); i++) {
            Apply a = applies.get(i);
            if (!(a.op() instanceof ViewOp)) {
                for (Node o : a.outputs()) {
                    long bytes = align(o.spec().shape().size() * o.spec().dtype().byteSize());
                    offsets.put(o, free.take(bytes));
                    total += bytes;
                }
            }
            // free after allocating the outputs: an output never shares memory with an input
            for (Node n : distinctRoots(a, root)) {
                Long off = offsets.get(n);
                if (off != null && lastUse.getOrDefault(n, -1) == i) {
                    free.give(off, align(n.spec().shape().size() * n.spec().dtype().byteSize()));
                }
            }
            for (Node o : a.outputs()) { // results nobody reads are dead at once
                if (offsets.containsKey(o) && !lastUse.containsKey(o)) {
                    free.give(offsets.get(o), align(o.spec().shape().size() * o.spec().dtype().byteSize()));
                }
            }
        }
        this.planBytes = free.highWater();
        this.unplannedBytes = total;
    }

    /**
     * Checks the plan against an independent computation of lifetimes: two buffers whose lifetimes
     * (from the application that writes them to the last one that reads them) overlap must not share
     * bytes. Returns a description of each conflict; empty when the plan is sound. For tests.
     */
    List<String> conflicts() {
        Map<Node, Node> root = new IdentityHashMap<>();
        Map<Node, int[]> life = new IdentityHashMap<>();
        List<Apply> applies = graph.applies();
        for (int i = 0; i < applies.size(); i++) {
            Apply a = applies.get(i);
            for (Node n : a.inputs()) {
                Node r = root.getOrDefault(n, n);
                if (life.containsKey(r)) {
                    life.get(r)[1] = i;
                }
            }
            for (Node o : a.outputs()) {
                Node r = a.op() instanceof ViewOp ? root.getOrDefault(a.inputs().get(0), a.inputs().get(0)) : o;
                root.put(o, r);
                if (r == o) {
                    life.put(o, new int[] {i, i});
                }
            }
        }
        for (Node o : graph.outputs()) {
            Node r = root.getOrDefault(o, o);
            if (life.containsKey(r)) {
                life.get(r)[1] = Integer.MAX_VALUE;
            }
        }
        List<String> out = new ArrayList<>();
        List<Node> nodes = new ArrayList<>(life.keySet());
        for (int i = 0; i < nodes.size(); i++) {
            for (int j = i + 1; j < nodes.size(); j++) {
                Node p = nodes.get(i);
                Node q = nodes.get(j);
                int[] lp = life.get(p);
                int[] lq = life.get(q);
                long op = offsets.get(p);
                long oq = offsets.get(q);
                long ep = op + p.spec().shape().size() * p.spec().dtype().byteSize();
                long eq = oq + q.spec().shape().size() * q.spec().dtype().byteSize();
                boolean timeOverlap = lp[0] <= lq[1] && lq[0] <= lp[1];
                boolean spaceOverlap = op < eq && oq < ep;
                if (timeOverlap && spaceOverlap) {
                    out.add(p + " " + Arrays.toString(lp) + " @" + op + " and " + q + " " + Arrays.toString(lq) + " @" + oq);
                }
            }
        }
        return out;
    }

    private static List<Node> distinctRoots(Apply a, Map<Node, Node> root) {
        List<Node> out = new ArrayList<>();
        for (Node n : a.inputs()) {
            Node r = root.get(n);
            if (!out.contains(r)) {
                out.add(r);
            }
        }
        return out;
    }

    private static long align(long bytes) {
        return (bytes + HostMemory.ALIGNMENT - 1) / HostMemory.ALIGNMENT * HostMemory.ALIGNMENT;
    }

    public Graph graph() {
        return graph;
    }

    public Backend backend() {
        return backend;
    }

    /** Bytes one run allocates for all intermediates and outputs. */
    public long planBytes() {
        return planBytes;
    }

    /** How many intermediates the plan stores channels-last, as the backend asked ({@link Backend#channelsLast}). */
    public int channelsLastValues() {
        return channelsLast.size();
    }

    /** Bytes the intermediates would take without reusing dead buffers (for comparison). */
    public long unplannedBytes() {
        return unplannedBytes;
    }

    /**
     * Evaluates the graph on {@code args}. Results live in {@code arena}, in the run's single buffer.
     *
     * @throws IllegalArgumentException if an argument's shape or dtype differs from the traced one
     * @throws IllegalStateException    if an argument's or a constant's arena is closed
     */
    public List<Tensor> run(Arena arena, List<Tensor> args) {
        List<Node> inputs = graph.inputs();
        if (args.size() != inputs.size()) {
            throw new IllegalArgumentException("the graph takes " + inputs.size() + " inputs, got " + args.size());
        }
        Map<Node, Tensor> env = new HashMap<>();
        for (int i = 0; i < args.size(); i++) {
            Tensor t = java.util.Objects.requireNonNull(args.get(i), "input " + i);
            TensorSpec want = inputs.get(i).spec();
            if (!t.spec().equals(want)) {
                throw new IllegalArgumentException("input " + i + " is " + t.spec() + " but the graph was traced with " + want);
            }
            t.checkAlive("input " + i);
            env.put(inputs.get(i), t);
        }
        for (Node c : graph.constants()) {
            c.constant().checkAlive("constant " + c);
            env.put(c, c.constant());
        }
        GraphRunEvent event = new GraphRunEvent();
        event.begin();
        MemorySegment buffer = backend.allocateBuffer(arena, planBytes);
        List<Apply> applies = graph.applies();
        boolean checkFinite = FiniteCheck.enabled();
        for (int step = 0; step < applies.size(); step++) {
            Apply a = applies.get(step);
            // a cancelled analysis stops here; the caller's arena (and so this run's buffer) closes as it unwinds
            if (Thread.currentThread().isInterrupted()) {
                throw new CancellationException("interrupted at step " + step + " of " + applies.size() + " (" + a.op().name() + ")");
            }
            List<Tensor> in = new ArrayList<>(a.inputs().size());
            for (Node n : a.inputs()) {
                in.add(env.get(n));
            }
            if (a.op() instanceof ViewOp v) {
                env.put(a.outputs().get(0), Eager.viewOrCopy(v, in.get(0), backend, arena));
                continue;
            }
            List<Tensor> out = new ArrayList<>(a.outputs().size());
            for (Node o : a.outputs()) {
                TensorSpec s = o.spec();
                long bytes = s.shape().size() * s.dtype().byteSize();
                MemorySegment slice = buffer.asSlice(offsets.get(o), bytes);
                Tensor t = channelsLast.contains(o)
                        ? backend.wrap(slice, new TensorSpec(Shape.of(s.shape().dim(0), s.shape().dim(2), s.shape().dim(3),
                                s.shape().dim(1)), s.dtype())).permute(0, 3, 1, 2)
                        : backend.wrap(slice, s);
                out.add(t);
                env.put(o, t);
            }
            backend.execute(a.op(), in, out);
            if (checkFinite) {
                FiniteCheck.check(a.op(), in, out, "in step " + step + " of " + applies.size() + " of a planned graph");
            }
        }
        event.applies = applies.size();
        event.planBytes = planBytes;
        event.backend = backend.name();
        event.commit();
        List<Tensor> result = new ArrayList<>(graph.outputs().size());
        for (Node n : graph.outputs()) {
            result.add(env.get(n));
        }
        return result;
    }

    /** First-fit allocation of byte ranges, merging neighbours when ranges come back. */
    private static final class FreeList {
        private final TreeMap<Long, Long> free = new TreeMap<>(); // offset -> length
        private long end;
        private long highWater;

        long take(long bytes) {
            for (var e : free.entrySet()) {
                // read both before removing: TreeMap may reuse the removed entry for its successor
                long off = e.getKey();
                long len = e.getValue();
                if (len >= bytes) {
                    free.remove(off);
                    if (len > bytes) {
                        free.put(off + bytes, len - bytes);
                    }
                    return off;
                }
            }
            long off = end;
            end += bytes;
            highWater = Math.max(highWater, end);
            return off;
        }

        void give(long off, long bytes) {
            long start = off;
            long len = bytes;
            var prev = free.floorEntry(start);
            if (prev != null && prev.getKey() + prev.getValue() == start) {
                start = prev.getKey();
                len += prev.getValue();
                free.remove(prev.getKey());
            }
            var next = free.get(off + bytes);
            if (next != null) {
                free.remove(off + bytes);
                len += next;
            }
            if (start + len == end) {
                end = start; // the top of the buffer is free again
            } else {
                free.put(start, len);
            }
        }

        long highWater() {
            return highWater;
        }

        @Override
        public String toString() {
            return "free " + free + " end " + end + " " + Arrays.toString(new long[] {highWater});
        }
    }
}

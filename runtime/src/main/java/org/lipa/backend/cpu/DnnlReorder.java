package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Data movement on oneDNN: reorders (layout and dtype conversion, view materialization) and concat. */
final class DnnlReorder {
    private DnnlReorder() {
    }

    /**
     * Copies {@code in[0]} (any strides) into the contiguous {@code out[0]}, converting dtype.
     * oneDNN's CPU reorder has no f64, which is the reference backend's type: conversions to or from f64
     * are done in Java (they move data between the two worlds, they are not on a hot path).
     */
    static void cast(CpuBackend b, Cast op, List<Tensor> in, List<Tensor> out) {
        Tensor x = in.get(0);
        Tensor y = out.get(0);
        if (x.dtype() == DType.F64 || y.dtype() == DType.F64 || x.size() == 0) {
            y.copyFrom(x);
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            reorder(b, op, CpuBackend.readable(x, tmp), y);
        }
    }

    /** {@code x} itself when contiguous, else a contiguous copy in {@code tmp} made by a oneDNN reorder. */
    static Tensor materialize(CpuBackend b, Tensor x, Arena tmp) {
        if (x.isContiguous()) {
            return x;
        }
        Tensor r = CpuBackend.readable(x, tmp);
        if (r.isContiguous()) {
            return r;
        }
        Tensor y = Tensor.zeros(tmp, x.dtype(), x.shape());
        reorder(b, new Cast(x.dtype()), r, y);
        return y;
    }

    /**
     * {@code x} itself when it is dense and laid out as {@code layout} is (the same strides), else a copy of
     * {@code x} in that layout made by a oneDNN reorder; for the primitives that want their sources and
     * destination in one layout (eltwise, batch norm), whose destination may be channels-last.
     */
    static Tensor like(CpuBackend b, Tensor x, Tensor layout, Arena tmp) {
        if (layout.isContiguous() || !x.shape().equals(layout.shape())) {
            return materialize(b, x, tmp);
        }
        if (x.isDense() && sameStrides(x, layout)) {
            return x;
        }
        int[] order = storageOrder(layout);
        long[] dims = new long[order.length];
        int[] back = new int[order.length];
        for (int k = 0; k < order.length; k++) {
            dims[k] = layout.shape().dim(order[k]);
            back[order[k]] = k;
        }
        Tensor y = Tensor.zeros(tmp, x.dtype(), dims).permute(back);
        reorder(b, new Cast(x.dtype()), CpuBackend.readable(x, tmp), y);
        return y;
    }

    /** The axes of {@code t} from the largest stride to the smallest (a stable sort): its storage order. */
    static int[] storageOrder(Tensor t) {
        long[] st = t.strides();
        return java.util.stream.IntStream.range(0, t.rank()).boxed()
                .sorted((p, q) -> Long.compare(st[q], st[p])).mapToInt(Integer::intValue).toArray();
    }

    private static boolean sameStrides(Tensor x, Tensor y) {
        for (int i = 0; i < x.rank(); i++) {
            if (x.shape().dim(i) != 1 && x.strides()[i] != y.strides()[i]) {
                return false;
            }
        }
        return true;
    }

    private static void reorder(CpuBackend b, Cast op, Tensor x, Tensor y) {
        b.run(op, "reorder", new int[] {DNNL_ARG_FROM(), DNNL_ARG_TO()}, List.of(x, y), (s, md) -> {
            MemorySegment engine = b.context().engine();
            return Primitive.descriptor("dnnl_reorder_primitive_desc_create",
                    (o, attr) -> dnnl_reorder_primitive_desc_create(o, md[0], engine, md[1], engine, attr));
        });
    }

    /** oneDNN's concat primitive; inputs keep their strides. */
    static void concat(CpuBackend b, Concat op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        int axis = y.shape().axis(op.axis());
        try (Arena tmp = Arena.ofConfined()) {
            List<Tensor> xs = new ArrayList<>();
            for (Tensor x : in) {
                if (x.shape().dim(axis) > 0) { // oneDNN rejects empty sources; they contribute nothing
                    xs.add(CpuBackend.readable(x, tmp));
                }
            }
            if (y.size() == 0) {
                return;
            }
            if (y.rank() == 0 || xs.size() == 1) {
                y.copyFrom(xs.get(0));
                return;
            }
            List<MemoryDesc> layouts = new ArrayList<>();
            for (Tensor x : xs) {
                layouts.add(MemoryDesc.of(x));
            }
            MemoryDesc dst = MemoryDesc.of(y);
            layouts.add(dst);
            Primitive p = b.primitive(op, "concat", layouts, () -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment[] srcs = new MemorySegment[xs.size()];
                    int[] kinds = new int[xs.size() + 1];
                    for (int i = 0; i < srcs.length; i++) {
                        srcs[i] = s.md(layouts.get(i));
                        kinds[i] = DNNL_ARG_MULTIPLE_SRC() + i;
                    }
                    kinds[srcs.length] = DNNL_ARG_DST();
                    MemorySegment srcArray = s.pointers(srcs);
                    MemorySegment pd = Primitive.descriptor("dnnl_concat_primitive_desc_create",
                            (o, attr) -> dnnl_concat_primitive_desc_create(o, b.context().engine(), s.md(dst), srcs.length,
                                    axis, srcArray, attr));
                    return Primitive.create(b.context(), pd, kinds, layouts.toArray(MemoryDesc[]::new));
                }
            });
            MemorySegment[] buffers = new MemorySegment[xs.size() + 1];
            for (int i = 0; i < xs.size(); i++) {
                buffers[i] = xs.get(i).data();
            }
            buffers[xs.size()] = y.data();
            p.execute(buffers);
        }
    }
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.LayerNormGrad;
import org.lipa.ops.NormGrad;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Layer, batch and group normalization on oneDNN's normalization primitives. oneDNN keeps statistics,
 * scale and shift in f32 whatever the data type, so for bf16 data they go through f32 temporaries.
 */
final class DnnlNorm {
    private DnnlNorm() {
    }

    /** Layer norm over the last k dims: oneDNN normalizes over the last dim, so those k dims are flattened into one. */
    static void layerNorm(CpuBackend b, LayerNorm op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.materialize(b, in.get(0), tmp);
            long[] dims = flattened(x, op.normalizedRank());
            long c = dims[dims.length - 1];
            long[] statDims = java.util.Arrays.copyOf(dims, dims.length - 1);
            Tensor xv = x.reshape(dims);
            Tensor yv = y.reshape(dims);
            boolean affine = in.size() == 3;
            int flags = affine ? dnnl_use_scale() | dnnl_use_shift() : dnnl_normalization_flags_none();
            Stats st = new Stats(b, tmp, out.get(1), out.get(2), statDims);
            List<Tensor> buffers = new ArrayList<>(List.of(xv, yv, st.mean, st.var));
            int[] kinds = {DNNL_ARG_SRC(), DNNL_ARG_DST(), DNNL_ARG_MEAN(), DNNL_ARG_VARIANCE(), DNNL_ARG_SCALE(), DNNL_ARG_SHIFT()};
            if (affine) {
                buffers.add(f32(b, in.get(1), tmp).reshape(c));
                buffers.add(f32(b, in.get(2), tmp).reshape(c));
            }
            run(b, op, "layer_norm", buffers, java.util.Arrays.copyOf(kinds, buffers.size()), (s, mds, o, attr) ->
                    dnnl_layer_normalization_forward_primitive_desc_create(o, b.context().engine(), dnnl_forward_training(),
                            mds[0], mds[1], mds[2], (float) op.eps(), flags, attr));
            st.writeBack();
        }
    }

    /**
     * Layer-norm gradient on oneDNN's backward primitive (prop kind backward: data, scale and shift
     * gradients at once), with the last k dims flattened as in the forward pass.
     */
    static void layerNormGrad(CpuBackend b, LayerNormGrad op, List<Tensor> in, List<Tensor> out) {
        Tensor dx = out.get(0);
        if (dx.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.materialize(b, in.get(0), tmp);
            int s = op.affine() ? 2 : 1;
            Tensor g = DnnlReorder.materialize(b, in.get(in.size() - 1), tmp);
            long[] dims = flattened(x, op.normalizedRank());
            long c = dims[dims.length - 1];
            long[] statDims = java.util.Arrays.copyOf(dims, dims.length - 1);
            List<Tensor> buffers = new ArrayList<>(List.of(x.reshape(dims), f32(b, in.get(s), tmp).reshape(statDims),
                    f32(b, in.get(s + 1), tmp).reshape(statDims), g.reshape(dims), dx.reshape(dims)));
            List<Integer> kinds = new ArrayList<>(List.of(DNNL_ARG_SRC(), DNNL_ARG_MEAN(), DNNL_ARG_VARIANCE(), DNNL_ARG_DIFF_DST(),
                    DNNL_ARG_DIFF_SRC()));
            Tensor dgamma = null;
            Tensor dbeta = null;
            if (op.affine()) {
                dgamma = Tensor.zeros(tmp, DType.F32, Shape.of(c));
                dbeta = Tensor.zeros(tmp, DType.F32, Shape.of(c));
                buffers.addAll(List.of(f32(b, in.get(1), tmp).reshape(c), dgamma, dbeta));
                kinds.addAll(List.of(DNNL_ARG_SCALE(), DNNL_ARG_DIFF_SCALE(), DNNL_ARG_DIFF_SHIFT()));
            }
            int flags = op.affine() ? dnnl_use_scale() | dnnl_use_shift() : dnnl_normalization_flags_none();
            float eps = (float) op.eps();
            b.run(op, "bwd", kinds.stream().mapToInt(Integer::intValue).toArray(), buffers, (sc, md) -> {
                MemorySegment engine = b.context().engine();
                MemorySegment hint = Primitive.descriptor("dnnl_layer_normalization_forward_primitive_desc_create",
                        (o, attr) -> dnnl_layer_normalization_forward_primitive_desc_create(o, engine, dnnl_forward_training(),
                                md[0], md[0], md[1], eps, flags, attr));
                try {
                    return Primitive.descriptor("dnnl_layer_normalization_backward_primitive_desc_create",
                            (o, attr) -> dnnl_layer_normalization_backward_primitive_desc_create(o, engine, dnnl_backward(),
                                    md[3], md[3], md[0], md[1], eps, flags, hint, attr));
                } finally {
                    dnnl_primitive_desc_destroy(hint);
                }
            });
            if (op.affine()) {
                out.get(1).copyFrom(dgamma.reshape(out.get(1).shape().toArray()));
                out.get(2).copyFrom(dbeta.reshape(out.get(2).shape().toArray()));
            }
        }
    }

    /**
     * Batch- or group-norm gradient on oneDNN's backward primitive (prop kind backward), statistics and
     * scale in f32 as in the forward pass. 2-D group norm is viewed as [N, C, 1] as in the forward pass.
     */
    static void normGrad(CpuBackend b, NormGrad op, List<Tensor> in, List<Tensor> out) {
        Tensor dx = out.get(0);
        if (dx.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.like(b, in.get(0), dx, tmp);
            Tensor g = DnnlReorder.like(b, in.get(4), dx, tmp);
            Tensor dxv = dx;
            if (op.groups() > 0 && x.rank() == 2) {
                x = x.reshape(x.shape().dim(0), x.shape().dim(1), 1);
                g = g.reshape(x.shape().toArray());
                dxv = dx.reshape(x.shape().toArray());
            }
            long c = x.shape().dim(1);
            long[] stat = op.groups() == 0 ? new long[] {c} : new long[] {x.shape().dim(0), op.groups()};
            Tensor dgamma = Tensor.zeros(tmp, DType.F32, Shape.of(c));
            Tensor dbeta = Tensor.zeros(tmp, DType.F32, Shape.of(c));
            List<Tensor> buffers = List.of(x, f32(b, in.get(2), tmp).reshape(stat), f32(b, in.get(3), tmp).reshape(stat), g,
                    f32(b, in.get(1), tmp), dxv, dgamma, dbeta);
            int[] kinds = {DNNL_ARG_SRC(), DNNL_ARG_MEAN(), DNNL_ARG_VARIANCE(), DNNL_ARG_DIFF_DST(), DNNL_ARG_SCALE(),
                DNNL_ARG_DIFF_SRC(), DNNL_ARG_DIFF_SCALE(), DNNL_ARG_DIFF_SHIFT()};
            int flags = dnnl_use_scale() | dnnl_use_shift();
            float eps = (float) op.eps();
            b.run(op, "bwd", kinds, buffers, (sc, md) -> {
                MemorySegment engine = b.context().engine();
                MemorySegment src = md[0];
                MemorySegment diff = md[3];
                MemorySegment hint = op.groups() == 0
                        ? Primitive.descriptor("dnnl_batch_normalization_forward_primitive_desc_create",
                                (o, attr) -> dnnl_batch_normalization_forward_primitive_desc_create(o, engine, dnnl_forward_training(),
                                        src, src, eps, flags, attr))
                        : Primitive.descriptor("dnnl_group_normalization_forward_primitive_desc_create",
                                (o, attr) -> dnnl_group_normalization_forward_primitive_desc_create(o, engine, dnnl_forward_training(),
                                        src, src, op.groups(), eps, flags, attr));
                try {
                    return op.groups() == 0
                            ? Primitive.descriptor("dnnl_batch_normalization_backward_primitive_desc_create",
                                    (o, attr) -> dnnl_batch_normalization_backward_primitive_desc_create(o, engine, dnnl_backward(),
                                            diff, diff, src, eps, flags, hint, attr))
                            : Primitive.descriptor("dnnl_group_normalization_backward_primitive_desc_create",
                                    (o, attr) -> dnnl_group_normalization_backward_primitive_desc_create(o, engine, dnnl_backward(),
                                            diff, diff, src, op.groups(), eps, flags, hint, attr));
                } finally {
                    dnnl_primitive_desc_destroy(hint);
                }
            });
            out.get(1).copyFrom(dgamma);
            out.get(2).copyFrom(dbeta);
        }
    }

    static void batchNorm(CpuBackend b, BatchNorm op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.like(b, in.get(0), y, tmp);
            long channels = x.shape().dim(1);
            List<Tensor> buffers = new ArrayList<>(List.of(x, y));
            Stats st = null;
            int flags = dnnl_use_scale() | dnnl_use_shift();
            if (op.training()) {
                st = new Stats(b, tmp, out.get(1), out.get(2), new long[] {channels});
                buffers.add(st.mean);
                buffers.add(st.var);
            } else {
                flags |= dnnl_use_global_stats();
                buffers.add(f32(b, in.get(3), tmp));
                buffers.add(f32(b, in.get(4), tmp));
            }
            buffers.add(f32(b, in.get(1), tmp));
            buffers.add(f32(b, in.get(2), tmp));
            int[] kinds = {DNNL_ARG_SRC(), DNNL_ARG_DST(), DNNL_ARG_MEAN(), DNNL_ARG_VARIANCE(), DNNL_ARG_SCALE(), DNNL_ARG_SHIFT()};
            int f = flags;
            int prop = op.training() ? dnnl_forward_training() : dnnl_forward_inference();
            run(b, op, "batch_norm", buffers, kinds, (s, mds, o, attr) ->
                    dnnl_batch_normalization_forward_primitive_desc_create(o, b.context().engine(), prop, mds[0], mds[1],
                            (float) op.eps(), f, attr));
            if (st != null) {
                st.writeBack();
            }
        }
    }

    static void groupNorm(CpuBackend b, GroupNorm op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.materialize(b, in.get(0), tmp);
            if (x.rank() == 2) {
                // oneDNN 3.13's group normalization writes out of bounds on 2-D sources (seen as heap
                // corruption); [N, C] and [N, C, 1] have the same groups and statistics
                x = x.reshape(x.shape().dim(0), x.shape().dim(1), 1);
                y = y.reshape(y.shape().dim(0), y.shape().dim(1), 1);
            }
            Stats st = new Stats(b, tmp, out.get(1), out.get(2), new long[] {x.shape().dim(0), op.groups()});
            List<Tensor> buffers = List.of(x, y, st.mean, st.var, f32(b, in.get(1), tmp), f32(b, in.get(2), tmp));
            int[] kinds = {DNNL_ARG_SRC(), DNNL_ARG_DST(), DNNL_ARG_MEAN(), DNNL_ARG_VARIANCE(), DNNL_ARG_SCALE(), DNNL_ARG_SHIFT()};
            run(b, op, "group_norm", buffers, kinds, (s, mds, o, attr) ->
                    dnnl_group_normalization_forward_primitive_desc_create(o, b.context().engine(), dnnl_forward_training(),
                            mds[0], mds[1], op.groups(), (float) op.eps(), dnnl_use_scale() | dnnl_use_shift(), attr));
            st.writeBack();
        }
    }

    /**
     * x's dims with the last k merged into one, since oneDNN normalizes over the last dimension only;
     * at least 2-D ([1, C] when everything is normalized).
     */
    private static long[] flattened(Tensor x, int k) {
        int lead = x.rank() - k;
        long[] dims = new long[Math.max(lead, 1) + 1];
        for (int i = 0; i < dims.length - 1; i++) {
            dims[i] = lead == 0 ? 1 : x.shape().dim(i);
        }
        dims[dims.length - 1] = x.shape().sub(lead, x.rank()).size();
        return dims;
    }

    /** Creates a normalization descriptor from the native descriptors of the buffers, in argument order. */
    @FunctionalInterface
    private interface NormCall {
        int create(Primitive.Scope s, MemorySegment[] mds, MemorySegment out, MemorySegment attr);
    }

    private static void run(CpuBackend b, Object op, String name, List<Tensor> buffers, int[] kinds, NormCall call) {
        b.run(op, "fwd", kinds, buffers, (s, mds) -> Primitive.descriptor("dnnl_" + name + "_forward_primitive_desc_create",
                (o, attr) -> call.create(s, mds, o, attr)));
    }

    /** {@code t} as a contiguous f32 tensor (itself when it already is one). */
    private static Tensor f32(CpuBackend b, Tensor t, Arena tmp) {
        if (t.dtype() == DType.F32) {
            return DnnlReorder.materialize(b, t, tmp);
        }
        Tensor r = Tensor.zeros(tmp, DType.F32, t.shape());
        DnnlReorder.cast(b, new org.lipa.ops.Cast(DType.F32), List.of(t), List.of(r));
        return r;
    }

    /** Statistics outputs: written in place when f32, else through f32 temporaries copied back after. */
    private static final class Stats {
        final Tensor mean;
        final Tensor var;
        private final Tensor meanOut;
        private final Tensor varOut;
        private final CpuBackend b;

        Stats(CpuBackend b, Arena tmp, Tensor meanOut, Tensor varOut, long[] dims) {
            this.b = b;
            this.meanOut = meanOut;
            this.varOut = varOut;
            boolean direct = meanOut.dtype() == DType.F32;
            this.mean = direct ? meanOut.reshape(dims) : Tensor.zeros(tmp, DType.F32, Shape.of(dims));
            this.var = direct ? varOut.reshape(dims) : Tensor.zeros(tmp, DType.F32, Shape.of(dims));
        }

        void writeBack() {
            if (mean.storage() != meanOut.storage()) {
                var cast = new org.lipa.ops.Cast(meanOut.dtype());
                DnnlReorder.cast(b, cast, List.of(mean.reshape(meanOut.shape().toArray())), List.of(meanOut));
                DnnlReorder.cast(b, cast, List.of(var.reshape(varOut.shape().toArray())), List.of(varOut));
            }
        }
    }
}

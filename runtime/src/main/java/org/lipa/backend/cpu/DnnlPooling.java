package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.tensor.Tensor;

/**
 * Max and average 2-D pooling on oneDNN's pooling primitives (floor mode, symmetric padding), forward
 * and backward. Max pooling's backward needs the workspace (argmax) of a forward-training pass, so the
 * gradient reruns the forward pass into temporaries first.
 */
final class DnnlPooling {
    private DnnlPooling() {
    }

    static void execute(CpuBackend b, Pool2d op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            b.run(op, "fwd", new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()}, List.of(x, y),
                    (s, md) -> forward(b, s, op, MemoryDesc.of(x), MemoryDesc.of(y), dnnl_forward_inference()));
        }
    }

    static void backward(CpuBackend b, Pool2dGrad grad, List<Tensor> in, List<Tensor> out) {
        Pool2d op = grad.pool();
        Tensor dx = out.get(0);
        if (dx.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            Tensor g = DnnlReorder.materialize(b, in.get(1), tmp);
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc diffDst = MemoryDesc.of(g);
            MemoryDesc diffSrc = MemoryDesc.of(dx);
            boolean max = op.kind() == Pool2d.Kind.MAX;
            MemorySegment workspace = MemorySegment.NULL;
            if (max) {
                Primitive fwd = b.primitive(op, "fwd_training", List.of(src, diffDst), () -> {
                    try (Primitive.Scope s = new Primitive.Scope()) {
                        MemorySegment pd = forward(b, s, op, src, diffDst, dnnl_forward_training());
                        return Primitive.create(b.context(), pd,
                                new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST(), DNNL_ARG_WORKSPACE()},
                                new MemoryDesc[] {src, diffDst, null});
                    }
                });
                Tensor y = Tensor.zeros(tmp, g.dtype(), g.shape());
                workspace = tmp.allocate(Math.max(fwd.argumentBytes(2), 1), 64);
                fwd.execute(x.data(), y.data(), workspace);
            }
            List<MemoryDesc> layouts = List.of(src, diffDst, diffSrc);
            Primitive p = b.primitive(op, "bwd", layouts, () -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment engine = b.context().engine();
                    MemorySegment hint = forward(b, s, op, src, diffDst, dnnl_forward_training());
                    long[] pr = rightPadding(op, src, diffDst);
                    MemorySegment pd;
                    try {
                        pd = Primitive.descriptor("dnnl_pooling_backward_primitive_desc_create",
                                (o, attr) -> dnnl_pooling_backward_primitive_desc_create(o, engine, algorithm(op), s.md(diffSrc),
                                        s.md(diffDst), s.dims(op.stride().h(), op.stride().w()),
                                        s.dims(op.kernel().h(), op.kernel().w()), s.dims(0, 0),
                                        s.dims(op.padding().h(), op.padding().w()), s.dims(pr), hint, attr));
                    } finally {
                        dnnl_primitive_desc_destroy(hint);
                    }
                    return max
                            ? Primitive.create(b.context(), pd,
                                    new int[] {DNNL_ARG_DIFF_DST(), DNNL_ARG_DIFF_SRC(), DNNL_ARG_WORKSPACE()},
                                    new MemoryDesc[] {diffDst, diffSrc, null})
                            : Primitive.create(b.context(), pd, new int[] {DNNL_ARG_DIFF_DST(), DNNL_ARG_DIFF_SRC()},
                                    new MemoryDesc[] {diffDst, diffSrc});
                }
            });
            if (max) {
                p.execute(g.data(), dx.data(), workspace);
            } else {
                p.execute(g.data(), dx.data());
            }
        }
    }

    /**
     * The pooling derivative applied to a tangent. Average pooling is linear: the forward primitive on the
     * tangent. For max pooling oneDNN has no "gather at the argmax" kernel (its workspace layout is
     * implementation-defined), so the reference kernel computes it.
     */
    static void tangent(CpuBackend b, Pool2dTangent op, List<Tensor> in, List<Tensor> out) {
        if (op.pool().kind() == Pool2d.Kind.MAX) {
            new org.lipa.backend.ref.RefBackend().execute(op, in, out);
        } else {
            execute(b, op.pool(), List.of(in.get(1)), out);
        }
    }

    private static MemorySegment forward(CpuBackend b, Primitive.Scope s, Pool2d op, MemoryDesc src, MemoryDesc dst, int prop) {
        long[] pr = rightPadding(op, src, dst);
        return Primitive.descriptor("dnnl_pooling_forward_primitive_desc_create",
                (o, attr) -> dnnl_pooling_forward_primitive_desc_create(o, b.context().engine(), prop, algorithm(op),
                        s.md(src), s.md(dst), s.dims(op.stride().h(), op.stride().w()), s.dims(op.kernel().h(), op.kernel().w()),
                        s.dims(0, 0), s.dims(op.padding().h(), op.padding().w()), s.dims(pr), attr));
    }

    /** Floor mode: the right padding that makes oneDNN's size formula give our output size. */
    private static long[] rightPadding(Pool2d op, MemoryDesc src, MemoryDesc dst) {
        return new long[] {
            (dst.dims()[2] - 1) * op.stride().h() + op.kernel().h() - src.dims()[2] - op.padding().h(),
            (dst.dims()[3] - 1) * op.stride().w() + op.kernel().w() - src.dims()[3] - op.padding().w()};
    }

    private static int algorithm(Pool2d op) {
        return switch (op.kind()) {
            case MAX -> dnnl_pooling_max();
            case AVG_INCLUDE_PAD -> dnnl_pooling_avg_include_padding();
            case AVG_EXCLUDE_PAD -> dnnl_pooling_avg_exclude_padding();
        };
    }
}

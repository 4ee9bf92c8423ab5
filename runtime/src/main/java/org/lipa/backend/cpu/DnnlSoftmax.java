package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Softmax;
import org.lipa.tensor.Tensor;

/** Softmax and log-softmax on any axis, on oneDNN's softmax primitive (the max-subtracting "accurate" algorithm). */
final class DnnlSoftmax {
    private DnnlSoftmax() {
    }

    static void execute(CpuBackend b, Softmax op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        int axis = y.shape().axis(op.axis());
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.materialize(b, in.get(0), tmp);
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc dst = MemoryDesc.of(y);
            Primitive p = b.primitive(op, "fwd", List.of(src, dst), arena -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment pd = Primitive.descriptor("dnnl_softmax_forward_primitive_desc_create",
                            (o, attr) -> dnnl_softmax_forward_primitive_desc_create(o, b.context().engine(),
                                    dnnl_forward_inference(), op.log() ? dnnl_softmax_log() : dnnl_softmax_accurate(),
                                    s.md(src), s.md(dst), axis, attr));
                    return Primitive.create(b.context(), arena, pd, new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()},
                            new MemoryDesc[] {src, dst});
                }
            });
            p.execute(b.context(), x.data(), y.data());
        }
    }
}

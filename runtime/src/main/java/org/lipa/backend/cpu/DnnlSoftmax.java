package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
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
            b.run(op, "fwd", new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()}, List.of(x, y), (s, md) ->
                    Primitive.descriptor("dnnl_softmax_forward_primitive_desc_create",
                            (o, attr) -> dnnl_softmax_forward_primitive_desc_create(o, b.context().engine(),
                                    dnnl_forward_inference(), op.log() ? dnnl_softmax_log() : dnnl_softmax_accurate(),
                                    md[0], md[1], axis, attr)));
        }
    }

    /** The gradient from the output, on oneDNN's softmax backward (created with its forward as hint). */
    static void backward(CpuBackend b, SoftmaxGrad op, List<Tensor> in, List<Tensor> out) {
        Tensor dx = out.get(0);
        if (dx.size() == 0) {
            return;
        }
        int axis = dx.shape().axis(op.axis());
        try (Arena tmp = Arena.ofConfined()) {
            Tensor y = DnnlReorder.materialize(b, in.get(0), tmp);
            Tensor g = DnnlReorder.materialize(b, in.get(1), tmp);
            int alg = op.log() ? dnnl_softmax_log() : dnnl_softmax_accurate();
            b.run(op, "bwd", new int[] {DNNL_ARG_DST(), DNNL_ARG_DIFF_DST(), DNNL_ARG_DIFF_SRC()}, List.of(y, g, dx), (s, md) -> {
                MemorySegment engine = b.context().engine();
                MemorySegment hint = Primitive.descriptor("dnnl_softmax_forward_primitive_desc_create",
                        (o, attr) -> dnnl_softmax_forward_primitive_desc_create(o, engine, dnnl_forward_training(), alg,
                                md[0], md[0], axis, attr));
                try {
                    return Primitive.descriptor("dnnl_softmax_backward_primitive_desc_create",
                            (o, attr) -> dnnl_softmax_backward_primitive_desc_create(o, engine, alg, md[2], md[1], md[0],
                                    axis, hint, attr));
                } finally {
                    dnnl_primitive_desc_destroy(hint);
                }
            });
        }
    }
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Eltwise;
import org.lipa.tensor.Tensor;

/** Elementwise functions on oneDNN's eltwise primitive. */
final class DnnlEltwise {
    private DnnlEltwise() {
    }

    static void execute(CpuBackend b, Eltwise op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            // eltwise wants source and destination in the same layout; the destination is contiguous
            Tensor x = DnnlReorder.materialize(b, in.get(0), tmp);
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc dst = MemoryDesc.of(y);
            Primitive p = b.primitive(op, "fwd", List.of(src, dst), arena -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment pd = Primitive.descriptor("dnnl_eltwise_forward_primitive_desc_create",
                            (o, attr) -> dnnl_eltwise_forward_primitive_desc_create(o, b.context().engine(),
                                    dnnl_forward_inference(), algorithm(op.kind()), s.md(src), s.md(dst),
                                    (float) op.alpha(), (float) op.beta(), attr));
                    return Primitive.create(b.context(), arena, pd, new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()},
                            new MemoryDesc[] {src, dst});
                }
            });
            p.execute(b.context(), x.data(), y.data());
        }
    }

    /**
     * oneDNN's algorithm for each kind. The parameters carry over unchanged: relu's alpha is the
     * negative slope, soft_relu(x) = log(1 + exp(alpha x)) / alpha, swish(x) = x sigmoid(alpha x),
     * clip_v2 clamps to [alpha, beta], linear is alpha x + beta.
     */
    static int algorithm(Eltwise.Kind kind) {
        return switch (kind) {
            case RELU -> dnnl_eltwise_relu();
            case GELU_TANH -> dnnl_eltwise_gelu_tanh();
            case GELU_ERF -> dnnl_eltwise_gelu_erf();
            case TANH -> dnnl_eltwise_tanh();
            case SIGMOID -> dnnl_eltwise_logistic();
            case ELU -> dnnl_eltwise_elu();
            case SOFTPLUS -> dnnl_eltwise_soft_relu();
            case SWISH -> dnnl_eltwise_swish();
            case EXP -> dnnl_eltwise_exp();
            case LOG -> dnnl_eltwise_log();
            case SQRT -> dnnl_eltwise_sqrt();
            case SQUARE -> dnnl_eltwise_square();
            case ABS -> dnnl_eltwise_abs();
            case CLIP -> dnnl_eltwise_clip_v2();
            case LINEAR -> dnnl_eltwise_linear();
        };
    }
}

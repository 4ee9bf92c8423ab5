package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
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
            // eltwise wants source and destination in the same layout: the destination's (row-major or channels-last)
            Tensor x = DnnlReorder.like(b, in.get(0), y, tmp);
            b.run(op, "fwd", new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()}, List.of(x, y), (s, md) ->
                    Primitive.descriptor("dnnl_eltwise_forward_primitive_desc_create",
                            (o, attr) -> dnnl_eltwise_forward_primitive_desc_create(o, b.context().engine(),
                                    dnnl_forward_inference(), algorithm(op.kind()), md[0], md[1],
                                    (float) op.alpha(), (float) op.beta(), attr)));
        }
    }

    /** {@code f'(x) * g} on oneDNN's eltwise backward (src-based algorithms), created with its forward as hint. */
    static void backward(CpuBackend b, EltwiseGrad op, List<Tensor> in, List<Tensor> out) {
        Tensor dx = out.get(0);
        if (dx.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = DnnlReorder.like(b, in.get(0), dx, tmp);
            Tensor g = DnnlReorder.like(b, in.get(1), dx, tmp);
            int alg = algorithm(op.kind());
            float alpha = (float) op.alpha();
            float beta = (float) op.beta();
            b.run(op, "bwd", new int[] {DNNL_ARG_SRC(), DNNL_ARG_DIFF_DST(), DNNL_ARG_DIFF_SRC()}, List.of(x, g, dx), (s, md) -> {
                MemorySegment engine = b.context().engine();
                MemorySegment hint = Primitive.descriptor("dnnl_eltwise_forward_primitive_desc_create",
                        (o, attr) -> dnnl_eltwise_forward_primitive_desc_create(o, engine, dnnl_forward_training(), alg,
                                md[0], md[0], alpha, beta, attr));
                try {
                    return Primitive.descriptor("dnnl_eltwise_backward_primitive_desc_create",
                            (o, attr) -> dnnl_eltwise_backward_primitive_desc_create(o, engine, alg, md[2], md[1], md[0],
                                    alpha, beta, hint, attr));
                } finally {
                    dnnl_primitive_desc_destroy(hint);
                }
            });
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

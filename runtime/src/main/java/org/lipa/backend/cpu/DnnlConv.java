package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Hw;
import org.lipa.tensor.Tensor;

/**
 * 2-D convolution and transposed convolution on oneDNN's convolution and deconvolution primitives.
 *
 * <p>Conventions bridged here: oneDNN counts dilation from 0 (PyTorch's dilation 1 is oneDNN's 0);
 * grouped weights are a 5-D {@code [groups, out/groups, in/groups, kh, kw]} view of the same bytes;
 * PyTorch stores transposed-convolution weights as {@code [in, out/groups, kh, kw]}, which is described
 * to oneDNN's {@code [groups, out/groups, in/groups, kh, kw]} by strides, without a copy; the output
 * padding of a transposed convolution is a smaller right padding.
 */
final class DnnlConv {
    private DnnlConv() {
    }

    static void conv(CpuBackend b, Conv2d op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            Tensor w = DnnlReorder.materialize(b, in.get(1), tmp);
            Tensor bias = in.size() == 3 ? CpuBackend.readable(in.get(2), tmp) : null;
            long[] wd = w.shape().toArray();
            int g = op.groups();
            MemoryDesc wei = g == 1 ? MemoryDesc.of(w)
                    : MemoryDesc.contiguous(w.dtype(), g, wd[0] / g, wd[1], wd[2], wd[3]);
            run(b, op, "conv", x, w, wei, bias, y, op.stride(), op.dilation(), op.padding(), op.padding(), true);
        }
    }

    static void deconv(CpuBackend b, ConvTranspose2d op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            Tensor w = DnnlReorder.materialize(b, in.get(1), tmp);
            Tensor bias = in.size() == 3 ? CpuBackend.readable(in.get(2), tmp) : null;
            long[] d = w.shape().toArray(); // [in, out/g, kh, kw], contiguous
            long[] s = w.strides();
            int g = op.groups();
            long inPerGroup = d[0] / g;
            MemoryDesc wei = g == 1
                    ? w.strides().length == 4 ? new MemoryDesc(w.dtype(), new long[] {d[1], d[0], d[2], d[3]},
                            new long[] {s[1], s[0], s[2], s[3]}) : null
                    : new MemoryDesc(w.dtype(), new long[] {g, d[1], inPerGroup, d[2], d[3]},
                            new long[] {inPerGroup * s[0], s[1], s[0], s[2], s[3]});
            Hw padR = new Hw(op.padding().h() - op.outputPadding().h(), op.padding().w() - op.outputPadding().w());
            run(b, op, "deconv", x, w, wei, bias, y, op.stride(), op.dilation(), op.padding(), padR, false);
        }
    }

    /** Weight gradient on oneDNN's convolution backward-weights, created with the forward convolution as hint. */
    static void weightGrad(CpuBackend b, Conv2dWeightGrad op, List<Tensor> in, List<Tensor> out) {
        Tensor dw = out.get(0);
        if (dw.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            Tensor g = CpuBackend.readable(in.get(1), tmp);
            long[] wd = dw.shape().toArray();
            int groups = op.groups();
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc diffDst = MemoryDesc.of(g);
            MemoryDesc diffWei = groups == 1 ? MemoryDesc.of(dw)
                    : MemoryDesc.contiguous(dw.dtype(), groups, wd[0] / groups, wd[1], wd[2], wd[3]);
            Primitive p = b.primitive(op, "bwd_weights", List.of(src, diffDst, diffWei), () -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment strides = s.dims(op.stride().h(), op.stride().w());
                    MemorySegment dil = s.dims(op.dilation().h() - 1, op.dilation().w() - 1);
                    MemorySegment pad = s.dims(op.padding().h(), op.padding().w());
                    MemorySegment engine = b.context().engine();
                    MemorySegment hint = Primitive.descriptor("dnnl_convolution_forward_primitive_desc_create",
                            (o, attr) -> dnnl_convolution_forward_primitive_desc_create(o, engine, dnnl_forward_training(),
                                    dnnl_convolution_direct(), s.anyMd(src), s.anyMd(diffWei), MemorySegment.NULL, s.anyMd(diffDst),
                                    strides, dil, pad, pad, attr));
                    MemorySegment pd;
                    try {
                        pd = Primitive.descriptor("dnnl_convolution_backward_weights_primitive_desc_create",
                                (o, attr) -> dnnl_convolution_backward_weights_primitive_desc_create(o, engine,
                                        dnnl_convolution_direct(), s.anyMd(src), s.anyMd(diffWei), MemorySegment.NULL,
                                        s.anyMd(diffDst), strides, dil, pad, pad, hint, attr));
                    } finally {
                        dnnl_primitive_desc_destroy(hint);
                    }
                    return Primitive.create(b.context(), pd,
                            new int[] {DNNL_ARG_SRC(), DNNL_ARG_DIFF_DST(), DNNL_ARG_DIFF_WEIGHTS()},
                            new MemoryDesc[] {src, diffDst, diffWei}, true);
                }
            });
            p.execute(x.data(), g.data(), dw.data());
        }
    }

    private static void run(CpuBackend b, Object op, String variant, Tensor x, Tensor w, MemoryDesc wei, Tensor bias,
                            Tensor y, Hw stride, Hw dilation, Hw padL, Hw padR, boolean forwardConv) {
        MemoryDesc src = MemoryDesc.of(x);
        MemoryDesc dst = MemoryDesc.of(y);
        MemoryDesc bia = bias == null ? null : MemoryDesc.of(bias);
        List<MemoryDesc> layouts = bia == null ? List.of(src, wei, dst) : List.of(src, wei, dst, bia);
        Primitive p = b.primitive(op, variant, layouts, () -> {
            try (Primitive.Scope s = new Primitive.Scope()) {
                MemorySegment strides = s.dims(stride.h(), stride.w());
                MemorySegment dil = s.dims(dilation.h() - 1, dilation.w() - 1);
                MemorySegment pl = s.dims(padL.h(), padL.w());
                MemorySegment pr = s.dims(padR.h(), padR.w());
                MemorySegment engine = b.context().engine();
                MemorySegment pd = forwardConv
                        ? Primitive.descriptor("dnnl_convolution_forward_primitive_desc_create",
                                (o, attr) -> dnnl_convolution_forward_primitive_desc_create(o, engine, dnnl_forward_inference(),
                                        dnnl_convolution_direct(), s.anyMd(src), s.anyMd(wei), s.md(bia), s.anyMd(dst), strides,
                                        dil, pl, pr, attr))
                        : Primitive.descriptor("dnnl_deconvolution_forward_primitive_desc_create",
                                (o, attr) -> dnnl_deconvolution_forward_primitive_desc_create(o, engine, dnnl_forward_inference(),
                                        dnnl_deconvolution_direct(), s.anyMd(src), s.anyMd(wei), s.md(bia), s.anyMd(dst), strides,
                                        dil, pl, pr, attr));
                int[] kinds = bia == null ? new int[] {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST()}
                        : new int[] {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST(), DNNL_ARG_BIAS()};
                // the layouts are oneDNN's choice (blocked for its JIT kernels); plain NCHW falls back to a
                // reference kernel 100x slower, so the arguments are reordered around each execution instead
                return Primitive.create(b.context(), pd, kinds, layouts.toArray(MemoryDesc[]::new), true);
            }
        });
        if (bias == null) {
            p.execute(x.data(), w.data(), y.data());
        } else {
            p.execute(x.data(), w.data(), y.data(), bias.data());
        }
    }
}

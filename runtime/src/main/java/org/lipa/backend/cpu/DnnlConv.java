package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.Binary;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
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
            // contiguous: oneDNN's convolution kernels read a strided bias as if it were dense (found by FuzzTest)
            Tensor bias = in.size() == 3 ? DnnlReorder.materialize(b, in.get(2), tmp) : null;
            long[] wd = w.shape().toArray();
            int g = op.groups();
            MemoryDesc wei = g == 1 ? MemoryDesc.of(w)
                    : MemoryDesc.contiguous(w.dtype(), g, wd[0] / g, wd[1], wd[2], wd[3]);
            Hw pad = op.padding();
            if (someOutputSeesOnlyPadding(x, wd[2], wd[3], y, op.stride(), op.dilation(), pad)) {
                x = padded(x, pad, tmp);
                pad = new Hw(0, 0);
            }
            run(b, op, "conv", x, w, wei, bias, y, op.stride(), op.dilation(), pad, pad, true);
        }
    }

    /**
     * Whether an output position's kernel taps all fall into the padding along some axis (a stride or
     * dilation that steps over a narrow input). oneDNN 3.13's brgemm convolution crashes the process on
     * such shapes (bf16, 3x3 dilated kernel on a 7x1 input, stride 2, padding 1; found by FuzzTest), so
     * those run on an explicitly padded copy of the input with no padding.
     */
    static boolean someOutputSeesOnlyPadding(Tensor x, long kh, long kw, Tensor y, Hw stride, Hw dilation, Hw pad) {
        long[] in = {x.shape().dim(2), x.shape().dim(3)};
        long[] out = {y.shape().dim(2), y.shape().dim(3)};
        long[] k = {kh, kw};
        int[] s = {stride.h(), stride.w()};
        int[] d = {dilation.h(), dilation.w()};
        int[] p = {pad.h(), pad.w()};
        for (int a = 0; a < 2; a++) {
            if (p[a] == 0) {
                continue;
            }
            for (long o = 0; o < out[a]; o++) {
                boolean seesInput = false;
                for (long j = 0; j < k[a] && !seesInput; j++) {
                    long at = o * s[a] + j * d[a] - p[a];
                    seesInput = at >= 0 && at < in[a];
                }
                if (!seesInput) {
                    return true;
                }
            }
        }
        return false;
    }

    /** {@code x} inside a zero border of {@code pad} on each side of both spatial axes. */
    static Tensor padded(Tensor x, Hw pad, Arena tmp) {
        long[] d = x.shape().toArray();
        Tensor p = Tensor.zeros(tmp, x.dtype(), d[0], d[1], d[2] + 2L * pad.h(), d[3] + 2L * pad.w());
        p.slice(2, pad.h(), pad.h() + d[2]).slice(3, pad.w(), pad.w() + d[3]).copyFrom(x);
        return p;
    }

    static void deconv(CpuBackend b, ConvTranspose2d op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            Tensor w = DnnlReorder.materialize(b, in.get(1), tmp);
            // contiguous: oneDNN's convolution kernels read a strided bias as if it were dense (found by FuzzTest)
            Tensor bias = in.size() == 3 ? DnnlReorder.materialize(b, in.get(2), tmp) : null;
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
            if (bias != null && bias.dtype() == DType.BF16) {
                // oneDNN 3.13's bf16 deconvolution adds a bf16 bias wrongly (off by up to 1.6 on unit data; found by
                // FuzzTest): add it afterwards with a binary primitive
                run(b, op, "deconv", x, w, wei, null, y, op.stride(), op.dilation(), op.padding(), padR, false);
                DnnlBinary.execute(b, new Binary(Binary.Kind.ADD), List.of(y, bias.reshape(1, bias.size(), 1, 1)), List.of(y));
                return;
            }
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
            Hw padding = op.padding();
            if (someOutputSeesOnlyPadding(x, wd[2], wd[3], g, op.stride(), op.dilation(), padding)) {
                x = padded(x, padding, tmp); // see conv(): the same shapes crash the backward-weights kernel's forward hint
                padding = new Hw(0, 0);
            }
            Geometry geo = singleOutputUnstrided(x, wd[2], wd[3], g, op.stride(), op.dilation(), padding, padding);
            x = geo.x();
            Hw pads = padding;
            int groups = op.groups();
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc diffDst = MemoryDesc.of(g);
            boolean nhwc = channelsLast(x) && channelsLast(g);
            MemoryDesc diffWei = groups == 1 ? MemoryDesc.of(dw)
                    : MemoryDesc.contiguous(dw.dtype(), groups, wd[0] / groups, wd[1], wd[2], wd[3]);
            Primitive p = b.primitive(op, "bwd_weights", List.of(src, diffDst, diffWei), () -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    MemorySegment strides = s.dims(geo.stride().h(), geo.stride().w());
                    MemorySegment dil = s.dims(op.dilation().h() - 1, op.dilation().w() - 1);
                    MemorySegment pad = s.dims(pads.h(), pads.w());
                    MemorySegment padR = s.dims(geo.padR().h(), geo.padR().w());
                    MemorySegment engine = b.context().engine();
                    MemorySegment srcMd = nhwc ? s.md(src) : s.anyMd(src);
                    MemorySegment diffDstMd = nhwc ? s.md(diffDst) : s.anyMd(diffDst);
                    MemorySegment hint = Primitive.descriptor("dnnl_convolution_forward_primitive_desc_create",
                            (o, attr) -> dnnl_convolution_forward_primitive_desc_create(o, engine, dnnl_forward_training(),
                                    dnnl_convolution_direct(), srcMd, s.anyMd(diffWei), MemorySegment.NULL, diffDstMd,
                                    strides, dil, pad, padR, attr));
                    MemorySegment pd;
                    try {
                        pd = Primitive.descriptor("dnnl_convolution_backward_weights_primitive_desc_create",
                                (o, attr) -> dnnl_convolution_backward_weights_primitive_desc_create(o, engine,
                                        dnnl_convolution_direct(), srcMd, s.anyMd(diffWei), MemorySegment.NULL,
                                        diffDstMd, strides, dil, pad, padR, hint, attr));
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
        if (forwardConv) {
            Geometry geo = singleOutputUnstrided(x, w.shape().dim(2), w.shape().dim(3), y, stride, dilation, padL, padR);
            x = geo.x();
            stride = geo.stride();
            padR = geo.padR();
        }
        Hw finalStride = stride;
        Hw finalPadR = padR;
        MemoryDesc src = MemoryDesc.of(x);
        MemoryDesc dst = MemoryDesc.of(y);
        MemoryDesc bia = bias == null ? null : MemoryDesc.of(bias);
        List<MemoryDesc> layouts = bia == null ? List.of(src, wei, dst) : List.of(src, wei, dst, bia);
        // channels-last activations are given as they are: oneDNN's choice for "any" is blocked for some
        // (stride-1 transposed convolutions), which would cost a reorder in and out
        boolean nhwc = channelsLast(x) && channelsLast(y);
        Primitive p = b.primitive(op, variant, layouts, () -> {
            try (Primitive.Scope s = new Primitive.Scope()) {
                MemorySegment srcMd = nhwc ? s.md(src) : s.anyMd(src);
                MemorySegment dstMd = nhwc ? s.md(dst) : s.anyMd(dst);
                MemorySegment strides = s.dims(finalStride.h(), finalStride.w());
                MemorySegment dil = s.dims(dilation.h() - 1, dilation.w() - 1);
                MemorySegment pl = s.dims(padL.h(), padL.w());
                MemorySegment pr = s.dims(finalPadR.h(), finalPadR.w());
                MemorySegment engine = b.context().engine();
                MemorySegment pd = forwardConv
                        ? Primitive.descriptor("dnnl_convolution_forward_primitive_desc_create",
                                (o, attr) -> dnnl_convolution_forward_primitive_desc_create(o, engine, dnnl_forward_inference(),
                                        dnnl_convolution_direct(), srcMd, s.anyMd(wei), s.md(bia), dstMd, strides,
                                        dil, pl, pr, attr))
                        : Primitive.descriptor("dnnl_deconvolution_forward_primitive_desc_create",
                                (o, attr) -> dnnl_deconvolution_forward_primitive_desc_create(o, engine, dnnl_forward_inference(),
                                        dnnl_deconvolution_direct(), srcMd, s.anyMd(wei), s.md(bia), dstMd, strides,
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

    /** Whether {@code t} is a channels-last activation (4-D, dense, not row-major): see {@link CpuBackend#channelsLast}. */
    static boolean channelsLast(Tensor t) {
        return t.rank() == 4 && !t.isContiguous() && t.isDense();
    }

    /** What oneDNN is given for a forward convolution: the input (perhaps narrowed), strides and right padding. */
    private record Geometry(Tensor x, Hw stride, Hw padR) {
    }

    /**
     * An axis with a single output position and a stride above 1 gets stride 1, its input cut to the
     * positions that output reads and the right padding that still gives one position. oneDNN 3.13
     * computes such convolutions wrongly (a 3x3 kernel on a 4x1 input, stride (1, 2), padding 1: off by
     * 2.3; found by FuzzTest), and the stride of an axis with one output changes nothing.
     */
    private static Geometry singleOutputUnstrided(Tensor x, long kh, long kw, Tensor y, Hw stride, Hw dilation, Hw padL, Hw padR) {
        int[] st = {stride.h(), stride.w()};
        int[] pr = {padR.h(), padR.w()};
        long[] k = {kh, kw};
        int[] dil = {dilation.h(), dilation.w()};
        int[] pl = {padL.h(), padL.w()};
        Tensor v = x;
        for (int a = 0; a < 2; a++) {
            if (y.shape().dim(2 + a) != 1 || st[a] == 1) {
                continue;
            }
            long read = (k[a] - 1) * dil[a] + 1 - pl[a]; // input positions the one output covers, from the start
            long in = v.shape().dim(2 + a);
            if (read <= in) {
                v = v.slice(2 + a, 0, Math.max(read, 0));
                pr[a] = (int) Math.max(-read, 0);
            } else {
                pr[a] = (int) (read - in);
            }
            st[a] = 1;
        }
        return new Geometry(v, new Hw(st[0], st[1]), new Hw(pr[0], pr[1]));
    }
}

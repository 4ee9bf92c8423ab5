package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Transposed 2-D convolution (the adjoint of {@link Conv2d} in its data argument, as in PyTorch's
 * {@code conv_transpose2d}): {@code x [N, C, H, W]}, {@code w [C, O/groups, KH, KW]}, optional
 * {@code bias [O]}; result {@code [N, O, OH, OW]} with
 * {@code OH = (H - 1) stride.h - 2 padding.h + dilation.h (KH - 1) + outputPadding.h + 1}.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record ConvTranspose2d(Hw stride, Hw padding, Hw outputPadding, Hw dilation, int groups) implements Op {
    public ConvTranspose2d {
        Checks.positive(this, "stride", stride);
        Checks.nonNegative(this, "padding", padding);
        Checks.nonNegative(this, "outputPadding", outputPadding);
        Checks.positive(this, "dilation", dilation);
        if (groups <= 0) {
            throw new IllegalArgumentException("conv_transpose2d: groups must be > 0, got " + groups);
        }
        if (outputPadding.h() >= Math.max(stride.h(), dilation.h()) || outputPadding.w() >= Math.max(stride.w(), dilation.w())) {
            throw new IllegalArgumentException("conv_transpose2d: outputPadding " + outputPadding
                    + " must be smaller than stride " + stride + " or dilation " + dilation);
        }
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 3);
        var d = Checks.sameDType(this, in, "x", "weight", "bias");
        Checks.rank(this, "x", in.get(0), 4, 4);
        Checks.rank(this, "weight", in.get(1), 4, 4);
        Shape x = in.get(0).shape();
        Shape w = in.get(1).shape();
        Checks.kernel(this, w);
        if (x.dim(1) != w.dim(0)) {
            throw new IllegalArgumentException("conv_transpose2d: x " + x + " has " + x.dim(1) + " channels but weight "
                    + w + " expects " + w.dim(0));
        }
        if (w.dim(0) % groups != 0) {
            throw new IllegalArgumentException("conv_transpose2d: weight " + w + " has " + w.dim(0)
                    + " input channels, not divisible by groups " + groups);
        }
        long out = w.dim(1) * groups;
        if (in.size() == 3 && !in.get(2).shape().equals(Shape.of(out))) {
            throw new IllegalArgumentException("conv_transpose2d: bias must have shape [" + out + "], got " + in.get(2).shape());
        }
        long oh = (x.dim(2) - 1) * stride.h() - 2L * padding.h() + (long) dilation.h() * (w.dim(2) - 1) + outputPadding.h() + 1;
        long ow = (x.dim(3) - 1) * stride.w() - 2L * padding.w() + (long) dilation.w() * (w.dim(3) - 1) + outputPadding.w() + 1;
        if (oh <= 0 || ow <= 0) {
            throw new IllegalArgumentException("conv_transpose2d: padding " + padding + " leaves an empty output ("
                    + oh + " x " + ow + ") for x " + x + " and weight " + w);
        }
        return List.of(new TensorSpec(Shape.of(x.dim(0), out, oh, ow), d));
    }

    @Override
    public String name() {
        return "conv_transpose2d";
    }
}

package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * 2-D convolution (cross-correlation, as in PyTorch): {@code x [N, C, H, W]}, {@code w [O, C/groups, KH, KW]},
 * optional {@code bias [O]}; result {@code [N, O, OH, OW]} with
 * {@code OH = (H + 2 padding.h - dilation.h (KH - 1) - 1) / stride.h + 1}. Dilation 1 means none.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Conv2d(Hw stride, Hw padding, Hw dilation, int groups) implements Op {
    public Conv2d {
        Checks.positive(this, "stride", stride);
        Checks.nonNegative(this, "padding", padding);
        Checks.positive(this, "dilation", dilation);
        if (groups <= 0) {
            throw new IllegalArgumentException("conv2d: groups must be > 0, got " + groups);
        }
    }

    /** Stride 1, no padding, no dilation, one group. */
    public static Conv2d simple() {
        return new Conv2d(Hw.of(1), Hw.of(0), Hw.of(1), 1);
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
        if (w.dim(0) % groups != 0) {
            throw new IllegalArgumentException("conv2d: weight " + w + " has " + w.dim(0)
                    + " output channels, not divisible by groups " + groups);
        }
        if (x.dim(1) != w.dim(1) * groups) {
            throw new IllegalArgumentException("conv2d: x " + x + " has " + x.dim(1) + " channels but weight " + w
                    + " with groups " + groups + " expects " + w.dim(1) * groups);
        }
        if (in.size() == 3 && !in.get(2).shape().equals(Shape.of(w.dim(0)))) {
            throw new IllegalArgumentException("conv2d: bias must have shape [" + w.dim(0) + "], got " + in.get(2).shape());
        }
        long oh = outSize("height", x.dim(2), w.dim(2), stride.h(), padding.h(), dilation.h());
        long ow = outSize("width", x.dim(3), w.dim(3), stride.w(), padding.w(), dilation.w());
        return List.of(new TensorSpec(Shape.of(x.dim(0), w.dim(0), oh, ow), d));
    }

    private long outSize(String axis, long in, long k, int s, int p, int dil) {
        long span = dil * (k - 1) + 1;
        long padded = in + 2L * p;
        if (padded < span) {
            throw new IllegalArgumentException("conv2d: kernel " + axis + " " + k + " with dilation " + dil
                    + " spans " + span + " but the padded input " + axis + " is only " + padded);
        }
        return (padded - span) / s + 1;
    }

    /**
     * The output padding with which a transposed convolution of this one's result (shaped {@code output})
     * gives back an input of shape {@code input}: what makes it this convolution's exact adjoint.
     */
    public Hw adjointOutputPadding(Shape input, Shape output, Shape weight) {
        long h = input.dim(2) - ((output.dim(2) - 1) * stride.h() - 2L * padding.h() + (long) dilation.h() * (weight.dim(2) - 1) + 1);
        long w = input.dim(3) - ((output.dim(3) - 1) * stride.w() - 2L * padding.w() + (long) dilation.w() * (weight.dim(3) - 1) + 1);
        return new Hw((int) h, (int) w);
    }

    @Override
    public String name() {
        return "conv2d";
    }
}

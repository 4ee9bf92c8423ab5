package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * The gradient of {@link Conv2d} with respect to its weights: inputs {@code x [N, C, H, W]} and the
 * output cotangent {@code g [N, O, OH, OW]}; result {@code [O, C/groups, kernel.h, kernel.w]} with
 * {@code dw[o,c,p,q] = sum_{n,i,j} g[n,o,i,j] x[n, group(o) C/groups + c, i s - pad + p dil, j s - pad + q dil]}.
 * It is bilinear in (x, g), and oneDNN's convolution backward-weights.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Conv2dWeightGrad(Hw stride, Hw padding, Hw dilation, int groups, Hw kernel) implements Op {
    public Conv2dWeightGrad {
        new Conv2d(stride, padding, dilation, groups); // the same parameter checks
        Checks.positive("conv2d_weight_grad", "kernel", kernel);
    }

    /** The forward convolution whose weight gradient this is. */
    public Conv2d forward() {
        return new Conv2d(stride, padding, dilation, groups);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        var d = Checks.sameDType(this, in, "x", "g");
        Checks.rank(this, "x", in.get(0), 4, 4);
        Checks.rank(this, "g", in.get(1), 4, 4);
        Shape x = in.get(0).shape();
        Shape g = in.get(1).shape();
        if (x.dim(1) % groups != 0 || g.dim(1) % groups != 0) {
            throw new IllegalArgumentException(name() + ": channels of x " + x + " and g " + g + " must be divisible by groups " + groups);
        }
        TensorSpec w = new TensorSpec(Shape.of(g.dim(1), x.dim(1) / groups, kernel.h(), kernel.w()), d);
        Shape expected = forward().infer(List.of(in.get(0), w)).get(0).shape();
        if (!expected.equals(g)) {
            throw new IllegalArgumentException(name() + ": g " + g + " is not the output shape " + expected
                    + " of the convolution of x " + x + " with a " + kernel + " kernel");
        }
        return List.of(w);
    }

    @Override
    public String name() {
        return "conv2d_weight_grad";
    }
}

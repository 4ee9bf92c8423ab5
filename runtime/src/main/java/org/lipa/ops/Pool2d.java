package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * 2-D max or average pooling of {@code x [N, C, H, W]} with symmetric zero padding (PyTorch's
 * {@code max_pool2d} / {@code avg_pool2d}, floor mode). Output size as for {@link Conv2d} without dilation.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Pool2d(Kind kind, Hw kernel, Hw stride, Hw padding) implements Op {
    /** Max, average counting padded zeros ({@code count_include_pad=True}), or average over real elements. */
    public enum Kind { MAX, AVG_INCLUDE_PAD, AVG_EXCLUDE_PAD }

    public Pool2d {
        java.util.Objects.requireNonNull(kind, "kind");
        // not name(): in a compact constructor it would read the field kind, which is not assigned yet
        String name = nameOf(kind);
        Checks.positive(name, "kernel", kernel);
        Checks.positive(name, "stride", stride);
        Checks.nonNegative(name, "padding", padding);
        if (2L * padding.h() > kernel.h() || 2L * padding.w() > kernel.w()) {
            throw new IllegalArgumentException(name + ": padding " + padding + " must be at most half the kernel " + kernel);
        }
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        Checks.rank(this, "x", in.get(0), 4, 4);
        Shape x = in.get(0).shape();
        long oh = x.dim(2) + 2L * padding.h() - kernel.h();
        long ow = x.dim(3) + 2L * padding.w() - kernel.w();
        if (oh < 0 || ow < 0) {
            throw new IllegalArgumentException(name() + ": kernel " + kernel + " is larger than the padded input of x " + x);
        }
        return List.of(new TensorSpec(Shape.of(x.dim(0), x.dim(1), oh / stride.h() + 1, ow / stride.w() + 1),
                in.get(0).dtype()));
    }

    @Override
    public String name() {
        return nameOf(kind);
    }

    private static String nameOf(Kind kind) {
        return kind == Kind.MAX ? "max_pool2d" : "avg_pool2d";
    }
}

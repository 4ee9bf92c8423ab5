package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * The derivative of an {@link Eltwise} function times a cotangent: {@code f'(x) * g} for inputs
 * {@code x} and {@code g} of one shape. Reverse-mode rules emit it (it is oneDNN's eltwise backward),
 * and so does forward mode, since {@code f'(x) * xDot} is the same product.
 *
 * <p>Where f is not differentiable the value is the one oneDNN and PyTorch use: relu'(0) = alpha
 * (0 for plain relu), |x|' at 0 is 0, clip' is 1 strictly inside (lo, hi) and 0 elsewhere.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record EltwiseGrad(Eltwise.Kind kind, double alpha, double beta) implements Op {
    public EltwiseGrad {
        new Eltwise(kind, alpha, beta); // the same parameter checks
    }

    /** The gradient op of {@code f}. */
    public static EltwiseGrad of(Eltwise f) {
        return new EltwiseGrad(f.kind(), f.alpha(), f.beta());
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 2);
        Checks.sameDType(this, in, "x", "g");
        if (!in.get(0).shape().equals(in.get(1).shape())) {
            throw new IllegalArgumentException(name() + ": x " + in.get(0).shape() + " and g " + in.get(1).shape()
                    + " must have the same shape");
        }
        return List.of(in.get(0));
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT) + "_grad";
    }
}

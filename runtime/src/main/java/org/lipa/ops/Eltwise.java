package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * An elementwise function of one tensor, with up to two scalar parameters whose meaning the kind gives.
 *
 * @param kind  which function
 * @param alpha first parameter (see {@link Kind})
 * @param beta  second parameter (see {@link Kind})
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Eltwise(Kind kind, double alpha, double beta) implements Op {
    /** The functions; parameters unused by a kind must be 0. */
    public enum Kind {
        /** max(x, 0) + alpha min(x, 0): alpha 0 is relu, alpha > 0 leaky relu. */
        RELU,
        /** x Phi(x) with the tanh approximation. */
        GELU_TANH,
        /** x Phi(x), exact (erf). */
        GELU_ERF,
        TANH,
        /** 1 / (1 + exp(-x)). */
        SIGMOID,
        /** x if x > 0 else alpha (exp(x) - 1). */
        ELU,
        /** log(1 + exp(alpha x)) / alpha (alpha > 0; PyTorch's beta). */
        SOFTPLUS,
        /** x sigmoid(alpha x) (alpha 1 is SiLU). */
        SWISH,
        EXP,
        /** natural log; x <= 0 gives -inf or NaN as in IEEE. */
        LOG,
        SQRT,
        SQUARE,
        ABS,
        /** min(max(x, alpha), beta). */
        CLIP,
        /** alpha x + beta. */
        LINEAR
    }

    public Eltwise {
        java.util.Objects.requireNonNull(kind, "kind");
        if (Double.isNaN(alpha) || Double.isNaN(beta)) {
            throw new IllegalArgumentException(kind.name().toLowerCase(java.util.Locale.ROOT) + ": parameters must not be NaN, got alpha="
                    + alpha + ", beta=" + beta);
        }
        switch (kind) {
            case SOFTPLUS -> Checks.finitePositive("softplus", "beta", alpha);
            case CLIP -> {
                if (alpha > beta) {
                    throw new IllegalArgumentException("clip: lower bound " + alpha + " is above upper bound " + beta);
                }
            }
            case ELU, RELU, SWISH, LINEAR -> {
                if (Double.isInfinite(alpha) || Double.isInfinite(beta)) {
                    throw new IllegalArgumentException(kind.name().toLowerCase(java.util.Locale.ROOT) + ": parameters must be finite, got alpha="
                            + alpha + ", beta=" + beta);
                }
            }
            default -> {
            }
        }
    }

    /** The kind with no parameters. */
    public static Eltwise of(Kind kind) {
        return new Eltwise(kind, 0, 0);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        return List.of(in.get(0));
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}

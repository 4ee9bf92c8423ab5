package org.lipa.models.nn;

import java.util.Map;
import org.lipa.analysis.Nonlinearity;
import org.lipa.ops.Ops;

/**
 * A parameter-free elementwise nonlinearity.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public enum Activation implements Module {
    RELU, TANH, GELU, SIGMOID;

    @Override
    public Map<String, org.lipa.tensor.Tensor> parameters() {
        return Map.of();
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> params, T x) {
        return switch (this) {
            case RELU -> ops.relu(x);
            case TANH -> ops.tanh(x);
            case GELU -> ops.gelu(x, false);
            case SIGMOID -> ops.sigmoid(x);
        };
    }

    /** The same function as the Lipschitz analyses see it, with its slope interval. */
    public Nonlinearity nonlinearity() {
        return switch (this) {
            case RELU -> Nonlinearity.RELU;
            case TANH -> Nonlinearity.TANH;
            case GELU -> Nonlinearity.GELU;
            case SIGMOID -> Nonlinearity.SIGMOID;
        };
    }

    /** The Lipschitz constant of the function (for bounds, rounded up): 1, except sigmoid's 1/4 and GELU's 1.1289... */
    public double lipschitz() {
        return nonlinearity().lipschitz();
    }
}

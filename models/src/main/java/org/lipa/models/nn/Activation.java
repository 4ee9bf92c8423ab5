package org.lipa.models.nn;

import java.util.Map;
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

    /** The Lipschitz constant of the function (for bounds): 1, except sigmoid's 1/4 and GELU's about 1.13. */
    public double lipschitz() {
        return switch (this) {
            case RELU, TANH -> 1;
            case SIGMOID -> 0.25;
            case GELU -> 1.1289;
        };
    }
}

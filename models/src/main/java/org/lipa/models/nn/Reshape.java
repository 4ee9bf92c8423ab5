package org.lipa.models.nn;

import java.util.Map;
import org.lipa.ops.Hw;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * Parameter-free shape and pooling layers.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public sealed interface Reshape extends Module {
    @Override
    default Map<String, Tensor> parameters() {
        return Map.of();
    }

    /** {@code [N, ...] -> [N, rest]}. */
    record Flatten() implements Reshape {
        @Override
        public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
            return ops.reshape(x, ops.shape(x).dim(0), -1);
        }
    }

    /** Max pooling with a square window. */
    record MaxPool(int kernel, int stride) implements Reshape {
        @Override
        public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
            return ops.maxPool2d(x, Hw.of(kernel), Hw.of(stride), Hw.of(0));
        }
    }

    /** Average over the spatial dims: {@code [N, C, H, W] -> [N, C]}. */
    record GlobalAvgPool() implements Reshape {
        @Override
        public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
            return ops.mean(x, false, 2, 3);
        }
    }
}

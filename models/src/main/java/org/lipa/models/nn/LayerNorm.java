package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Layer normalization over the trailing {@code shape} with learnable {@code weight} (ones) and {@code bias} (zeros).
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class LayerNorm implements Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final double eps;

    public LayerNorm(Arena arena, double eps, long... shape) {
        params.put("weight", Tensor.full(arena, DType.F32, Shape.of(shape), 1));
        params.put("bias", Tensor.zeros(arena, DType.F32, Shape.of(shape)));
        this.eps = eps;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
        return ops.layerNorm(x, p.get("weight"), p.get("bias"), eps);
    }
}

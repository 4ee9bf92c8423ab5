package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.lipa.models.init.Init;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A lookup table {@code weight [vocab, dim]} (normal(0, 1) as in PyTorch), applied to one-hot tokens
 * {@code [..., vocab]}: the lookup is a matmul, so it is differentiable like any other layer and runs on
 * the same kernels (Lipa's tensors hold floating-point values only).
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Embedding implements Module {
    private final Map<String, Tensor> params;

    public Embedding(Arena arena, Random rnd, int vocab, int dim) {
        if (vocab <= 0 || dim <= 0) {
            throw new IllegalArgumentException("embedding: vocab and dim must be > 0, got " + vocab + ", " + dim);
        }
        params = Map.of("weight", Tensor.of(arena, Init.normal(rnd, 1, vocab, dim), vocab, dim));
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T oneHot) {
        return ops.matmul(oneHot, s.get("weight"));
    }
}

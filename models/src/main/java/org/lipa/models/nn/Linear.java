package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.lipa.models.init.Init;
import org.lipa.ops.Ops;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * {@code y = x W^T + b} with {@code weight [out, in]} and {@code bias [out]}, initialized as PyTorch does
 * by default: uniform on {@code [-1/sqrt(in), 1/sqrt(in))} for both.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Linear implements LinearModule {
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    public Linear(Arena arena, Random rnd, int in, int out, boolean bias) {
        if (in <= 0 || out <= 0) {
            throw new IllegalArgumentException("linear: in and out must be > 0, got " + in + ", " + out);
        }
        double bound = 1 / Math.sqrt(in);
        params.put("weight", Tensor.of(arena, Init.uniform(rnd, bound, out, in), out, in));
        if (bias) {
            params.put("bias", Tensor.of(arena, Init.uniform(rnd, bound, out), out));
        }
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
        return ops.linear(x, p.get("weight"), p.get("bias"));
    }

    @Override
    public <T> T operator(Ops<T> ops, T w, T x) {
        return ops.linear(x, w, null);
    }

    @Override
    public <T> T adjoint(Ops<T> ops, T w, T y, Shape xShape) {
        return ops.matmul(y, w);
    }
}

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
 * Spectral normalization (Miyato et al., 2018): the layer runs with {@code w / sigma}, {@code sigma} the
 * largest singular value of the layer's linear map, estimated by power iteration on a vector kept as the
 * buffer {@code weight_u}. Unlike PyTorch's {@code spectral_norm}, which takes the norm of a convolution
 * kernel reshaped to a matrix, the iteration runs on the convolution operator itself (a convolution and its
 * transpose on an input of the given shape), so {@code sigma} is the true operator norm the layer's
 * Lipschitz constant depends on (Gouk et al., 2021). Parameters: {@code weight_orig} and the layer's others.
 *
 * <p>Each training forward uses the vector from the previous step ({@code sigma = ||A u||}, {@code u} a
 * unit vector, held constant as PyTorch detaches it) and then stores {@code A^T A u / ||A^T A u||}; in
 * evaluation mode the vector is not updated. {@link #warmUp} runs extra iterations, as after loading.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class SpectralNorm implements LinearModule {
    private final LinearModule inner;
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Shape inputShape;
    private boolean training = true;

    /**
     * @param inputShape the shape of one input, batch dimension 1: {@code [1, in]} for a linear layer,
     *                   {@code [1, C, H, W]} for a convolution
     */
    public SpectralNorm(Arena arena, Random rnd, LinearModule inner, Shape inputShape) {
        this.inner = inner;
        Tensor w = WeightNorm.requireWeight(inner, "spectral_norm");
        if (inputShape.rank() < 2 || inputShape.dim(0) != 1) {
            throw new IllegalArgumentException("spectral_norm: inputShape must be [1, ...], got " + inputShape);
        }
        this.inputShape = inputShape;
        params.put("weight_orig", w);
        inner.parameters().forEach((k, t) -> {
            if (!k.equals("weight")) {
                params.put(k, t);
            }
        });
        double[] u = toDouble(Init.normal(rnd, 1, inputShape.size()));
        double norm = Math.sqrt(java.util.Arrays.stream(u).map(a -> a * a).sum());
        Tensor ut = Tensor.zeros(arena, w.dtype(), inputShape);
        ut.copyFrom(java.util.Arrays.stream(u).map(a -> a / norm).toArray());
        buffers.put("weight_u", ut);
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public Map<String, Tensor> buffers() {
        return buffers;
    }

    @Override
    public java.util.List<Module> children() {
        return java.util.List.of(inner);
    }

    @Override
    public Module train(boolean on) {
        training = on;
        return this;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        T w = s.get("weight_orig");
        T u = s.get("weight_u");
        T au = inner.operator(ops, w, u);
        T sigma = ops.norm(au, false);
        if (training) {
            T next = inner.adjoint(ops, w, au, inputShape);
            s.put("weight_u", ops.div(next, ops.norm(next, false)));
        }
        Map<String, T> in = new LinkedHashMap<>(s);
        in.remove("weight_orig");
        in.remove("weight_u");
        in.put("weight", ops.div(w, sigma));
        return inner.forward(ops, in, x);
    }

    /** Runs {@code steps} power iterations on the current weight, eagerly, updating {@code weight_u}; returns sigma. */
    public double warmUp(org.lipa.eval.Eager ops, int steps) {
        Tensor w = params.get("weight_orig");
        Tensor u = buffers.get("weight_u");
        double sigma = 0;
        for (int i = 0; i < steps; i++) {
            Tensor au = inner.operator(ops, w, u);
            sigma = ops.norm(au, false).item();
            Tensor next = inner.adjoint(ops, w, au, inputShape);
            u.copyFrom(ops.div(next, ops.norm(next, false)));
        }
        return sigma;
    }

    @Override
    public <T> T operator(Ops<T> ops, T w, T x) {
        return inner.operator(ops, w, x);
    }

    @Override
    public <T> T adjoint(Ops<T> ops, T w, T y, Shape xShape) {
        return inner.adjoint(ops, w, y, xShape);
    }
}

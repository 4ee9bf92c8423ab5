package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Batch normalization over channel dimension 1 of {@code [N, C]} or {@code [N, C, H, W]} inputs, as
 * PyTorch's {@code BatchNorm1d}/{@code BatchNorm2d}: learnable {@code weight} (ones) and {@code bias}
 * (zeros); buffers {@code running_mean} (zeros) and {@code running_var} (ones). In training mode the
 * batch's statistics normalize and the running ones move toward them by {@code momentum}, the variance
 * unbiased ({@code n / (n - 1)}) as PyTorch does; in evaluation mode the running statistics normalize.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class BatchNorm implements Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final double eps;
    private final double momentum;
    private boolean training = true;

    public BatchNorm(Arena arena, int channels, double eps, double momentum) {
        if (channels <= 0 || !(momentum >= 0 && momentum <= 1)) {
            throw new IllegalArgumentException("batch_norm: channels must be > 0 and momentum in [0, 1], got " + channels + ", "
                    + momentum);
        }
        Shape c = Shape.of(channels);
        params.put("weight", Tensor.full(arena, DType.F32, c, 1));
        params.put("bias", Tensor.zeros(arena, DType.F32, c));
        buffers.put("running_mean", Tensor.zeros(arena, DType.F32, c));
        buffers.put("running_var", Tensor.full(arena, DType.F32, c, 1));
        this.eps = eps;
        this.momentum = momentum;
    }

    /** PyTorch's defaults: eps 1e-5, momentum 0.1. */
    public BatchNorm(Arena arena, int channels) {
        this(arena, channels, 1e-5, 0.1);
    }

    /** The variance floor in {@code (x - mean) / sqrt(var + eps)}. */
    public double eps() {
        return eps;
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
    public Module train(boolean on) {
        training = on;
        return this;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        if (!training) {
            return ops.batchNormInference(x, s.get("weight"), s.get("bias"), s.get("running_mean"), s.get("running_var"), eps);
        }
        List<T> r = ops.batchNormTraining(x, s.get("weight"), s.get("bias"), eps);
        Shape xs = ops.shape(x);
        double n = (double) xs.size() / xs.dim(1);
        double unbias = n > 1 ? n / (n - 1) : 1;
        s.put("running_mean", ops.add(ops.scale(s.get("running_mean"), 1 - momentum), ops.scale(r.get(1), momentum)));
        s.put("running_var", ops.add(ops.scale(s.get("running_var"), 1 - momentum), ops.scale(r.get(2), momentum * unbias)));
        return r.get(0);
    }
}

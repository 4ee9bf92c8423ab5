package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.lipa.models.init.Init;
import org.lipa.ops.Hw;
import org.lipa.ops.Ops;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * 2-D convolution with {@code weight [out, in/groups, k, k]} and {@code bias [out]}, initialized as PyTorch
 * does by default: uniform on {@code [-1/sqrt(fanIn), 1/sqrt(fanIn))}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Conv2d implements LinearModule {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Hw stride;
    private final Hw padding;
    private final Hw dilation;
    private final int groups;

    public Conv2d(Arena arena, Random rnd, int in, int out, int kernel, int stride, int padding, int groups, boolean bias) {
        if (in <= 0 || out <= 0 || kernel <= 0 || groups <= 0 || in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("conv2d: in " + in + " and out " + out + " must be positive multiples of groups "
                    + groups + ", kernel " + kernel + " positive");
        }
        long fanIn = (long) in / groups * kernel * kernel;
        double bound = 1 / Math.sqrt(fanIn);
        params.put("weight", Tensor.of(arena, Init.uniform(rnd, bound, out, in / groups, kernel, kernel), out, in / groups, kernel, kernel));
        if (bias) {
            params.put("bias", Tensor.of(arena, Init.uniform(rnd, bound, out), out));
        }
        this.stride = Hw.of(stride);
        this.padding = Hw.of(padding);
        this.dilation = Hw.of(1);
        this.groups = groups;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    /** Its geometry as the runtime's op: stride, padding, dilation, groups. */
    public org.lipa.ops.Conv2d op() {
        return new org.lipa.ops.Conv2d(stride, padding, dilation, groups);
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
        return ops.conv2d(x, p.get("weight"), p.get("bias"), stride, padding, dilation, groups);
    }

    @Override
    public <T> T operator(Ops<T> ops, T w, T x) {
        return ops.conv2d(x, w, null, stride, padding, dilation, groups);
    }

    /** The transposed convolution with the output padding that restores {@code xShape} exactly. */
    @Override
    public <T> T adjoint(Ops<T> ops, T w, T y, Shape xShape) {
        Hw outputPadding = new org.lipa.ops.Conv2d(stride, padding, dilation, groups)
                .adjointOutputPadding(xShape, ops.shape(y), ops.shape(w));
        return ops.convTranspose2d(y, w, null, stride, padding, outputPadding, dilation, groups);
    }
}

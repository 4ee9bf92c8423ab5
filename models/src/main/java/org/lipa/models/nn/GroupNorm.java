package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Group normalization of {@code [N, C, ...]} over {@code groups} channel groups, with learnable {@code weight} and {@code bias} per channel.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class GroupNorm implements Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final int groups;
    private final double eps;

    public GroupNorm(Arena arena, int groups, int channels, double eps) {
        if (groups <= 0 || channels <= 0 || channels % groups != 0) {
            throw new IllegalArgumentException("group_norm: channels " + channels + " must be a positive multiple of groups " + groups);
        }
        params.put("weight", Tensor.full(arena, DType.F32, Shape.of(channels), 1));
        params.put("bias", Tensor.zeros(arena, DType.F32, Shape.of(channels)));
        this.groups = groups;
        this.eps = eps;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        return ops.groupNorm(x, groups, s.get("weight"), s.get("bias"), eps);
    }
}

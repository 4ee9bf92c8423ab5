package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Group normalization of {@code x [N, C, ...]}: channels split into {@code groups} groups, each
 * normalized over its channels and spatial positions, then scaled by {@code gamma [C]} and shifted by
 * {@code beta [C]}. Outputs {@code y}, {@code mean [N, groups]} and the biased {@code variance [N, groups]}.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record GroupNorm(int groups, double eps) implements Op {
    public GroupNorm {
        if (groups <= 0) {
            throw new IllegalArgumentException("group_norm: groups must be > 0, got " + groups);
        }
        Checks.finitePositive("group_norm", "eps", eps);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 3, 3);
        var d = Checks.sameDType(this, in, "x", "gamma", "beta");
        Checks.rank(this, "x", in.get(0), 2, 5);
        Shape x = in.get(0).shape();
        if (x.dim(1) % groups != 0) {
            throw new IllegalArgumentException("group_norm: x " + x + " has " + x.dim(1)
                    + " channels, not divisible by groups " + groups);
        }
        Shape c = Shape.of(x.dim(1));
        for (int i = 1; i < 3; i++) {
            if (!in.get(i).shape().equals(c)) {
                throw new IllegalArgumentException("group_norm: " + (i == 1 ? "gamma" : "beta") + " must have shape " + c
                        + ", got " + in.get(i).shape());
            }
        }
        Shape stats = Shape.of(x.dim(0), groups);
        return List.of(in.get(0), new TensorSpec(stats, d), new TensorSpec(stats, d));
    }

    @Override
    public String name() {
        return "group_norm";
    }
}

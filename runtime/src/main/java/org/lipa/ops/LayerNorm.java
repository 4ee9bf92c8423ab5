package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Layer normalization over the last {@code normalizedRank} dimensions:
 * {@code y = (x - mean) / sqrt(var + eps) * gamma + beta}, with the biased variance.
 * Inputs: {@code x}, optionally {@code gamma} and {@code beta}, both shaped like the normalized dimensions.
 * Outputs: {@code y}, and the {@code mean} and {@code variance} over the normalized dimensions
 * (shaped like the leading dimensions), which the backward pass reuses.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record LayerNorm(int normalizedRank, double eps) implements Op {
    public LayerNorm {
        if (normalizedRank < 1) {
            throw new IllegalArgumentException("layer_norm: normalizedRank must be >= 1, got " + normalizedRank);
        }
        Checks.finitePositive("layer_norm", "eps", eps);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        if (in.size() != 1 && in.size() != 3) {
            throw new IllegalArgumentException("layer_norm takes x, or x, gamma and beta; got " + in.size() + " inputs");
        }
        var d = Checks.sameDType(this, in, "x", "gamma", "beta");
        Shape x = in.get(0).shape();
        if (x.rank() < normalizedRank) {
            throw new IllegalArgumentException("layer_norm: x " + x + " has fewer than " + normalizedRank + " dimensions");
        }
        Shape normalized = x.sub(x.rank() - normalizedRank, x.rank());
        for (int i = 1; i < in.size(); i++) {
            if (!in.get(i).shape().equals(normalized)) {
                throw new IllegalArgumentException("layer_norm: " + (i == 1 ? "gamma" : "beta") + " must have shape "
                        + normalized + ", got " + in.get(i).shape());
            }
        }
        Shape stats = x.sub(0, x.rank() - normalizedRank);
        return List.of(in.get(0), new TensorSpec(stats, d), new TensorSpec(stats, d));
    }

    @Override
    public String name() {
        return "layer_norm";
    }
}

package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Batch normalization over every dimension but the channel dimension 1 of {@code x [N, C, ...]}.
 *
 * <p>Training: inputs {@code x, gamma, beta}; outputs {@code y}, the batch {@code mean [C]} and the
 * biased batch {@code variance [C]} (the caller updates running statistics).
 * Inference: inputs {@code x, gamma, beta, runningMean, runningVar}; output {@code y}.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record BatchNorm(double eps, boolean training) implements Op {
    public BatchNorm {
        Checks.finitePositive("batch_norm", "eps", eps);
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        int n = training ? 3 : 5;
        Checks.arity(this, in, n, n);
        var d = Checks.sameDType(this, in, "x", "gamma", "beta", "runningMean", "runningVar");
        Checks.rank(this, "x", in.get(0), 2, 5);
        Shape x = in.get(0).shape();
        Shape c = Shape.of(x.dim(1));
        String[] names = {"x", "gamma", "beta", "runningMean", "runningVar"};
        for (int i = 1; i < n; i++) {
            if (!in.get(i).shape().equals(c)) {
                throw new IllegalArgumentException("batch_norm: " + names[i] + " must have shape " + c + ", got "
                        + in.get(i).shape());
            }
        }
        if (training) {
            return List.of(in.get(0), new TensorSpec(c, d), new TensorSpec(c, d));
        }
        return List.of(in.get(0));
    }

    @Override
    public String name() {
        return training ? "batch_norm(training)" : "batch_norm(inference)";
    }
}

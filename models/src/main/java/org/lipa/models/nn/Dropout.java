package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.ops.RandomSample;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Dropout (Srivastava et al., 2014) and, with {@code perSample}, DropPath, the stochastic depth of
 * residual branches (Huang et al., 2016): in training mode each element (or each example's whole
 * branch) is zeroed with probability {@code p} and the rest scaled by {@code 1 / (1 - p)}; in evaluation
 * mode the identity. Masks are drawn from the {@link Module#RNG_KEY} buffer, which each training forward
 * advances, so a traced training step draws a fresh mask per run and a checkpoint resumes the stream.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Dropout implements Module {
    private final Map<String, Tensor> buffers;
    private final double p;
    private final boolean perSample;
    private boolean training = true;

    /** Element-wise dropout with its own random stream {@code seed}. */
    public static Dropout dropout(Arena arena, double p, long seed) {
        return new Dropout(arena, p, seed, false);
    }

    /** DropPath: a whole example of a residual branch is dropped at once. */
    public static Dropout dropPath(Arena arena, double p, long seed) {
        return new Dropout(arena, p, seed, true);
    }

    private Dropout(Arena arena, double p, long seed, boolean perSample) {
        if (!(p >= 0 && p < 1)) {
            throw new IllegalArgumentException("dropout: p must be in [0, 1), got " + p);
        }
        if (Math.abs(seed) > (1L << 52)) {
            throw new IllegalArgumentException("dropout: seed must be at most 2^52 in magnitude, got " + seed);
        }
        Tensor key = Tensor.zeros(arena, RandomSample.KEY.dtype(), RandomSample.KEY.shape());
        key.copyFrom(new double[] {seed});
        this.buffers = Map.of(RNG_KEY, key);
        this.p = p;
        this.perSample = perSample;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return Map.of();
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
        if (!training || p == 0) {
            return x;
        }
        TensorSpec xs = ops.spec(x);
        Shape maskShape = xs.shape();
        if (perSample) {
            long[] dims = new long[xs.shape().rank()];
            java.util.Arrays.fill(dims, 1);
            dims[0] = xs.shape().dim(0);
            maskShape = Shape.of(dims);
        }
        var r = ops.random(s.get(RNG_KEY), RandomSample.Distribution.BERNOULLI, 1 - p, new TensorSpec(maskShape, xs.dtype()));
        s.put(RNG_KEY, r.get(1));
        return ops.mul(x, ops.scale(r.get(0), 1 / (1 - p)));
    }
}

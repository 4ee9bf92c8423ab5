package org.lipa.ops;

import java.util.List;
import java.util.Objects;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Random numbers as a pure function of a key, as in JAX: input a {@code key} (an f64 scalar holding an
 * integer), outputs a sample of {@code spec} and the next key ({@code key + 1}). The same key gives the
 * same sample on every backend, so a traced graph that draws dropout masks stays deterministic, can be
 * replayed, checkpointed (the key is state) and checked against the reference backend bit for bit.
 *
 * <p>Element {@code i} comes from SplitMix64 of the key's mixed value plus {@code i}: a counter-based
 * generator, so a kernel can fill any slice independently. Uniform draws are in {@code [0, 1)} with 53
 * random bits; normal draws use Box-Muller on two uniforms; Bernoulli draws are 1 with probability
 * {@code p}, else 0. The sample has no derivative with respect to anything.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record RandomSample(Distribution distribution, double p, TensorSpec spec) implements Op {
    /** What is drawn. */
    public enum Distribution { UNIFORM, NORMAL, BERNOULLI }

    /** The key's spec: an f64 scalar, exact for integers up to 2^53. */
    public static final TensorSpec KEY = new TensorSpec(Shape.of(), DType.F64);

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    public RandomSample {
        Objects.requireNonNull(distribution, "distribution");
        Objects.requireNonNull(spec, "spec");
        if (distribution == Distribution.BERNOULLI && !(p >= 0 && p <= 1)) {
            throw new IllegalArgumentException("random: bernoulli probability p must be in [0, 1], got " + p);
        }
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        if (!in.get(0).equals(KEY)) {
            throw new IllegalArgumentException("random: key must be " + KEY + ", got " + in.get(0));
        }
        return List.of(spec, KEY);
    }

    @Override
    public String name() {
        return "random(" + distribution.name().toLowerCase(java.util.Locale.ROOT) + ")";
    }

    /** Writes the sample for {@code key} into {@code out} and the next key into {@code nextKey}: the one kernel, shared by the backends. */
    public void fill(Tensor key, Tensor out, Tensor nextKey) {
        double k = key.item();
        if (k != Math.rint(k) || Math.abs(k) > 0x1p53) {
            throw new IllegalArgumentException("random: key must hold an integer of magnitude <= 2^53, got " + k);
        }
        long stream = mix((long) k * GOLDEN);
        double[] v = new double[Math.toIntExact(out.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = switch (distribution) {
                case UNIFORM -> uniform(stream, i);
                case BERNOULLI -> uniform(stream, i) < p ? 1 : 0;
                case NORMAL -> {
                    // Box-Muller on draws 2i and 2i+1; 1 - u keeps the logarithm's argument in (0, 1]
                    double u1 = 1 - uniform(stream, 2L * i);
                    double u2 = uniform(stream, 2L * i + 1);
                    yield Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
                }
            };
        }
        out.copyFrom(v);
        nextKey.copyFrom(new double[] {k + 1});
    }

    private static double uniform(long stream, long i) {
        return (mix(stream + (i + 1) * GOLDEN) >>> 11) * 0x1.0p-53;
    }

    /** SplitMix64's finalizer. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Weight normalization (Salimans and Kingma, 2016) of a layer's weight: {@code w = g v / ||v||}, the norm
 * taken per output unit (over every dimension but the first). Parameters are named as PyTorch's
 * {@code weight_norm} names them, {@code weight_g [out, 1, ...]} and {@code weight_v}, beside the layer's
 * others; at creation {@code v} is the layer's weight and {@code g} its norms, so the function is unchanged.
 *
 * <pre>{@code
 * LinearModule layer = new WeightNorm(arena, new Linear(arena, rnd, 784, 256, true));
 * }</pre>
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class WeightNorm implements LinearModule {
    private final LinearModule inner;
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    public WeightNorm(Arena arena, LinearModule inner) {
        this.inner = inner;
        Tensor w = requireWeight(inner, "weight_norm");
        Shape s = w.shape();
        long[] gDims = new long[s.rank()];
        java.util.Arrays.fill(gDims, 1);
        gDims[0] = s.dim(0);
        double[] v = w.toDoubleArray();
        int row = Math.toIntExact(w.size() / s.dim(0));
        double[] g = new double[Math.toIntExact(s.dim(0))];
        for (int o = 0; o < g.length; o++) {
            double sum = 0;
            for (int i = 0; i < row; i++) {
                sum += v[o * row + i] * v[o * row + i];
            }
            g[o] = Math.sqrt(sum);
        }
        Tensor gt = Tensor.zeros(arena, w.dtype(), Shape.of(gDims));
        gt.copyFrom(g);
        params.put("weight_g", gt);
        params.put("weight_v", w);
        inner.parameters().forEach((k, t) -> {
            if (!k.equals("weight")) {
                params.put(k, t);
            }
        });
    }

    static Tensor requireWeight(Module m, String who) {
        Tensor w = m.parameters().get("weight");
        if (w == null || w.shape().rank() < 2) {
            throw new IllegalArgumentException(who + ": the layer needs a 'weight' of rank >= 2, has " + m.parameters().keySet());
        }
        return w;
    }

    /** {@code g v / ||v||} in {@code ops}'s world. */
    private <T> T weight(Ops<T> ops, Map<String, T> s) {
        T v = s.get("weight_v");
        int rank = ops.shape(v).rank();
        int[] axes = java.util.stream.IntStream.range(1, rank).toArray();
        return ops.mul(ops.div(v, ops.norm(v, true, axes)), s.get("weight_g"));
    }

    private <T> Map<String, T> innerState(Ops<T> ops, Map<String, T> s) {
        Map<String, T> in = new LinkedHashMap<>(s);
        in.remove("weight_g");
        in.remove("weight_v");
        in.put("weight", weight(ops, s));
        return in;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public java.util.List<Module> children() {
        return java.util.List.of(inner);
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        return inner.forward(ops, innerState(ops, s), x);
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

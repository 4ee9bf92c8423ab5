package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.backend.ref.RefBackend;
import org.lipa.models.nn.Module;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * A float64 MLP {@code in -> hidden (tanh) -> 1} with mean squared error, small enough that its loss is
 * written out below in plain Java loops: the reference the landscape's sampled losses are checked against.
 * Parameters in order: {@code w1 [hidden, in]}, {@code b1 [hidden]}, {@code w2 [1, hidden]}, {@code b2 [1]}.
 */
final class TinyNet implements Module {
    final int in;
    final int hidden;
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    TinyNet(Arena arena, Random rnd, int in, int hidden) {
        this.in = in;
        this.hidden = hidden;
        params.put("w1", Tensor.of(arena, DType.F64, gaussian(rnd, hidden * in, 1 / Math.sqrt(in)), hidden, in));
        params.put("b1", Tensor.of(arena, DType.F64, gaussian(rnd, hidden, 0.1), hidden));
        params.put("w2", Tensor.of(arena, DType.F64, gaussian(rnd, hidden, 1 / Math.sqrt(hidden)), 1, hidden));
        params.put("b2", Tensor.of(arena, DType.F64, gaussian(rnd, 1, 0.1), 1));
    }

    private static double[] gaussian(Random rnd, int n, double std) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = std * rnd.nextGaussian();
        }
        return v;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        return ops.linear(ops.tanh(ops.linear(x, s.get("w1"), s.get("b1"))), s.get("w2"), s.get("b2"));
    }

    /** The MSE at flat weights {@code w} over all the batches' examples, in plain Java. */
    double loss(double[] w, List<double[][]> xs, List<double[]> ys) {
        int b1 = hidden * in;
        int w2 = b1 + hidden;
        int b2 = w2 + hidden;
        double total = 0;
        for (int batch = 0; batch < xs.size(); batch++) {
            double sum = 0;
            double[][] x = xs.get(batch);
            for (int n = 0; n < x.length; n++) {
                double out = w[b2];
                for (int h = 0; h < hidden; h++) {
                    double pre = w[b1 + h];
                    for (int i = 0; i < in; i++) {
                        pre += w[h * in + i] * x[n][i];
                    }
                    out += w[w2 + h] * Math.tanh(pre);
                }
                double e = out - ys.get(batch)[n];
                sum += e * e;
            }
            total += sum / x.length;
        }
        return total / xs.size();
    }

    /** A regression data set: {@code batches} batches of {@code size} Gaussian inputs, targets from {@code teacher}. */
    static Data data(Arena arena, Random rnd, int in, int batches, int size, java.util.function.ToDoubleFunction<double[]> teacher) {
        List<double[][]> xs = new ArrayList<>();
        List<double[]> ys = new ArrayList<>();
        List<Tensor[]> tensors = new ArrayList<>();
        for (int b = 0; b < batches; b++) {
            double[][] x = new double[size][in];
            double[] y = new double[size];
            double[] flat = new double[size * in];
            for (int n = 0; n < size; n++) {
                for (int i = 0; i < in; i++) {
                    x[n][i] = rnd.nextGaussian();
                    flat[n * in + i] = x[n][i];
                }
                y[n] = teacher.applyAsDouble(x[n]);
            }
            xs.add(x);
            ys.add(y);
            tensors.add(new Tensor[] {Tensor.of(arena, DType.F64, flat, size, in), Tensor.of(arena, DType.F64, y, size, 1)});
        }
        return new Data(xs, ys, tensors);
    }

    record Data(List<double[][]> xs, List<double[]> ys, List<Tensor[]> batches) {
    }

    /** The evaluation of this net's MSE on {@code data} on the reference backend. */
    Evaluation evaluation(Data data) {
        return Evaluation.of(new RefBackend(), this, data.batches(), (ops, p, t) -> ops.mse(p, t), false);
    }
}

package org.lipa.backend.ref;

import java.util.List;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.Softmax;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Softmax and the normalizations, each over explicit index sets. Variances are biased (divide by count). */
final class RefNorm {
    private RefNorm() {
    }

    /** Softmax along one axis: the elements at (outer, *, inner) form one distribution. */
    static void softmax(Softmax op, Tensor x, Tensor y) {
        Shape s = x.shape();
        int axis = s.axis(op.axis());
        int n = (int) s.dim(axis);
        int inner = (int) s.sub(axis + 1, s.rank()).size();
        int outer = (int) s.sub(0, axis).size();
        double[] v = x.toDoubleArray();
        for (int o = 0; o < outer; o++) {
            for (int in = 0; in < inner; in++) {
                int base = o * n * inner + in;
                double max = Double.NEGATIVE_INFINITY;
                for (int k = 0; k < n; k++) {
                    max = Math.max(max, v[base + k * inner]);
                }
                double sum = 0;
                for (int k = 0; k < n; k++) {
                    sum += Math.exp(v[base + k * inner] - max);
                }
                double logSum = Math.log(sum);
                for (int k = 0; k < n; k++) {
                    double z = v[base + k * inner] - max;
                    v[base + k * inner] = op.log() ? z - logSum : Math.exp(z) / sum;
                }
            }
        }
        y.copyFrom(v);
    }

    /** Normalizes consecutive blocks of the last-k-dims size. */
    static void layerNorm(LayerNorm op, List<Tensor> in, List<Tensor> out) {
        Shape s = in.get(0).shape();
        int c = (int) s.sub(s.rank() - op.normalizedRank(), s.rank()).size();
        int rows = c == 0 ? 0 : (int) (s.size() / c);
        double[] x = in.get(0).toDoubleArray();
        double[] gamma = in.size() == 3 ? in.get(1).toDoubleArray() : null;
        double[] beta = in.size() == 3 ? in.get(2).toDoubleArray() : null;
        double[] mean = new double[rows];
        double[] var = new double[rows];
        for (int r = 0; r < rows; r++) {
            int[] idx = new int[c];
            for (int k = 0; k < c; k++) {
                idx[k] = r * c + k;
            }
            normalize(x, idx, mean, var, r, op.eps());
            if (gamma != null) {
                for (int k = 0; k < c; k++) {
                    x[r * c + k] = x[r * c + k] * gamma[k] + beta[k];
                }
            }
        }
        out.get(0).copyFrom(x);
        out.get(1).copyFrom(mean);
        out.get(2).copyFrom(var);
    }

    /** Per channel over the batch and spatial positions. */
    static void batchNorm(BatchNorm op, List<Tensor> in, List<Tensor> out) {
        Shape s = in.get(0).shape();
        int n = (int) s.dim(0);
        int c = (int) s.dim(1);
        int spatial = (int) s.sub(2, s.rank()).size();
        double[] x = in.get(0).toDoubleArray();
        double[] gamma = in.get(1).toDoubleArray();
        double[] beta = in.get(2).toDoubleArray();
        double[] mean = op.training() ? new double[c] : in.get(3).toDoubleArray();
        double[] var = op.training() ? new double[c] : in.get(4).toDoubleArray();
        for (int ch = 0; ch < c; ch++) {
            int[] idx = new int[n * spatial];
            for (int b = 0; b < n; b++) {
                for (int p = 0; p < spatial; p++) {
                    idx[b * spatial + p] = (b * c + ch) * spatial + p;
                }
            }
            if (op.training()) {
                normalize(x, idx, mean, var, ch, op.eps());
            } else {
                double inv = 1 / Math.sqrt(var[ch] + op.eps());
                for (int i : idx) {
                    x[i] = (x[i] - mean[ch]) * inv;
                }
            }
            for (int i : idx) {
                x[i] = x[i] * gamma[ch] + beta[ch];
            }
        }
        out.get(0).copyFrom(x);
        if (op.training()) {
            out.get(1).copyFrom(mean);
            out.get(2).copyFrom(var);
        }
    }

    /** Per sample and group of consecutive channels, over those channels' spatial positions. */
    static void groupNorm(GroupNorm op, List<Tensor> in, List<Tensor> out) {
        Shape s = in.get(0).shape();
        int n = (int) s.dim(0);
        int c = (int) s.dim(1);
        int g = op.groups();
        int cg = c / g;
        int spatial = (int) s.sub(2, s.rank()).size();
        double[] x = in.get(0).toDoubleArray();
        double[] gamma = in.get(1).toDoubleArray();
        double[] beta = in.get(2).toDoubleArray();
        double[] mean = new double[n * g];
        double[] var = new double[n * g];
        for (int b = 0; b < n; b++) {
            for (int gi = 0; gi < g; gi++) {
                int[] idx = new int[cg * spatial];
                for (int k = 0; k < idx.length; k++) {
                    idx[k] = (b * c + gi * cg) * spatial + k;
                }
                normalize(x, idx, mean, var, b * g + gi, op.eps());
                for (int k = 0; k < idx.length; k++) {
                    int ch = gi * cg + k / spatial;
                    x[idx[k]] = x[idx[k]] * gamma[ch] + beta[ch];
                }
            }
        }
        out.get(0).copyFrom(x);
        out.get(1).copyFrom(mean);
        out.get(2).copyFrom(var);
    }

    /** In place: x[idx] = (x[idx] - mean) / sqrt(var + eps), recording mean and biased variance at slot {@code k}. */
    private static void normalize(double[] x, int[] idx, double[] mean, double[] var, int k, double eps) {
        double m = 0;
        for (int i : idx) {
            m += x[i];
        }
        m /= idx.length;
        double v = 0;
        for (int i : idx) {
            v += (x[i] - m) * (x[i] - m);
        }
        v /= idx.length;
        double inv = 1 / Math.sqrt(v + eps);
        for (int i : idx) {
            x[i] = (x[i] - m) * inv;
        }
        mean[k] = m;
        var[k] = v;
    }
}

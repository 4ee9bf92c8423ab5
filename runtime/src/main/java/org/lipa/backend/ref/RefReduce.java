package org.lipa.backend.ref;

import java.util.List;
import org.lipa.ops.Concat;
import org.lipa.ops.Reduce;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Reductions over axis sets, and concatenation. */
final class RefReduce {
    private RefReduce() {
    }

    /** Each input element goes to the output slot with the reduced axes' indices set to 0. */
    static void reduce(Reduce op, Tensor x, Tensor y) {
        Shape s = x.shape();
        Shape kept = op.keptShape(s);
        int[] axes = op.axesFor(s.rank());
        boolean[] reduced = new boolean[s.rank()];
        for (int a : axes) {
            reduced[a] = true;
        }
        double[] v = x.toDoubleArray();
        int m = Math.toIntExact(kept.size());
        double[] acc = new double[m];
        long[] count = new long[m];
        if (op.kind() == Reduce.Kind.MAX) {
            java.util.Arrays.fill(acc, Double.NEGATIVE_INFINITY);
        } else if (op.kind() == Reduce.Kind.MIN) {
            java.util.Arrays.fill(acc, Double.POSITIVE_INFINITY);
        }
        long[] keptStrides = kept.contiguousStrides();
        long[] idx = new long[s.rank()];
        for (int i = 0; i < v.length; i++) {
            long o = 0;
            for (int d = 0; d < s.rank(); d++) {
                if (!reduced[d]) {
                    o += idx[d] * keptStrides[d];
                }
            }
            int k = (int) o;
            double e = v[i];
            acc[k] = switch (op.kind()) {
                case SUM, MEAN -> acc[k] + e;
                case MAX -> Math.max(acc[k], e);
                case MIN -> Math.min(acc[k], e);
                case NORM_L2 -> acc[k] + e * e;
            };
            count[k]++;
            for (int d = s.rank() - 1; d >= 0; d--) {
                if (++idx[d] < s.dim(d)) {
                    break;
                }
                idx[d] = 0;
            }
        }
        for (int k = 0; k < m; k++) {
            if (op.kind() == Reduce.Kind.MEAN) {
                acc[k] /= count[k];
            } else if (op.kind() == Reduce.Kind.NORM_L2) {
                acc[k] = Math.sqrt(acc[k]);
            }
        }
        y.copyFrom(acc);
    }

    static void concat(Concat op, List<Tensor> in, Tensor y) {
        int axis = y.shape().axis(op.axis());
        long start = 0;
        for (Tensor x : in) {
            long n = x.shape().dim(axis);
            y.slice(axis, start, start + n).copyFrom(x);
            start += n;
        }
    }
}

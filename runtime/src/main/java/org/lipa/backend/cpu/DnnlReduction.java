package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Hw;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Reduce;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Reductions on oneDNN's reduction primitive. The destination is described with the kept shape (1 on
 * reduced axes) over the output buffer, so {@code keepDims=false} costs nothing. The L2 norm is
 * {@code reduction_norm_lp_sum} with p = 2: (sum |x|^2)^(1/2).
 */
final class DnnlReduction {
    private DnnlReduction() {
    }

    static void execute(CpuBackend b, Reduce op, List<Tensor> in, List<Tensor> out) {
        Tensor x = in.get(0);
        Tensor y = out.get(0);
        Shape kept = op.keptShape(x.shape());
        if (x.size() == 0 || kept.equals(x.shape()) || x.rank() == 0) {
            reduceInJava(op, x, y); // degenerate: empty input or nothing to reduce; oneDNN rejects both
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor xs = CpuBackend.readable(x, tmp);
            Tensor yv = y.reshape(kept.toArray());
            if (op.kind() == Reduce.Kind.MEAN && xs.rank() == 4 && !xs.isContiguous() && xs.isDense()
                    && kept.equals(Shape.of(xs.shape().dim(0), xs.shape().dim(1), 1, 1))) {
                // a global average pool of a channels-last activation: oneDNN's reduction runs its reference kernel
                // on it (3.7 ms for [128, 64, 7, 7]), its pooling a JIT kernel
                Hw window = new Hw(Math.toIntExact(xs.shape().dim(2)), Math.toIntExact(xs.shape().dim(3)));
                DnnlPooling.execute(b, new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, window, new Hw(1, 1), new Hw(0, 0)),
                        List.of(xs), List.of(yv));
                return;
            }
            if (!xs.isContiguous() && xs.isDense()) {
                // a channels-last source, say: both described in its storage order (the same reduction), which
                // oneDNN's JIT kernel takes; in the logical order it would run its reference kernel, 30x slower
                int[] order = DnnlReorder.storageOrder(xs);
                xs = xs.permute(order);
                yv = yv.permute(order);
            }
            float pNorm = op.kind() == Reduce.Kind.NORM_L2 ? 2f : 0f;
            b.run(op, "fwd", new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()}, List.of(xs, yv), (s, md) ->
                    Primitive.descriptor("dnnl_reduction_primitive_desc_create",
                            (o, attr) -> dnnl_reduction_primitive_desc_create(o, b.context().engine(), algorithm(op.kind()),
                                    md[0], md[1], pNorm, 0f, attr)));
        }
    }

    private static void reduceInJava(Reduce op, Tensor x, Tensor y) {
        double[] v = x.toDoubleArray();
        if (x.size() == 0) {
            double fill = switch (op.kind()) {
                case SUM, NORM_L2 -> 0;
                case MEAN -> Double.NaN;
                case MAX, MIN -> throw new IllegalArgumentException(op.name() + " of an empty tensor " + x.spec());
            };
            java.util.Arrays.fill(v = new double[Math.toIntExact(y.size())], fill);
        } else if (op.kind() == Reduce.Kind.NORM_L2) {
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.abs(v[i]);
            }
        }
        y.copyFrom(v);
    }

    static int algorithm(Reduce.Kind kind) {
        return switch (kind) {
            case SUM -> dnnl_reduction_sum();
            case MEAN -> dnnl_reduction_mean();
            case MAX -> dnnl_reduction_max();
            case MIN -> dnnl_reduction_min();
            case NORM_L2 -> dnnl_reduction_norm_lp_sum();
        };
    }
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Binary;
import org.lipa.tensor.Tensor;

/**
 * Elementwise binary ops with numpy broadcasting on oneDNN's binary primitive.
 *
 * <p>oneDNN broadcasts only its second source (size-1 dims) and wants the first at the destination's
 * full shape. Both operands get the destination's rank, and stride-0 dims of broadcast views become
 * size-1 dims again. If then only the first operand is smaller: commutative ops swap operands; sub and
 * div copy the broadcast first operand into the destination and run in place ({@code dst = src0}),
 * which keeps them exact ({@code a / b} has no exact rewrite in terms of {@code b / a}).
 */
final class DnnlBinary {
    private DnnlBinary() {
    }

    static void execute(CpuBackend b, Binary op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        int r = Math.max(y.rank(), 1);
        Tensor a0 = compact(toRank(in.get(0), r));
        Tensor b0 = compact(toRank(in.get(1), r));
        Tensor yv = y.rank() == 0 ? y.reshape(1) : y;
        boolean aFull = a0.shape().equals(yv.shape());
        boolean bFull = b0.shape().equals(yv.shape());
        Binary.Kind kind = op.kind();
        if (!aFull && bFull && commutes(kind)) {
            Tensor t = a0;
            a0 = b0;
            b0 = t;
        } else if (!aFull) {
            // dst = src0 in place: first put the broadcast first operand into the destination
            yv.copyFrom(in.get(0).broadcastTo(y.shape()).reshape(yv.shape().toArray()));
            run(b, op, yv, b0, yv);
            return;
        }
        run(b, op, a0, b0, yv);
    }

    private static void run(CpuBackend b, Binary op, Tensor a, Tensor c, Tensor y) {
        boolean inPlace = a.storage() == y.storage() && a.offset() == y.offset();
        b.run(op, inPlace ? "in-place" : "fwd", new int[] {DNNL_ARG_SRC_0(), DNNL_ARG_SRC_1(), DNNL_ARG_DST()}, List.of(a, c, y),
                (s, md) -> Primitive.descriptor("dnnl_binary_primitive_desc_create",
                        (o, attr) -> dnnl_binary_primitive_desc_create(o, b.context().engine(), algorithm(op.kind()),
                                md[0], md[1], md[2], attr)));
    }

    private static boolean commutes(Binary.Kind k) {
        return k == Binary.Kind.ADD || k == Binary.Kind.MUL || k == Binary.Kind.MAX || k == Binary.Kind.MIN;
    }

    /** A view of {@code t} with leading size-1 dims up to rank {@code r}. */
    private static Tensor toRank(Tensor t, int r) {
        Tensor v = t;
        while (v.rank() < r) {
            v = v.unsqueeze(0);
        }
        return v;
    }

    /** Broadcast (stride-0) dims become size-1 dims, which oneDNN broadcasts itself. */
    private static Tensor compact(Tensor t) {
        Tensor v = t;
        long[] strides = t.strides();
        for (int i = 0; i < t.rank(); i++) {
            if (strides[i] == 0 && t.shape().dim(i) > 1) {
                v = v.slice(i, 0, 1);
            }
        }
        return v;
    }

    static int algorithm(Binary.Kind kind) {
        return switch (kind) {
            case ADD -> dnnl_binary_add();
            case SUB -> dnnl_binary_sub();
            case MUL -> dnnl_binary_mul();
            case DIV -> dnnl_binary_div();
            case MAX -> dnnl_binary_max();
            case MIN -> dnnl_binary_min();
        };
    }
}

package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.Pool2d;
import org.lipa.tensor.Tensor;

/** Max and average 2-D pooling on oneDNN's pooling primitive (floor mode, symmetric padding). */
final class DnnlPooling {
    private DnnlPooling() {
    }

    static void execute(CpuBackend b, Pool2d op, List<Tensor> in, List<Tensor> out) {
        Tensor y = out.get(0);
        if (y.size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor x = CpuBackend.readable(in.get(0), tmp);
            MemoryDesc src = MemoryDesc.of(x);
            MemoryDesc dst = MemoryDesc.of(y);
            Primitive p = b.primitive(op, "fwd", List.of(src, dst), arena -> {
                try (Primitive.Scope s = new Primitive.Scope()) {
                    int alg = switch (op.kind()) {
                        case MAX -> dnnl_pooling_max();
                        case AVG_INCLUDE_PAD -> dnnl_pooling_avg_include_padding();
                        case AVG_EXCLUDE_PAD -> dnnl_pooling_avg_exclude_padding();
                    };
                    // floor mode: the right padding that makes oneDNN's size formula give our output size
                    long prH = (y.shape().dim(2) - 1) * op.stride().h() + op.kernel().h() - x.shape().dim(2) - op.padding().h();
                    long prW = (y.shape().dim(3) - 1) * op.stride().w() + op.kernel().w() - x.shape().dim(3) - op.padding().w();
                    MemorySegment pd = Primitive.descriptor("dnnl_pooling_forward_primitive_desc_create",
                            (o, attr) -> dnnl_pooling_forward_primitive_desc_create(o, b.context().engine(),
                                    dnnl_forward_inference(), alg, s.md(src), s.md(dst),
                                    s.dims(op.stride().h(), op.stride().w()), s.dims(op.kernel().h(), op.kernel().w()),
                                    s.dims(0, 0), s.dims(op.padding().h(), op.padding().w()), s.dims(prH, prW), attr));
                    return Primitive.create(b.context(), arena, pd, new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()},
                            new MemoryDesc[] {src, dst});
                }
            });
            p.execute(b.context(), x.data(), y.data());
        }
    }
}

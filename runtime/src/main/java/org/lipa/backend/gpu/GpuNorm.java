package org.lipa.backend.gpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
import org.lipa.tensor.Tensor;

/**
 * Softmax and the normalizations, one block per row or group (float accumulation, two passes).
 * Strided inputs are first made contiguous in the call's arena.
 *
 * <p>Thread safety: stateless; runs on the caller's stream.
 */
final class GpuNorm {
    private GpuNorm() {
    }

    /** {@code t} itself when contiguous, else a contiguous device copy in {@code call}. */
    static Tensor dense(GpuBackend gpu, Handles h, Tensor t, Arena call) {
        if (t.isContiguous()) {
            return t;
        }
        Tensor c = gpu.allocate(call, t.spec());
        GpuElementwise.copy(gpu, h, t, c);
        return c;
    }

    private static int rowBlock(long n) {
        return n >= 2048 ? 512 : n >= 256 ? 256 : n >= 64 ? 64 : 32;
    }

    /** A contiguous tensor seen as {@code [outer, n, inner]} around the softmax axis. */
    private record Rows(long outer, long n, long inner) {
        static Rows of(Tensor t, int axis) {
            int a = axis < 0 ? axis + t.rank() : axis;
            long[] d = t.shape().toArray();
            return new Rows(prod(d, 0, a), d[a], prod(d, a + 1, d.length));
        }
    }

    static void softmax(GpuBackend gpu, Handles h, Softmax s, Tensor x, Tensor y, Arena call) {
        Rows r = Rows.of(x, s.axis());
        Tensor xc = dense(gpu, h, x, call);
        gpu.kernels().launchBlocks(h.stream, "lipa_softmax_" + GpuElementwise.suffix(x.dtype()), r.outer() * r.inner(),
                rowBlock(r.n()), xc.data(), y.data(), r.outer(), r.n(), r.inner(), s.log() ? 1 : 0);
    }

    static void softmaxGrad(GpuBackend gpu, Handles h, SoftmaxGrad s, Tensor y, Tensor g, Tensor dx, Arena call) {
        Rows r = Rows.of(y, s.axis());
        Tensor yc = dense(gpu, h, y, call);
        Tensor gc = dense(gpu, h, g, call);
        gpu.kernels().launchBlocks(h.stream, "lipa_softmax_grad_" + GpuElementwise.suffix(y.dtype()), r.outer() * r.inner(),
                rowBlock(r.n()), yc.data(), gc.data(), dx.data(), r.outer(), r.n(), r.inner(), s.log() ? 1 : 0);
    }

    static void layerNorm(GpuBackend gpu, Handles h, LayerNorm op, List<Tensor> in, List<Tensor> out, Arena call) {
        Tensor x = dense(gpu, h, in.get(0), call);
        long[] d = x.shape().toArray();
        int lead = d.length - op.normalizedRank();
        long rows = prod(d, 0, lead);
        long size = prod(d, lead, d.length);
        MemorySegment gamma = in.size() == 3 ? dense(gpu, h, in.get(1), call).data() : MemorySegment.NULL;
        MemorySegment beta = in.size() == 3 ? dense(gpu, h, in.get(2), call).data() : MemorySegment.NULL;
        norm(gpu, h, x, gamma, beta, out, rows, 1, size, 1, KernelCodes.NORM_LAYER, op.eps(), rows, size);
    }

    static void batchNorm(GpuBackend gpu, Handles h, BatchNorm op, List<Tensor> in, List<Tensor> out, Arena call) {
        Tensor x = dense(gpu, h, in.get(0), call);
        long[] d = x.shape().toArray();
        long n = d[0];
        long c = d[1];
        long s = prod(d, 2, d.length);
        Tensor gamma = dense(gpu, h, in.get(1), call);
        Tensor beta = dense(gpu, h, in.get(2), call);
        if (op.training()) {
            norm(gpu, h, x, gamma.data(), beta.data(), out, n, c, s, 1, KernelCodes.NORM_BATCH, op.eps(), c, n * s);
        } else {
            Tensor mean = dense(gpu, h, in.get(3), call);
            Tensor var = dense(gpu, h, in.get(4), call);
            gpu.kernels().launch(h.stream, "lipa_batchnorm_infer_" + GpuElementwise.suffix(x.dtype()), x.size(), x.data(),
                    gamma.data(), beta.data(), mean.data(), var.data(), out.get(0).data(), n, c, s, (float) op.eps());
        }
    }

    static void groupNorm(GpuBackend gpu, Handles h, GroupNorm op, List<Tensor> in, List<Tensor> out, Arena call) {
        Tensor x = dense(gpu, h, in.get(0), call);
        long[] d = x.shape().toArray();
        long n = d[0];
        long c = d[1];
        long s = prod(d, 2, d.length);
        Tensor gamma = dense(gpu, h, in.get(1), call);
        Tensor beta = dense(gpu, h, in.get(2), call);
        norm(gpu, h, x, gamma.data(), beta.data(), out, n, c, s, op.groups(), KernelCodes.NORM_GROUP, op.eps(), n * op.groups(),
                c / op.groups() * s);
    }

    private static void norm(GpuBackend gpu, Handles h, Tensor x, MemorySegment gamma, MemorySegment beta, List<Tensor> out,
            long n, long c, long s, int groups, int mode, double eps, long count, long groupSize) {
        if (x.size() == 0 && count == 0) {
            return;
        }
        gpu.kernels().launchBlocks(h.stream, "lipa_norm_" + GpuElementwise.suffix(x.dtype()), count, rowBlock(groupSize),
                x.data(), gamma, beta, out.get(0).data(), out.get(1).data(), out.get(2).data(), n, c, s, groups, mode, (float) eps);
    }

    static long prod(long[] d, int from, int to) {
        long p = 1;
        for (int i = from; i < to; i++) {
            p *= d[i];
        }
        return p;
    }
}

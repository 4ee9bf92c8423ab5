package org.lipa.backend.gpu;

import java.lang.foreign.Arena;
import org.lipa.ops.Pool2d;
import org.lipa.tensor.Tensor;

/**
 * Max and average pooling, their gradients (written as gathers: each input element sums over the windows
 * that contain it, so no atomics) and max pooling's tangent (the tangent at each window's argmax). NCHW,
 * inputs made contiguous first.
 *
 * <p>Thread safety: stateless; runs on the caller's stream.
 */
final class GpuPool {
    private GpuPool() {
    }

    static void pool(GpuBackend gpu, Handles h, Pool2d p, Tensor x, Tensor y, Arena call) {
        Tensor xc = GpuNorm.dense(gpu, h, x, call);
        String t = GpuElementwise.suffix(x.dtype());
        if (p.kind() == Pool2d.Kind.MAX) {
            gpu.kernels().launch(h.stream, "lipa_maxpool_" + t, y.size(), with(geometry(p, x, y), xc.data(), y.data()));
        } else {
            gpu.kernels().launch(h.stream, "lipa_avgpool_" + t, y.size(), withInclude(geometry(p, x, y), p, xc.data(), y.data()));
        }
    }

    static void grad(GpuBackend gpu, Handles h, Pool2d p, Tensor x, Tensor g, Tensor dx, Arena call) {
        Tensor gc = GpuNorm.dense(gpu, h, g, call);
        String t = GpuElementwise.suffix(x.dtype());
        if (p.kind() == Pool2d.Kind.MAX) {
            Tensor xc = GpuNorm.dense(gpu, h, x, call);
            gpu.kernels().launch(h.stream, "lipa_maxpool_grad_" + t, dx.size(), with(geometry(p, x, g), xc.data(), gc.data(), dx.data()));
        } else {
            gpu.kernels().launch(h.stream, "lipa_avgpool_grad_" + t, dx.size(), withInclude(geometry(p, x, g), p, gc.data(), dx.data()));
        }
    }

    static void tangent(GpuBackend gpu, Handles h, Pool2d p, Tensor x, Tensor v, Tensor out, Arena call) {
        if (p.kind() != Pool2d.Kind.MAX) {
            pool(gpu, h, p, v, out, call); // average pooling is linear: its tangent is the pooled tangent
            return;
        }
        Tensor xc = GpuNorm.dense(gpu, h, x, call);
        Tensor vc = GpuNorm.dense(gpu, h, v, call);
        gpu.kernels().launch(h.stream, "lipa_maxpool_tangent_" + GpuElementwise.suffix(x.dtype()), out.size(),
                with(geometry(p, x, out), xc.data(), vc.data(), out.data()));
    }

    /** N, C, H, W, OH, OW as long long; kernel, stride, padding as int (h then w). */
    private static Object[] geometry(Pool2d p, Tensor x, Tensor y) {
        long[] d = x.shape().toArray();
        return new Object[] {d[0], d[1], d[2], d[3], y.shape().dim(2), y.shape().dim(3), p.kernel().h(), p.kernel().w(),
                p.stride().h(), p.stride().w(), p.padding().h(), p.padding().w()};
    }

    private static Object[] with(Object[] geometry, Object... pointers) {
        Object[] all = new Object[pointers.length + geometry.length];
        System.arraycopy(pointers, 0, all, 0, pointers.length);
        System.arraycopy(geometry, 0, all, pointers.length, geometry.length);
        return all;
    }

    private static Object[] withInclude(Object[] geometry, Pool2d p, Object... pointers) {
        Object[] base = with(geometry, pointers);
        Object[] all = java.util.Arrays.copyOf(base, base.length + 1);
        all[base.length] = p.kind() == Pool2d.Kind.AVG_INCLUDE_PAD ? 1 : 0;
        return all;
    }
}

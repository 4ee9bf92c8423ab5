package org.lipa.backend.gpu;

import java.util.List;
import org.lipa.ops.Binary;
import org.lipa.ops.Concat;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Elementwise kernels: activations and their gradients, binary arithmetic with broadcasting, casts and
 * strided copies, fills and concatenation. Inputs are read through their strides (broadcast views
 * included), outputs are contiguous.
 *
 * <p>Thread safety: stateless; runs on the caller's stream.
 */
final class GpuElementwise {
    private GpuElementwise() {
    }

    static String suffix(DType t) {
        return switch (t) {
            case F32 -> "f32";
            case BF16 -> "bf16";
            case F64 -> "f64";
        };
    }

    static void eltwise(GpuBackend gpu, Handles h, Eltwise e, Tensor x, Tensor y) {
        View[] v = View.collapse(View.of(x));
        gpu.kernels().launch(h.stream, "lipa_eltwise_" + suffix(x.dtype()), y.size(), x.data(), v[0], y.data(), y.size(),
                KernelCodes.of(e.kind()), (float) e.alpha(), (float) e.beta());
    }

    static void eltwiseGrad(GpuBackend gpu, Handles h, EltwiseGrad e, Tensor x, Tensor g, Tensor dx) {
        View[] v = View.collapse(View.of(x), View.of(g));
        gpu.kernels().launch(h.stream, "lipa_eltwise_grad_" + suffix(x.dtype()), dx.size(), x.data(), v[0], g.data(), v[1],
                dx.data(), dx.size(), KernelCodes.of(e.kind()), (float) e.alpha(), (float) e.beta());
    }

    static void binary(GpuBackend gpu, Handles h, Binary b, Tensor a, Tensor c, Tensor out) {
        Shape s = out.shape();
        View[] v = View.collapse(View.of(a, s), View.of(c, s));
        gpu.kernels().launch(h.stream, "lipa_binary_" + suffix(out.dtype()), out.size(), a.data(), v[0], c.data(), v[1],
                out.data(), out.size(), KernelCodes.of(b.kind()));
    }

    /** {@code dst[i] = src[i]} converted to dst's dtype; src may broadcast to dst's shape, dst may be strided. */
    static void copy(GpuBackend gpu, Handles h, Tensor src, Tensor dst) {
        if (dst.size() == 0) {
            return;
        }
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous() && src.shape().equals(dst.shape())) {
            gpu.allocator().copyOnDevice(src.data(), dst.data(), dst.size() * dst.dtype().byteSize());
            return;
        }
        View[] v = View.collapse(View.of(src, dst.shape()), View.of(dst));
        gpu.kernels().launch(h.stream, "lipa_copy_" + suffix(src.dtype()) + "_" + suffix(dst.dtype()), dst.size(),
                src.data(), v[0], dst.data(), v[1], dst.size());
    }

    static void fill(GpuBackend gpu, Handles h, Tensor out, double value) {
        gpu.kernels().launch(h.stream, "lipa_fill_" + suffix(out.dtype()), out.size(), out.data(), out.size(), value);
    }

    /** Each input copied into its slice of the output along the axis. */
    static void concat(GpuBackend gpu, Handles h, Concat c, List<Tensor> in, Tensor out) {
        int axis = c.axis() < 0 ? c.axis() + out.rank() : c.axis();
        long start = 0;
        for (Tensor t : in) {
            long n = t.shape().dim(axis);
            copy(gpu, h, t, out.slice(axis, start, start + n));
            start += n;
        }
    }
}

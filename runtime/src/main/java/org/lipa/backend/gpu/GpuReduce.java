package org.lipa.backend.gpu;

import org.lipa.ops.Reduce;
import org.lipa.tensor.Tensor;

/**
 * Reductions over any set of axes of a strided input: one block per output (warp shuffles) when each
 * output reduces many elements, one thread per output when it reduces few.
 *
 * <p>Thread safety: stateless; runs on the caller's stream.
 */
final class GpuReduce {
    /** Below this many elements per output a thread reduces alone (a block would idle most lanes). */
    static final long THREAD_LIMIT = 64;

    private GpuReduce() {
    }

    static void reduce(GpuBackend gpu, Handles h, Reduce r, Tensor x, Tensor out) {
        int[] axes = r.axesFor(x.rank());
        boolean[] reduced = new boolean[x.rank()];
        for (int a : axes) {
            reduced[a] = true;
        }
        long[] st = x.strides();
        int nr = axes.length;
        long[] outerDims = new long[x.rank() - nr];
        long[] outerStrides = new long[x.rank() - nr];
        long[] innerDims = new long[nr];
        long[] innerStrides = new long[nr];
        for (int i = 0, o = 0, k = 0; i < x.rank(); i++) {
            if (reduced[i]) {
                innerDims[k] = x.shape().dim(i);
                innerStrides[k++] = st[i];
            } else {
                outerDims[o] = x.shape().dim(i);
                outerStrides[o++] = st[i];
            }
        }
        View outer = View.collapse(new View(outerDims, outerStrides))[0];
        View inner = View.collapse(new View(innerDims, innerStrides))[0];
        long nOut = outer.size();
        long nInner = inner.size();
        String t = GpuElementwise.suffix(x.dtype());
        if (nInner < THREAD_LIMIT) {
            gpu.kernels().launch(h.stream, "lipa_reduce_thread_" + t, nOut, x.data(), outer, inner, out.data(), nOut, nInner,
                    KernelCodes.of(r.kind()));
        } else {
            int block = nInner >= 4096 ? 512 : nInner >= 512 ? 256 : 128;
            gpu.kernels().launchBlocks(h.stream, "lipa_reduce_block_" + t, nOut, block, x.data(), outer, inner, out.data(), nOut,
                    nInner, KernelCodes.of(r.kind()));
        }
    }
}

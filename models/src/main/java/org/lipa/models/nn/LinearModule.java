package org.lipa.models.nn;

import org.lipa.tensor.Shape;
import org.lipa.ops.Ops;

/**
 * A layer whose weight acts linearly on its input (bias aside): what weight and spectral normalization
 * parametrize, and what per-layer operator norms are taken of.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public interface LinearModule extends Module {
    /** {@code A x}: the layer without its bias, with weight {@code w}. */
    <T> T operator(Ops<T> ops, T w, T x);

    /** {@code A^T y}, the adjoint, for an input of shape {@code xShape}. */
    <T> T adjoint(Ops<T> ops, T w, T y, Shape xShape);
}

package org.lipa.ops;

import java.util.List;

/**
 * A primitive that also has a definition in terms of other primitives. Backends with a fused kernel run
 * the kernel; the reference backend runs the definition, and differentiation differentiates it, so the
 * definition is the op's specification.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public interface Composite {
    /** The op's outputs computed from other primitives. */
    <T> List<T> decompose(Ops<T> ops, List<T> inputs);
}

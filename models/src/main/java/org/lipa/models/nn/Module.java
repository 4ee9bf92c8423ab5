package org.lipa.models.nn;

import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A layer or network: named parameters (PyTorch {@code state_dict} names such as {@code 0.weight}) and a
 * forward pass written against the op facade, so the same module runs eagerly, is traced into a graph,
 * and is differentiated with respect to its parameters (which a trace takes as inputs).
 */
public interface Module {
    /** Parameters by name, in a stable order; the tensors are owned by the model's arena. */
    Map<String, Tensor> parameters();

    /** The forward pass: {@code params} maps each parameter name to its value in {@code ops}'s world. */
    <T> T forward(Ops<T> ops, Map<String, T> params, T x);

    /** Forward with the module's own tensors as the parameters (eager use). */
    default <T> T forward(Ops<T> ops, T x) {
        Map<String, T> own = new java.util.LinkedHashMap<>();
        parameters().forEach((name, t) -> own.put(name, ops.constant(t)));
        return forward(ops, own, x);
    }
}

package org.lipa.models.nn;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A layer or network, written once against the op facade so that the same module runs eagerly, is
 * traced into a graph, and is differentiated with respect to its parameters (which a trace takes as
 * inputs).
 *
 * <p>State comes in two kinds, named as in PyTorch's {@code state_dict} ({@code 0.weight},
 * {@code layer1.0.bn1.running_mean}): {@link #parameters()}, which training differentiates and updates,
 * and {@link #buffers()}, which a forward pass reads and, in training mode, replaces (batch norm's
 * running statistics, a spectral norm's power-iteration vector, dropout's random key). Updates are
 * functional, as in Flax: {@code forward} receives every parameter and buffer in {@code state} and, when
 * it updates a buffer, puts the new value under the buffer's name; the caller (a {@code Trainer}) stores
 * it after the step. Random-number keys are buffers named {@link #RNG_KEY}: checkpoints keep them, PyTorch
 * state dicts do not (they are PyTorch's non-persistent buffers).
 *
 * <p>Modules are not thread-safe while their tensors are being updated; a module whose state is not
 * changing may be traced and run from many threads.
 *
 * <pre>{@code
 * Module mlp = Sequential.mlp(arena, new Random(0), Activation.RELU, 784, 256, 10);
 * Tensor logits = mlp.forward(new Eager(cpu, arena), x);       // eager, with the module's own tensors
 * }</pre>
 */
public interface Module {
    /** The name of every random-number key buffer. */
    String RNG_KEY = "rng_key";

    /** Trainable parameters by name, in a stable order; the tensors are owned by the model's arena. */
    Map<String, Tensor> parameters();

    /** Non-trainable state by name (running statistics, power-iteration vectors, random keys). */
    default Map<String, Tensor> buffers() {
        return Map.of();
    }

    /**
     * The forward pass. {@code state} maps every parameter and buffer name to its value in {@code ops}'s
     * world; in training mode a module may put updated buffer values into it.
     */
    <T> T forward(Ops<T> ops, Map<String, T> state, T x);

    /** The modules inside this one, for mode changes and initializers. */
    default List<Module> children() {
        return List.of();
    }

    /** Training mode (batch statistics, dropout, buffer updates) or evaluation mode, for this module and all inside it. */
    default Module train(boolean on) {
        children().forEach(c -> c.train(on));
        return this;
    }

    /** Parameters and persistent buffers: what PyTorch's {@code state_dict()} holds for the same architecture. */
    default Map<String, Tensor> stateDict() {
        Map<String, Tensor> all = new LinkedHashMap<>(parameters());
        buffers().forEach((name, t) -> {
            if (!name.equals(RNG_KEY) && !name.endsWith("." + RNG_KEY)) {
                all.put(name, t);
            }
        });
        return all;
    }

    /** Every parameter and buffer, random keys included: what a checkpoint saves. */
    default Map<String, Tensor> state() {
        Map<String, Tensor> all = new LinkedHashMap<>(parameters());
        all.putAll(buffers());
        return all;
    }

    /** Forward with the module's own tensors as the state (eager use); buffer updates are not kept. */
    default <T> T forward(Ops<T> ops, T x) {
        Map<String, T> own = new LinkedHashMap<>();
        state().forEach((name, t) -> own.put(name, ops.constant(t)));
        return forward(ops, own, x);
    }
}

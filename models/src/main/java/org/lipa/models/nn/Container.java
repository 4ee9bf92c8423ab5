package org.lipa.models.nn;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A module made of named sub-modules (and possibly parameters of its own), whose state names are the
 * children's prefixed with the child's name, as PyTorch names them. Subclasses register children in
 * their constructor and call them with {@link #call}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public abstract class Container implements Module {
    private final Map<String, Module> children = new LinkedHashMap<>();
    /** The container's own parameters, if any (for example Fixup's scalar biases). */
    protected final Map<String, Tensor> own = new LinkedHashMap<>();

    /** Registers {@code m} under {@code name}; returns it. */
    protected final <M extends Module> M add(String name, M m) {
        if (children.putIfAbsent(name, m) != null) {
            throw new IllegalArgumentException("a child named '" + name + "' exists already");
        }
        return m;
    }

    /** The children by name, in registration order. */
    public final Map<String, Module> named() {
        return java.util.Collections.unmodifiableMap(children);
    }

    @Override
    public final List<Module> children() {
        return List.copyOf(children.values());
    }

    @Override
    public Map<String, Tensor> parameters() {
        Map<String, Tensor> all = new LinkedHashMap<>(own);
        children.forEach((name, m) -> m.parameters().forEach((k, t) -> all.put(name + "." + k, t)));
        return all;
    }

    @Override
    public Map<String, Tensor> buffers() {
        Map<String, Tensor> all = new LinkedHashMap<>();
        children.forEach((name, m) -> m.buffers().forEach((k, t) -> all.put(name + "." + k, t)));
        return all;
    }

    /** Runs the child {@code name} on {@code x} with its part of {@code state}, and carries its buffer updates back. */
    protected final <T> T call(String name, Ops<T> ops, Map<String, T> state, T x) {
        Module m = children.get(name);
        if (m == null) {
            throw new IllegalArgumentException("no child named '" + name + "'; children: " + children.keySet());
        }
        String prefix = name + ".";
        Map<String, T> sub = new LinkedHashMap<>();
        state.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                sub.put(k.substring(prefix.length()), v);
            }
        });
        Map<String, T> before = new LinkedHashMap<>(sub);
        T y = ForwardHooks.around(name, m, x, () -> m.forward(ops, sub, x));
        sub.forEach((k, v) -> {
            if (before.get(k) != v) {
                state.put(prefix + k, v);
            }
        });
        return y;
    }

    /** The children's names in order, for containers that run them one after another. */
    protected final List<String> names() {
        return new ArrayList<>(children.keySet());
    }
}

package org.lipa.models.nn;

import java.util.function.Supplier;

/**
 * Sees every sub-module call a forward pass makes through {@link Container#call}, with its dotted path
 * ({@code blocks.0.branch}), its input and its output, like PyTorch's forward hooks. Analyses use it to
 * find what each layer receives (the input shape of a convolution, the activations a local Jacobian is
 * taken at) without the modules knowing. Observation is scoped to the calling thread and to the body
 * given to {@link #observe}; outside it, containers pay one unbound-scoped-value check per call.
 *
 * <pre>{@code
 * Map<String, Tensor> inputs = new LinkedHashMap<>();
 * Tensor y = ForwardHooks.observe((path, m, in, out) -> inputs.put(path, (Tensor) in),
 *         () -> net.forward(new Eager(cpu, arena), x));
 * }</pre>
 *
 * <p>Thread safety: stateless; the observer is bound to the calling thread's scope (a {@link ScopedValue}), so concurrent observations on other threads do not see each other.
 */
public final class ForwardHooks {
    private ForwardHooks() {
    }

    /** Told of each call after it returns (so a child is reported before its parent). */
    @FunctionalInterface
    public interface Observer {
        void called(String path, Module module, Object input, Object output);
    }

    private record Frame(Observer observer, String prefix) {
    }

    private static final ScopedValue<Frame> CURRENT = ScopedValue.newInstance();

    /** Runs {@code body} with {@code observer} told of every container call inside it, on this thread. */
    public static <R> R observe(Observer observer, Supplier<R> body) {
        return ScopedValue.where(CURRENT, new Frame(observer, "")).call(body::get);
    }

    /** Calls {@code call} (the child {@code name} of the current container) and reports it when observed. */
    static <T> T around(String name, Module module, T x, Supplier<T> call) {
        if (!CURRENT.isBound()) {
            return call.get();
        }
        Frame f = CURRENT.get();
        String path = f.prefix().isEmpty() ? name : f.prefix() + "." + name;
        T y = ScopedValue.where(CURRENT, new Frame(f.observer(), path)).call(call::get);
        f.observer().called(path, module, x, y);
        return y;
    }
}

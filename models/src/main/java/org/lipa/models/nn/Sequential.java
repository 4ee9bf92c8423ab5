package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.ops.Ops;

/**
 * Modules applied in order; state names are prefixed with the module's index, as in PyTorch's
 * {@code nn.Sequential} ({@code 0.weight}, {@code 2.bias}, ...).
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Sequential extends Container {
    private final List<Module> modules;

    public Sequential(List<? extends Module> modules) {
        this.modules = List.copyOf(modules);
        for (int i = 0; i < this.modules.size(); i++) {
            add(Integer.toString(i), this.modules.get(i));
        }
    }

    public Sequential(Module... modules) {
        this(List.of(modules));
    }

    /** An MLP {@code widths[0] -> ... -> widths[n]} with the activation between linear layers. */
    public static Sequential mlp(Arena arena, Random rnd, Activation activation, int... widths) {
        if (widths.length < 2) {
            throw new IllegalArgumentException("an MLP needs at least two widths, got " + widths.length);
        }
        List<Module> layers = new ArrayList<>();
        for (int l = 0; l + 1 < widths.length; l++) {
            layers.add(new Linear(arena, rnd, widths[l], widths[l + 1], true));
            if (l + 2 < widths.length) {
                layers.add(activation);
            }
        }
        return new Sequential(layers);
    }

    /** The modules in order. */
    public List<Module> modules() {
        return modules;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> state, T x) {
        T h = x;
        for (int i = 0; i < modules.size(); i++) {
            h = call(Integer.toString(i), ops, state, h);
        }
        return h;
    }
}

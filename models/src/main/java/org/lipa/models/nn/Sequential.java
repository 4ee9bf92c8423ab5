package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * Modules applied in order; parameter names are prefixed with the module's index, as in PyTorch's
 * {@code nn.Sequential} ({@code 0.weight}, {@code 2.bias}, ...).
 */
public final class Sequential implements Module {
    private final List<Module> modules;
    private final Map<String, Tensor> params = new LinkedHashMap<>();

    public Sequential(List<Module> modules) {
        this.modules = List.copyOf(modules);
        for (int i = 0; i < this.modules.size(); i++) {
            int index = i;
            this.modules.get(i).parameters().forEach((name, t) -> params.put(index + "." + name, t));
        }
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

    public List<Module> modules() {
        return modules;
    }

    @Override
    public Map<String, Tensor> parameters() {
        return params;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> p, T x) {
        T h = x;
        for (int i = 0; i < modules.size(); i++) {
            String prefix = i + ".";
            Map<String, T> sub = new LinkedHashMap<>();
            p.forEach((name, v) -> {
                if (name.startsWith(prefix)) {
                    sub.put(name.substring(prefix.length()), v);
                }
            });
            h = modules.get(i).forward(ops, sub, h);
        }
        return h;
    }
}

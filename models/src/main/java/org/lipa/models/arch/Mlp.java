package org.lipa.models.arch;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.BatchNorm;
import org.lipa.models.nn.Container;
import org.lipa.models.nn.LayerNorm;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Residual;
import org.lipa.models.nn.Sequential;
import org.lipa.ops.Ops;

/**
 * An MLP of any depth and width for depth studies: {@code input: in -> width}, then {@code depth} hidden
 * blocks {@code width -> width} (each {@code [norm] linear activation}, inside a residual connection when
 * {@code residual}), then {@code head: width -> out}. State names: {@code input, blocks.i.branch.*, head}.
 * For the plain {@code 784-256-256-10} network with PyTorch's {@code nn.Sequential} names use
 * {@link Sequential#mlp}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Mlp extends Container {
    /** The normalization inside each hidden block. */
    public enum Norm { NONE, LAYER, BATCH }

    private final Activation activation;

    public Mlp(Arena arena, Random rnd, int in, int width, int depth, int out, Activation activation, boolean residual,
            Norm norm) {
        if (in <= 0 || width <= 0 || depth < 0 || out <= 0) {
            throw new IllegalArgumentException("mlp: in, width, out must be > 0 and depth >= 0, got " + in + ", " + width + ", "
                    + depth + ", " + out);
        }
        this.activation = activation;
        add("input", new Linear(arena, rnd, in, width, true));
        List<Module> blocks = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            List<Module> branch = new ArrayList<>();
            switch (norm) {
                case LAYER -> branch.add(new LayerNorm(arena, 1e-5, width));
                case BATCH -> branch.add(new BatchNorm(arena, width));
                case NONE -> {
                }
            }
            branch.add(new Linear(arena, rnd, width, width, true));
            branch.add(activation);
            Sequential b = new Sequential(branch);
            blocks.add(residual ? Residual.of(b) : Residual.plain(b));
        }
        add("blocks", new Sequential(blocks));
        add("head", new Linear(arena, rnd, width, out, true));
    }

    /** The nonlinearity after the input layer and inside every block. */
    public Activation activation() {
        return activation;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        T h = activation.forward(ops, s, call("input", ops, s, x));
        return call("head", ops, s, call("blocks", ops, s, h));
    }
}

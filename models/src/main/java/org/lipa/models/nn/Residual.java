package org.lipa.models.nn;

import java.util.Map;
import org.lipa.ops.Ops;

/**
 * {@code y = shortcut(x) + branch(x)}, the identity shortcut when none is given, and {@code y = branch(x)}
 * in the no-shortcut ("plain") variant that gradient-flow experiments compare against. State names:
 * {@code branch.*}, {@code shortcut.*}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Residual extends Container {
    private final boolean hasShortcut;
    private final boolean identity;

    /** {@code x + branch(x)}. */
    public static Residual of(Module branch) {
        return new Residual(branch, null, true);
    }

    /** {@code branch(x)} alone: the same parameters without the skip connection. */
    public static Residual plain(Module branch) {
        return new Residual(branch, null, false);
    }

    /** {@code shortcut(x) + branch(x)}, for a projection when the branch changes the shape. */
    public static Residual projected(Module branch, Module shortcut) {
        return new Residual(branch, shortcut, true);
    }

    private Residual(Module branch, Module shortcut, boolean hasShortcut) {
        add("branch", branch);
        if (shortcut != null) {
            add("shortcut", shortcut);
        }
        this.hasShortcut = hasShortcut;
        this.identity = shortcut == null;
    }

    /** Whether the block adds a shortcut (the identity or its {@code shortcut} child); false for the plain variant. */
    public boolean hasShortcut() {
        return hasShortcut;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        T y = call("branch", ops, s, x);
        if (!hasShortcut) {
            return y;
        }
        return ops.add(identity ? x : call("shortcut", ops, s, x), y);
    }
}

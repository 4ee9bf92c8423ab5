package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.lipa.ops.Ops;

/**
 * A Transformer encoder block on {@code [B, T, D]}: self-attention and an MLP ({@code D -> ratio D -> D},
 * GELU), each in a residual connection, with layer norm before each branch ({@link Norm#PRE}, as in ViT and
 * GPT-2; trains without warmup) or after each sum ({@link Norm#POST}, the original Transformer). DropPath
 * on the branches when {@code dropPath > 0}. State names: {@code norm1, attn, norm2, mlp.0, mlp.2} as timm's ViT.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class TransformerBlock extends Container {
    /** Where layer norm sits. */
    public enum Norm { PRE, POST }

    private final Norm norm;
    private final boolean dropPath;

    public TransformerBlock(Arena arena, Random rnd, Attention.Kind kind, Norm norm, int dim, int heads, int mlpRatio,
            double dropPath) {
        this.norm = norm;
        this.dropPath = dropPath > 0;
        add("norm1", new LayerNorm(arena, 1e-5, dim));
        add("attn", new Attention(arena, rnd, kind, dim, heads));
        add("norm2", new LayerNorm(arena, 1e-5, dim));
        add("mlp", Sequential.mlp(arena, rnd, Activation.GELU, dim, mlpRatio * dim, dim));
        if (this.dropPath) {
            add("drop_path1", Dropout.dropPath(arena, dropPath, rnd.nextInt(1 << 30)));
            add("drop_path2", Dropout.dropPath(arena, dropPath, rnd.nextInt(1 << 30)));
        }
    }

    private <T> T branch(String name, String drop, Ops<T> ops, Map<String, T> s, T x) {
        T y = call(name, ops, s, x);
        return dropPath ? call(drop, ops, s, y) : y;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        if (norm == Norm.PRE) {
            T h = ops.add(x, branch("attn", "drop_path1", ops, s, call("norm1", ops, s, x)));
            return ops.add(h, branch("mlp", "drop_path2", ops, s, call("norm2", ops, s, h)));
        }
        T h = call("norm1", ops, s, ops.add(x, branch("attn", "drop_path1", ops, s, x)));
        return call("norm2", ops, s, ops.add(h, branch("mlp", "drop_path2", ops, s, h)));
    }
}

package org.lipa.models.arch;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Container;
import org.lipa.models.nn.Embedding;
import org.lipa.models.nn.LayerNorm;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Sequential;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A Transformer encoder that classifies token sequences: one-hot tokens {@code [B, length * vocab]} (as
 * the synthetic sequence data sets hold them) are embedded, given learned positions, passed through
 * {@code depth} blocks, normalized, averaged over positions and classified. State names: {@code embed,
 * pos_embed, blocks.i.*, norm, head}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class SequenceTransformer extends Container {
    private final int length;
    private final int vocab;

    public SequenceTransformer(Arena arena, Random rnd, Attention.Kind kind, TransformerBlock.Norm norm, int length, int vocab,
            int dim, int depth, int heads, int classes) {
        if (length <= 0 || vocab <= 0) {
            throw new IllegalArgumentException("sequence transformer: length and vocab must be > 0, got " + length + ", " + vocab);
        }
        this.length = length;
        this.vocab = vocab;
        add("embed", new Embedding(arena, rnd, vocab, dim));
        own.put("pos_embed", Tensor.of(arena, Init.truncatedNormal(rnd, 0.02, 1, length, dim), 1, length, dim));
        List<TransformerBlock> blocks = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            blocks.add(new TransformerBlock(arena, rnd, kind, norm, dim, heads, 2, 0));
        }
        add("blocks", new Sequential(blocks));
        add("norm", new LayerNorm(arena, 1e-5, dim));
        add("head", new Linear(arena, rnd, dim, classes, true));
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        long b = ops.shape(x).dim(0);
        T tokens = ops.reshape(x, b, length, vocab);
        T h = ops.add(call("embed", ops, s, tokens), s.get("pos_embed"));
        h = call("norm", ops, s, call("blocks", ops, s, h));
        return call("head", ops, s, ops.mean(h, false, 1));
    }
}

package org.lipa.models.arch;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Container;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.LayerNorm;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Sequential;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;

/**
 * A small Vision Transformer (Dosovitskiy et al., 2021) on {@code [B, C, H, W]} images: non-overlapping
 * {@code patch x patch} patches embedded by a strided convolution, a class token, learned position
 * embeddings, pre-norm blocks, a final layer norm and a linear head on the class token. State names
 * follow timm's {@code VisionTransformer}: {@code cls_token, pos_embed, patch_embed.proj, blocks.i.*,
 * norm, head}.
 *
 * <pre>{@code
 * var vit = new VisionTransformer(arena, new Random(0), Attention.Kind.DOT, 1, 28, 7, 64, 4, 4, 2, 10);
 * }</pre>
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class VisionTransformer extends Container {
    private final int blocks;
    private final int dim;

    public VisionTransformer(Arena arena, Random rnd, Attention.Kind kind, int channels, int image, int patch, int dim,
            int depth, int heads, int mlpRatio, int classes) {
        if (patch <= 0 || image % patch != 0) {
            throw new IllegalArgumentException("vit: image " + image + " must be a multiple of patch " + patch);
        }
        int tokens = (image / patch) * (image / patch) + 1;
        this.blocks = depth;
        this.dim = dim;
        own.put("cls_token", Tensor.of(arena, Init.truncatedNormal(rnd, 0.02, 1, 1, dim), 1, 1, dim));
        own.put("pos_embed", Tensor.of(arena, Init.truncatedNormal(rnd, 0.02, 1, tokens, dim), 1, tokens, dim));
        add("patch_embed", new PatchEmbed(arena, rnd, channels, dim, patch));
        java.util.List<TransformerBlock> list = new java.util.ArrayList<>();
        for (int i = 0; i < depth; i++) {
            list.add(new TransformerBlock(arena, rnd, kind, TransformerBlock.Norm.PRE, dim, heads, mlpRatio, 0));
        }
        add("blocks", new Sequential(list));
        add("norm", new LayerNorm(arena, 1e-6, dim));
        add("head", new Linear(arena, rnd, dim, classes, true));
    }

    /** {@code patch_embed.proj}: the strided convolution, then {@code [B, D, h, w] -> [B, h w, D]}. */
    static final class PatchEmbed extends Container {
        PatchEmbed(Arena arena, Random rnd, int channels, int dim, int patch) {
            add("proj", new Conv2d(arena, rnd, channels, dim, patch, patch, 0, 1, true));
        }

        @Override
        public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
            T y = call("proj", ops, s, x);
            var ys = ops.shape(y);
            return ops.transpose(ops.reshape(y, ys.dim(0), ys.dim(1), ys.dim(2) * ys.dim(3)), 1, 2);
        }
    }

    public int depth() {
        return blocks;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        T patches = call("patch_embed", ops, s, x);
        long b = ops.shape(patches).dim(0);
        T cls = ops.expand(s.get("cls_token"), org.lipa.tensor.Shape.of(b, 1, dim));
        T h = ops.add(ops.concat(1, cls, patches), s.get("pos_embed"));
        h = call("norm", ops, s, call("blocks", ops, s, h));
        T first = ops.reshape(ops.slice(h, 1, 0, 1), b, dim);
        return call("head", ops, s, first);
    }
}

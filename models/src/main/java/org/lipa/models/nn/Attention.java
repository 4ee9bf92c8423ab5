package org.lipa.models.nn;

import java.lang.foreign.Arena;
import java.util.Map;
import java.util.Random;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Multi-head self-attention on {@code x [B, T, D]} with {@code heads} heads of size {@code D / heads}, in
 * three variants whose Lipschitz behaviour differs:
 * <ul>
 * <li>{@link Kind#DOT}: scaled dot-product attention (Vaswani et al., 2017),
 *     {@code softmax(q k^T / sqrt(d)) v}; not Lipschitz on unbounded inputs, its local constant grows with
 *     the input's scale. Parameters {@code q_proj, k_proj, v_proj, out_proj}.</li>
 * <li>{@link Kind#L2}: L2-distance attention (Kim et al., 2021), {@code softmax(-||q_i - k_j||^2 / sqrt(d))}
 *     with tied query and key projections and the value map {@code x W_q W_q^T / sqrt(d)} per head, which
 *     makes it Lipschitz on all of {@code R^{T x D}}. Parameters {@code q_proj} (no bias), {@code out_proj}
 *     from {@code heads * D} to {@code D}.</li>
 * <li>{@link Kind#COSINE}: scaled cosine-similarity attention (Swin Transformer v2; LipsFormer),
 *     {@code softmax(cos(q_i, k_j) * exp(logit_scale)) v} with a learnable {@code logit_scale [heads, 1, 1]}
 *     (initially log 10, capped at log 100); scores are bounded whatever the input's scale.</li>
 * </ul>
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class Attention extends Container {
    /** The similarity that weights the values. */
    public enum Kind { DOT, L2, COSINE }

    private static final double MAX_LOGIT_SCALE = Math.log(100);

    private final Kind kind;
    private final int heads;
    private final int dim;

    public Attention(Arena arena, Random rnd, Kind kind, int dim, int heads) {
        if (dim <= 0 || heads <= 0 || dim % heads != 0) {
            throw new IllegalArgumentException("attention: dim " + dim + " must be a positive multiple of heads " + heads);
        }
        this.kind = kind;
        this.heads = heads;
        this.dim = dim;
        if (kind == Kind.L2) {
            add("q_proj", new Linear(arena, rnd, dim, dim, false));
            add("out_proj", new Linear(arena, rnd, heads * dim, dim, true));
        } else {
            add("q_proj", new Linear(arena, rnd, dim, dim, true));
            add("k_proj", new Linear(arena, rnd, dim, dim, true));
            add("v_proj", new Linear(arena, rnd, dim, dim, true));
            add("out_proj", new Linear(arena, rnd, dim, dim, true));
        }
        if (kind == Kind.COSINE) {
            own.put("logit_scale", Tensor.full(arena, DType.F32, Shape.of(heads, 1, 1), Math.log(10)));
        }
    }

    public Kind kind() {
        return kind;
    }

    /** {@code [B, T, D] -> [B, H, T, D/H]}. */
    private <T> T split(Ops<T> ops, T x) {
        Shape s = ops.shape(x);
        return ops.permute(ops.reshape(x, s.dim(0), s.dim(1), heads, dim / heads), 0, 2, 1, 3);
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        Shape xs = ops.shape(x);
        if (xs.rank() != 3 || xs.dim(2) != dim) {
            throw new IllegalArgumentException("attention: x must be [batch, tokens, " + dim + "], got " + xs);
        }
        long b = xs.dim(0);
        long t = xs.dim(1);
        double scale = 1 / Math.sqrt(dim / (double) heads);
        T q = split(ops, call("q_proj", ops, s, x));
        T heads_;
        switch (kind) {
            case DOT -> {
                T k = split(ops, call("k_proj", ops, s, x));
                T v = split(ops, call("v_proj", ops, s, x));
                T p = ops.softmax(ops.scale(ops.matmul(q, ops.transpose(k, -1, -2)), scale), -1);
                heads_ = ops.matmul(p, v);
            }
            case L2 -> {
                // -||q_i - q_j||^2 = 2 q_i.q_j - |q_i|^2 - |q_j|^2; the |q_i|^2 term is constant along the softmax's axis
                T sq = ops.sum(ops.square(q), true, -1);
                T dist = ops.sub(ops.scale(ops.matmul(q, ops.transpose(q, -1, -2)), 2), ops.transpose(sq, -1, -2));
                T p = ops.softmax(ops.scale(dist, scale), -1);
                // value map per head: x W_q,h W_q,h^T / sqrt(d) = q_h W_q,h^T / sqrt(d), back in R^D
                T wq = ops.reshape(s.get("q_proj.weight"), heads, dim / heads, dim);
                T v = ops.scale(ops.matmul(q, wq), scale);
                heads_ = ops.matmul(p, v);
            }
            case COSINE -> {
                T k = split(ops, call("k_proj", ops, s, x));
                T v = split(ops, call("v_proj", ops, s, x));
                T qn = ops.div(q, ops.affine(ops.norm(q, true, -1), 1, 1e-6));
                T kn = ops.div(k, ops.affine(ops.norm(k, true, -1), 1, 1e-6));
                T logitScale = ops.exp(ops.clip(s.get("logit_scale"), -MAX_LOGIT_SCALE, MAX_LOGIT_SCALE));
                T p = ops.softmax(ops.mul(ops.matmul(qn, ops.transpose(kn, -1, -2)), logitScale), -1);
                heads_ = ops.matmul(p, v);
            }
            default -> throw new AssertionError(kind);
        }
        // [B, H, T, e] -> [B, T, H * e]
        long e = ops.shape(heads_).dim(3);
        T merged = ops.reshape(ops.contiguous(ops.permute(heads_, 0, 2, 1, 3)), b, t, heads * e);
        return call("out_proj", ops, s, merged);
    }
}

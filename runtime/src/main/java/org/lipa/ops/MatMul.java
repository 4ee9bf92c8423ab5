package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * Batched matrix product {@code a @ b (+ bias)}: {@code a [..., M, K]}, {@code b [..., K, N]}, result
 * {@code [..., M, N]}, where the batch dimensions broadcast numpy-style and an optional third input
 * {@code bias} broadcasts to the result. Transposed operands are passed as transposed views.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record MatMul() implements Op {
    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 2, 3);
        var d = Checks.sameDType(this, in, "a", "b", "bias");
        Shape a = in.get(0).shape();
        Shape b = in.get(1).shape();
        Checks.rank(this, "a", in.get(0), 2, Shape.MAX_RANK);
        Checks.rank(this, "b", in.get(1), 2, Shape.MAX_RANK);
        if (a.dim(-1) != b.dim(-2)) {
            throw new IllegalArgumentException("matmul: a " + a + " has " + a.dim(-1) + " columns but b " + b
                    + " has " + b.dim(-2) + " rows");
        }
        Shape batch;
        try {
            batch = Shape.broadcast(a.sub(0, a.rank() - 2), b.sub(0, b.rank() - 2));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("matmul: batch dimensions of a " + a + " and b " + b + " do not broadcast", e);
        }
        long[] out = new long[batch.rank() + 2];
        System.arraycopy(batch.toArray(), 0, out, 0, batch.rank());
        out[batch.rank()] = a.dim(-2);
        out[batch.rank() + 1] = b.dim(-1);
        Shape result = Shape.of(out);
        if (in.size() == 3) {
            Shape bias = in.get(2).shape();
            if (bias.rank() > result.rank() || !broadcastsTo(bias, result)) {
                throw new IllegalArgumentException("matmul: bias " + bias + " does not broadcast to the result " + result);
            }
        }
        return List.of(new TensorSpec(result, d));
    }

    private static boolean broadcastsTo(Shape from, Shape to) {
        for (int i = 1; i <= from.rank(); i++) {
            long d = from.dim(-i);
            if (d != 1 && d != to.dim(-i)) {
                return false;
            }
        }
        return true;
    }

    @Override
    public String name() {
        return "matmul";
    }
}

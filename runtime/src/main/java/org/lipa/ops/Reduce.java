package org.lipa.ops;

import java.util.List;
import java.util.TreeSet;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * A reduction over {@code axes} (sorted, non-negative, distinct once inferred against a rank; an empty
 * list means every axis). Reduced axes stay as size 1 when {@code keepDims}, else they are dropped.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Reduce(Kind kind, List<Integer> axes, boolean keepDims) implements Op {
    /** Sum, mean, max, min, and the Euclidean norm sqrt(sum x^2). */
    public enum Kind { SUM, MEAN, MAX, MIN, NORM_L2 }

    public Reduce {
        java.util.Objects.requireNonNull(kind, "kind");
        axes = List.copyOf(axes);
    }

    /** The axes normalized against {@code rank}: non-negative, sorted, all axes when empty. */
    public int[] axesFor(int rank) {
        return axesFor(rank, "rank " + rank);
    }

    private int[] axesFor(int rank, String what) {
        TreeSet<Integer> set = new TreeSet<>();
        if (axes.isEmpty()) {
            for (int i = 0; i < rank; i++) {
                set.add(i);
            }
        }
        for (int a : axes) {
            int n = a < 0 ? a + rank : a;
            if (n < 0 || n >= rank) {
                throw new IllegalArgumentException(name() + ": axis " + a + " is out of range for " + what);
            }
            if (!set.add(n)) {
                throw new IllegalArgumentException(name() + ": axis " + a + " is repeated in " + axes);
            }
        }
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The input shape with reduced axes set to 1 (the shape of the result when {@code keepDims}). */
    public Shape keptShape(Shape x) {
        Shape s = x;
        for (int a : axesFor(x.rank(), "x " + x)) {
            s = s.with(a, 1);
        }
        return s;
    }

    @Override
    public List<TensorSpec> infer(List<TensorSpec> in) {
        Checks.arity(this, in, 1, 1);
        Shape x = in.get(0).shape();
        int[] ax = axesFor(x.rank(), "x " + x);
        if (kind == Kind.MAX || kind == Kind.MIN) {
            for (int a : ax) {
                if (x.dim(a) == 0) {
                    throw new IllegalArgumentException(name() + ": axis " + a + " of " + x + " is empty");
                }
            }
        }
        Shape kept = keptShape(x);
        if (keepDims) {
            return List.of(new TensorSpec(kept, in.get(0).dtype()));
        }
        long[] out = new long[x.rank() - ax.length];
        for (int i = 0, j = 0, k = 0; i < x.rank(); i++) {
            if (k < ax.length && ax[k] == i) {
                k++;
            } else {
                out[j++] = x.dim(i);
            }
        }
        return List.of(new TensorSpec(Shape.of(out), in.get(0).dtype()));
    }

    @Override
    public String name() {
        return "reduce_" + kind.name().toLowerCase(java.util.Locale.ROOT);
    }
}

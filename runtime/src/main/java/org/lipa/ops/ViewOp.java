package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * An op that only reinterprets its input's elements (new shape or strides over the same storage)
 * and so needs no kernel: applied to a concrete tensor it returns a view.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public sealed interface ViewOp extends Op permits ViewOp.Reshape, ViewOp.Permute, ViewOp.Expand, ViewOp.Slice {

    /** The view of {@code x} this op denotes. */
    Tensor view(Tensor x);

    /** Same elements, new shape (row-major order). Dimensions are explicit; -1 is resolved by the facade. */
    record Reshape(org.lipa.tensor.Shape shape) implements ViewOp {
        @Override
        public List<TensorSpec> infer(List<TensorSpec> in) {
            Checks.arity(this, in, 1, 1);
            if (in.get(0).shape().size() != shape.size()) {
                throw new IllegalArgumentException("reshape: cannot reshape " + in.get(0).shape() + " ("
                        + in.get(0).shape().size() + " elements) to " + shape + " (" + shape.size() + " elements)");
            }
            return List.of(new TensorSpec(shape, in.get(0).dtype()));
        }

        @Override
        public Tensor view(Tensor x) {
            return x.reshape(shape.toArray());
        }

        @Override
        public String name() {
            return "reshape";
        }
    }

    /** Result dimension i is input dimension {@code perm.get(i)}. */
    record Permute(List<Integer> perm) implements ViewOp {
        public Permute {
            perm = List.copyOf(perm);
        }

        int[] array() {
            return perm.stream().mapToInt(Integer::intValue).toArray();
        }

        @Override
        public List<TensorSpec> infer(List<TensorSpec> in) {
            Checks.arity(this, in, 1, 1);
            var x = in.get(0).shape();
            if (perm.size() != x.rank()) {
                throw new IllegalArgumentException("permute: permutation " + perm + " does not match rank " + x.rank());
            }
            long[] d = new long[x.rank()];
            boolean[] seen = new boolean[x.rank()];
            for (int i = 0; i < d.length; i++) {
                int a = Checks.axis(this, "x", x, perm.get(i));
                if (seen[a]) {
                    throw new IllegalArgumentException("permute: permutation " + perm + " repeats axis " + a);
                }
                seen[a] = true;
                d[i] = x.dim(a);
            }
            return List.of(new TensorSpec(org.lipa.tensor.Shape.of(d), in.get(0).dtype()));
        }

        @Override
        public Tensor view(Tensor x) {
            return x.permute(array());
        }

        @Override
        public String name() {
            return "permute";
        }
    }

    /** Numpy broadcast to {@code shape} (stride-0 repetition). */
    record Expand(org.lipa.tensor.Shape shape) implements ViewOp {
        @Override
        public List<TensorSpec> infer(List<TensorSpec> in) {
            Checks.arity(this, in, 1, 1);
            var x = in.get(0).shape();
            boolean ok;
            try {
                ok = x.rank() <= shape.rank() && org.lipa.tensor.Shape.broadcast(x, shape).equals(shape);
            } catch (IllegalArgumentException clash) {
                ok = false;
            }
            if (!ok) {
                throw new IllegalArgumentException("expand: cannot broadcast " + x + " to " + shape);
            }
            return List.of(new TensorSpec(shape, in.get(0).dtype()));
        }

        @Override
        public Tensor view(Tensor x) {
            return x.broadcastTo(shape);
        }

        @Override
        public String name() {
            return "expand";
        }
    }

    /** Elements {@code start, start + step, ...} below {@code end} along {@code axis} (bounds already normalized). */
    record Slice(int axis, long start, long end, long step) implements ViewOp {
        @Override
        public List<TensorSpec> infer(List<TensorSpec> in) {
            Checks.arity(this, in, 1, 1);
            var x = in.get(0).shape();
            int a = Checks.axis(this, "x", x, axis);
            if (step <= 0 || start < 0 || end < start || end > x.dim(a)) {
                throw new IllegalArgumentException("slice: [" + start + ", " + end + ") step " + step
                        + " is out of range for axis " + axis + " of " + x);
            }
            return List.of(new TensorSpec(x.with(a, (end - start + step - 1) / step), in.get(0).dtype()));
        }

        @Override
        public Tensor view(Tensor x) {
            return x.slice(axis, start, end, step);
        }

        @Override
        public String name() {
            return "slice";
        }
    }
}

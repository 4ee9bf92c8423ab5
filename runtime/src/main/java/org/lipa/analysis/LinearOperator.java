package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.List;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.ops.Conv2d;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eager;
import org.lipa.ops.Hw;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A linear map given by its action and its adjoint's: {@code v -> A v} and {@code u -> A^T u}. Spectral
 * norms and singular values ({@link PowerIteration}, {@link Lanczos}) need nothing else, so they apply to
 * weight matrices, to convolutions as the operators they are, and to Jacobians of networks at a point.
 *
 * <p>Thread safety: the operators made here are as thread-safe as their backend; each call allocates in the arena it is given.
 */
public interface LinearOperator {
    /** Shape and dtype of v. */
    TensorSpec domain();

    /** Shape and dtype of A v. */
    TensorSpec range();

    /** A v, allocated in {@code arena}. */
    Tensor apply(Arena arena, Tensor v);

    /** A^T u, allocated in {@code arena}. */
    Tensor applyTranspose(Arena arena, Tensor u);

    /** The matrix {@code w [m, n]} acting on vectors {@code [n]}. */
    static LinearOperator matrix(Backend backend, Tensor w) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("matrix operator needs a rank-2 tensor, got " + w.spec());
        }
        TensorSpec dom = new TensorSpec(Shape.of(w.shape().dim(1)), w.dtype());
        TensorSpec ran = new TensorSpec(Shape.of(w.shape().dim(0)), w.dtype());
        return new LinearOperator() {
            public TensorSpec domain() {
                return dom;
            }

            public TensorSpec range() {
                return ran;
            }

            public Tensor apply(Arena arena, Tensor v) {
                Eager ops = new Eager(backend, arena);
                return ops.reshape(ops.matmul(w, ops.reshape(v, -1, 1)), -1);
            }

            public Tensor applyTranspose(Arena arena, Tensor u) {
                Eager ops = new Eager(backend, arena);
                return ops.reshape(ops.matmul(ops.transpose(w, 0, 1), ops.reshape(u, -1, 1)), -1);
            }
        };
    }

    /**
     * A 2-D convolution with weights {@code w} on inputs of shape {@code input} (batch 1 is enough: the
     * operator norm does not depend on the batch), without bias: the true operator, with the transposed
     * convolution (its backward-data) as adjoint, not the flattened kernel.
     */
    static LinearOperator conv2d(Backend backend, Tensor w, Shape input, Conv2d conv) {
        TensorSpec dom = new TensorSpec(input, w.dtype());
        TensorSpec ran = conv.infer(List.of(dom, w.spec())).get(0);
        Shape out = ran.shape();
        ConvTranspose2d adjoint = new ConvTranspose2d(conv.stride(), conv.padding(), conv.adjointOutputPadding(input, out, w.shape()),
                conv.dilation(),
                conv.groups());
        return new LinearOperator() {
            public TensorSpec domain() {
                return dom;
            }

            public TensorSpec range() {
                return ran;
            }

            public Tensor apply(Arena arena, Tensor v) {
                return new Eager(backend, arena).apply(conv, List.of(v, w)).get(0);
            }

            public Tensor applyTranspose(Arena arena, Tensor u) {
                return new Eager(backend, arena).apply(adjoint, List.of(u, w)).get(0);
            }
        };
    }

    /**
     * The Jacobian of output {@code out} with respect to input {@code in} of {@code f} at {@code x} (the
     * other inputs held fixed): J v by the linearization, J^T u by the pullback, both reusing one forward
     * pass. {@code arena} keeps that pass and must stay open while the operator is used.
     */
    static LinearOperator jacobian(Differentiable f, Arena arena, List<Tensor> x, int in, int out) {
        Differentiable.LinearMap lin = f.linearize(arena, x);
        Differentiable.Pullback back = f.vjp(arena, x);
        List<TensorSpec> ins = f.graph().inputs().stream().map(n -> n.spec()).toList();
        List<TensorSpec> outs = f.graph().outputs().stream().map(n -> n.spec()).toList();
        return new LinearOperator() {
            public TensorSpec domain() {
                return ins.get(in);
            }

            public TensorSpec range() {
                return outs.get(out);
            }

            public Tensor apply(Arena a, Tensor v) {
                return lin.apply(a, withOne(a, ins, in, v)).get(out);
            }

            public Tensor applyTranspose(Arena a, Tensor u) {
                return back.apply(a, withOne(a, outs, out, u)).get(in);
            }
        };
    }

    /** Zeros of the given specs except {@code value} at {@code which}. */
    private static List<Tensor> withOne(Arena arena, List<TensorSpec> specs, int which, Tensor value) {
        java.util.ArrayList<Tensor> r = new java.util.ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            r.add(i == which ? value : Tensor.zeros(arena, specs.get(i).dtype(), specs.get(i).shape()));
        }
        return r;
    }
}

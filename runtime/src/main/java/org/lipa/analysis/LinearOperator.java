package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.UnaryOperator;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.eval.Eager;
import org.lipa.ops.Conv2d;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A linear map given by its action and its adjoint's: {@code v -> A v} and {@code u -> A^T u}. Spectral
 * norms, singular values and eigenvalues ({@link PowerIteration}, {@link Lanczos}, {@link Hutchinson},
 * {@link SpectralDensity}) need nothing else, so they apply to weight matrices, to convolutions as the
 * operators they are, to Jacobians of networks at a point and to loss Hessians.
 *
 * <p>Two levels: tensors ({@link #apply(Arena, Tensor)}, the operator's own shapes and dtype) and heap
 * vectors in double precision ({@link #apply(double[])}, what the iterative methods work on). The tensor
 * level is the one to implement; the vector level converts through a confined arena by default, and the
 * heap operators ({@link #dense}, {@link #symmetric}) implement it directly.
 *
 * <pre>{@code
 * LinearOperator a = LinearOperator.dense(new double[] {3, 0, 0, 0, 4, 0}, 2, 3);   // 2 x 3
 * double[] av = a.apply(new double[] {1, 1, 1});                                    // {3, 4}
 * LinearOperator h = LinearOperator.symmetric(n, v -> hessianTimes(v));             // H v, H symmetric
 * }</pre>
 *
 * <p>Thread safety: the operators made here are as thread-safe as their backend (or product function); each
 * call allocates in the arena it is given.
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

    /** The number of entries of v: A's column count. */
    default int domainSize() {
        return Math.toIntExact(domain().shape().size());
    }

    /** The number of entries of A v: A's row count. */
    default int rangeSize() {
        return Math.toIntExact(range().shape().size());
    }

    /**
     * A v for a heap vector (the domain's entries in row-major order), in double precision: v is converted to
     * the domain's dtype, so a float32 operator rounds it. Must not modify {@code v}.
     *
     * @throws IllegalArgumentException when v's length is not {@link #domainSize()}
     */
    default double[] apply(double[] v) {
        checkLength("v", v, domainSize());
        try (Arena step = Arena.ofConfined()) {
            return apply(step, Tensor.of(step, domain().dtype(), v, domain().shape().toArray())).toDoubleArray();
        }
    }

    /**
     * A^T u for a heap vector, in double precision (see {@link #apply(double[])}).
     *
     * @throws IllegalArgumentException when u's length is not {@link #rangeSize()}
     */
    default double[] applyTranspose(double[] u) {
        checkLength("u", u, rangeSize());
        try (Arena step = Arena.ofConfined()) {
            return applyTranspose(step, Tensor.of(step, range().dtype(), u, range().shape().toArray())).toDoubleArray();
        }
    }

    /**
     * The operator written out as a row-major {@code rangeSize x domainSize} matrix: by columns {@code A e_j}
     * or by rows {@code A^T e_i}, whichever takes fewer products ({@code min(rows, cols)}).
     *
     * @throws IllegalArgumentException when the matrix would have more than {@code Integer.MAX_VALUE - 8} entries
     */
    default double[] toMatrix() {
        int n = domainSize();
        int m = rangeSize();
        if ((long) m * n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("toMatrix: a " + m + " x " + n + " matrix does not fit in one array");
        }
        double[] a = new double[m * n];
        if (n <= m) {
            for (int j = 0; j < n; j++) {
                double[] e = new double[n];
                e[j] = 1;
                double[] column = apply(e);
                for (int i = 0; i < m; i++) {
                    a[i * n + j] = column[i];
                }
            }
        } else {
            for (int i = 0; i < m; i++) {
                double[] e = new double[m];
                e[i] = 1;
                System.arraycopy(applyTranspose(e), 0, a, i * n, n);
            }
        }
        return a;
    }

    /**
     * The row-major {@code rows x cols} matrix {@code a} (copied) acting on heap vectors in double precision,
     * and on float64 tensors of shapes {@code [cols]} and {@code [rows]}.
     *
     * @throws IllegalArgumentException when {@code a} does not have {@code rows * cols} entries or a size is below 1
     */
    static LinearOperator dense(double[] a, int rows, int cols) {
        if (rows < 1 || cols < 1 || a.length != (long) rows * cols) {
            throw new IllegalArgumentException("a: " + a.length + " entries do not make a " + rows + " x " + cols + " matrix");
        }
        double[] m = a.clone();
        return new HeapOperator(cols, rows) {
            @Override
            public double[] apply(double[] v) {
                checkLength("v", v, cols);
                double[] r = new double[rows];
                for (int i = 0; i < rows; i++) {
                    double s = 0;
                    for (int j = 0; j < cols; j++) {
                        s += m[i * cols + j] * v[j];
                    }
                    r[i] = s;
                }
                return r;
            }

            @Override
            public double[] applyTranspose(double[] u) {
                checkLength("u", u, rows);
                double[] r = new double[cols];
                for (int i = 0; i < rows; i++) {
                    for (int j = 0; j < cols; j++) {
                        r[j] += m[i * cols + j] * u[i];
                    }
                }
                return r;
            }
        };
    }

    /**
     * A symmetric operator on {@code R^n} given by its products {@code v -> A v} (a loss Hessian by
     * Hessian-vector products, for example): its transpose is itself. Symmetry is assumed, not checked; the
     * eigenvalue methods' error bounds hold for symmetric operators only. {@code product} must not modify its
     * argument and must return n values.
     *
     * @throws IllegalArgumentException when n is below 1
     */
    static LinearOperator symmetric(int n, UnaryOperator<double[]> product) {
        if (n < 1) {
            throw new IllegalArgumentException("n must be at least 1, got " + n);
        }
        return new HeapOperator(n, n) {
            @Override
            public double[] apply(double[] v) {
                checkLength("v", v, n);
                double[] r = product.apply(v);
                if (r.length != n) {
                    throw new IllegalStateException("product: returned " + r.length + " values for an operator on R^" + n);
                }
                return r;
            }

            @Override
            public double[] applyTranspose(double[] u) {
                return apply(u);
            }
        };
    }

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
        Differentiable.Linearization lin = f.linearize(arena, x);
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

    private static void checkLength(String name, double[] x, int expected) {
        if (x.length != expected) {
            throw new IllegalArgumentException(name + ": expected " + expected + " entries, got " + x.length);
        }
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

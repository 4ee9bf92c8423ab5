package org.lipa.ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/**
 * The op facade: one method per operation, building the op record and applying it to values of
 * type {@code T}. {@link org.lipa.eval.Eager} applies ops to concrete tensors at once; the graph layer applies the
 * same methods to symbolic values while tracing, so a model written against {@code Ops<T>} runs
 * either way.
 *
 * <p>Composite operations (linear, cross-entropy, mean squared error) live here, built from
 * primitives, so they have one home and need no rules of their own.
 *
 * @param <T> the value type: {@link org.lipa.tensor.Tensor} or a graph node
 *
 * <p>Thread safety: that of the implementation: {@code Eager} allocates in its arena (a confined arena confines it to one thread), a tracer records one trace on one thread.
 */
public abstract class Ops<T> {

    /**
     * Applies {@code op} to {@code inputs}, returning every output. The methods below are sugar over this
     * one; it is public so that a graph can be replayed through any facade.
     *
     * @throws IllegalArgumentException if the inputs do not fit the op's shape rule
     */
    public abstract List<T> apply(Op op, List<T> inputs);

    /** A value holding {@code value}: the tensor itself when eager, a constant node when tracing. */
    public abstract T constant(org.lipa.tensor.Tensor value);

    /** Shape and dtype of a value. */
    public abstract TensorSpec spec(T x);

    /** Applies a single-output op (or takes the first output). */
    @SafeVarargs
    protected final T apply1(Op op, T... inputs) {
        return apply(op, List.of(inputs)).get(0);
    }

    public final Shape shape(T x) {
        return spec(x).shape();
    }

    // ---------------------------------------------------------------- linear algebra

    /** {@code a @ b} with numpy batch broadcasting; see {@link MatMul}. */
    public T matmul(T a, T b) {
        return apply1(new MatMul(), a, b);
    }

    /** {@code a @ b + bias}, the bias broadcast to the result. */
    public T matmul(T a, T b, T bias) {
        return apply1(new MatMul(), a, b, bias);
    }

    /** PyTorch's {@code linear}: {@code x @ w^T + bias} for {@code w [out, in]}; {@code bias} may be null. */
    public T linear(T x, T w, T bias) {
        T wt = transpose(w, -1, -2);
        return bias == null ? matmul(x, wt) : matmul(x, wt, bias);
    }

    /** 2-D convolution; {@code bias} may be null. See {@link Conv2d}. */
    public T conv2d(T x, T w, T bias, Hw stride, Hw padding, Hw dilation, int groups) {
        Conv2d op = new Conv2d(stride, padding, dilation, groups);
        return bias == null ? apply1(op, x, w) : apply1(op, x, w, bias);
    }

    /** Transposed 2-D convolution; {@code bias} may be null. See {@link ConvTranspose2d}. */
    public T convTranspose2d(T x, T w, T bias, Hw stride, Hw padding, Hw outputPadding, Hw dilation, int groups) {
        ConvTranspose2d op = new ConvTranspose2d(stride, padding, outputPadding, dilation, groups);
        return bias == null ? apply1(op, x, w) : apply1(op, x, w, bias);
    }

    // ---------------------------------------------------------------- elementwise

    public T relu(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.RELU), x);
    }

    public T leakyRelu(T x, double negativeSlope) {
        return apply1(new Eltwise(Eltwise.Kind.RELU, negativeSlope, 0), x);
    }

    /** GELU, exact ({@code erf}) or with the tanh approximation. */
    public T gelu(T x, boolean tanhApproximation) {
        return apply1(Eltwise.of(tanhApproximation ? Eltwise.Kind.GELU_TANH : Eltwise.Kind.GELU_ERF), x);
    }

    public T tanh(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.TANH), x);
    }

    public T sigmoid(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.SIGMOID), x);
    }

    public T elu(T x, double alpha) {
        return apply1(new Eltwise(Eltwise.Kind.ELU, alpha, 0), x);
    }

    /** {@code log(1 + exp(beta x)) / beta}. */
    public T softplus(T x, double beta) {
        return apply1(new Eltwise(Eltwise.Kind.SOFTPLUS, beta, 0), x);
    }

    /** {@code x sigmoid(beta x)}; beta 1 is SiLU. */
    public T swish(T x, double beta) {
        return apply1(new Eltwise(Eltwise.Kind.SWISH, beta, 0), x);
    }

    public T exp(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.EXP), x);
    }

    public T log(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.LOG), x);
    }

    public T sqrt(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.SQRT), x);
    }

    public T square(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.SQUARE), x);
    }

    public T abs(T x) {
        return apply1(Eltwise.of(Eltwise.Kind.ABS), x);
    }

    /** {@code min(max(x, lo), hi)}. */
    public T clip(T x, double lo, double hi) {
        return apply1(new Eltwise(Eltwise.Kind.CLIP, lo, hi), x);
    }

    /** {@code alpha x + beta}. */
    public T affine(T x, double alpha, double beta) {
        return apply1(new Eltwise(Eltwise.Kind.LINEAR, alpha, beta), x);
    }

    /** {@code alpha x}. */
    public T scale(T x, double alpha) {
        return affine(x, alpha, 0);
    }

    public T neg(T x) {
        return affine(x, -1, 0);
    }

    // ---------------------------------------------------------------- binary, numpy broadcasting

    public T add(T a, T b) {
        return apply1(new Binary(Binary.Kind.ADD), a, b);
    }

    public T sub(T a, T b) {
        return apply1(new Binary(Binary.Kind.SUB), a, b);
    }

    public T mul(T a, T b) {
        return apply1(new Binary(Binary.Kind.MUL), a, b);
    }

    public T div(T a, T b) {
        return apply1(new Binary(Binary.Kind.DIV), a, b);
    }

    public T maximum(T a, T b) {
        return apply1(new Binary(Binary.Kind.MAX), a, b);
    }

    public T minimum(T a, T b) {
        return apply1(new Binary(Binary.Kind.MIN), a, b);
    }

    // ---------------------------------------------------------------- softmax and normalization

    public T softmax(T x, int axis) {
        return apply1(new Softmax(axis, false), x);
    }

    public T logSoftmax(T x, int axis) {
        return apply1(new Softmax(axis, true), x);
    }

    /** Layer norm over the last {@code gamma}'s rank dimensions; see {@link LayerNorm}. */
    public T layerNorm(T x, T gamma, T beta, double eps) {
        return apply1(new LayerNorm(spec(gamma).shape().rank(), eps), x, gamma, beta);
    }

    /** Batch norm with batch statistics; returns {@code y}, batch mean and biased batch variance. */
    public List<T> batchNormTraining(T x, T gamma, T beta, double eps) {
        return apply(new BatchNorm(eps, true), List.of(x, gamma, beta));
    }

    /** Batch norm with running statistics. */
    public T batchNormInference(T x, T gamma, T beta, T runningMean, T runningVar, double eps) {
        return apply(new BatchNorm(eps, false), List.of(x, gamma, beta, runningMean, runningVar)).get(0);
    }

    public T groupNorm(T x, int groups, T gamma, T beta, double eps) {
        return apply1(new GroupNorm(groups, eps), x, gamma, beta);
    }

    // ---------------------------------------------------------------- pooling

    public T maxPool2d(T x, Hw kernel, Hw stride, Hw padding) {
        return apply1(new Pool2d(Pool2d.Kind.MAX, kernel, stride, padding), x);
    }

    /** Average pooling; {@code countIncludePad} as in PyTorch. */
    public T avgPool2d(T x, Hw kernel, Hw stride, Hw padding, boolean countIncludePad) {
        return apply1(new Pool2d(countIncludePad ? Pool2d.Kind.AVG_INCLUDE_PAD : Pool2d.Kind.AVG_EXCLUDE_PAD,
                kernel, stride, padding), x);
    }

    // ---------------------------------------------------------------- reductions

    /** Sum over {@code axes} (all when none are given). */
    public T sum(T x, boolean keepDims, int... axes) {
        return reduce(Reduce.Kind.SUM, x, keepDims, axes);
    }

    public T mean(T x, boolean keepDims, int... axes) {
        return reduce(Reduce.Kind.MEAN, x, keepDims, axes);
    }

    public T max(T x, boolean keepDims, int... axes) {
        return reduce(Reduce.Kind.MAX, x, keepDims, axes);
    }

    public T min(T x, boolean keepDims, int... axes) {
        return reduce(Reduce.Kind.MIN, x, keepDims, axes);
    }

    /** Euclidean norm over {@code axes} (all when none are given). */
    public T norm(T x, boolean keepDims, int... axes) {
        return reduce(Reduce.Kind.NORM_L2, x, keepDims, axes);
    }

    private T reduce(Reduce.Kind kind, T x, boolean keepDims, int[] axes) {
        return apply1(new Reduce(kind, Arrays.stream(axes).boxed().toList(), keepDims), x);
    }

    // ---------------------------------------------------------------- losses (composites)

    /**
     * Mean over the batch of {@code -sum_c target[c] log softmax(logits)[c]}: logits {@code [B, C]}, target
     * probabilities {@code [B, C]} (one-hot rows for hard labels, see {@code Tensor.oneHot}).
     */
    public T crossEntropy(T logits, T target) {
        var l = spec(logits).shape();
        if (l.rank() != 2 || !spec(target).shape().equals(l)) {
            throw new IllegalArgumentException("cross_entropy: logits must be [batch, classes] and target the same shape; got logits "
                    + l + " and target " + spec(target).shape());
        }
        T perRow = sum(mul(target, logSoftmax(logits, -1)), false, -1);
        return neg(mean(perRow, false));
    }

    /** Mean squared error {@code mean((prediction - target)^2)} over every element. */
    public T mse(T prediction, T target) {
        if (!spec(prediction).shape().equals(spec(target).shape())) {
            throw new IllegalArgumentException("mse: prediction " + spec(prediction).shape() + " and target "
                    + spec(target).shape() + " differ in shape");
        }
        return mean(square(sub(prediction, target)), false);
    }

    // ---------------------------------------------------------------- layout

    /** Joins along {@code axis}. */
    @SafeVarargs
    public final T concat(int axis, T... xs) {
        return apply(new Concat(axis), List.of(xs)).get(0);
    }

    // ---------------------------------------------------------------- random numbers

    /**
     * A sample of {@code spec} drawn as a pure function of {@code key} (see {@link RandomSample}): returns
     * the sample and the next key, which the caller keeps for its next draw.
     */
    public List<T> random(T key, RandomSample.Distribution distribution, double p, TensorSpec spec) {
        return apply(new RandomSample(distribution, p, spec), List.of(key));
    }

    /** A contiguous copy converted to {@code dtype}. */
    public T cast(T x, DType dtype) {
        return apply1(new Cast(dtype), x);
    }

    /** A contiguous copy. */
    public T contiguous(T x) {
        return cast(x, spec(x).dtype());
    }

    /** Same elements, new shape; one dimension may be -1. */
    public T reshape(T x, long... dims) {
        Shape in = shape(x);
        long known = 1;
        int infer = -1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(dims) + ": only one dimension may be -1");
                }
                infer = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException("reshape to " + Arrays.toString(dims) + ": dimension " + i + " is negative");
            } else {
                try {
                    known = Math.multiplyExact(known, dims[i]);
                } catch (ArithmeticException e) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(dims) + ": element count overflows a long", e);
                }
            }
        }
        long[] d = dims.clone();
        if (infer >= 0) {
            if (known == 0 || in.size() % known != 0) {
                throw new IllegalArgumentException("reshape: cannot reshape " + in + " (" + in.size() + " elements) to "
                        + Arrays.toString(dims));
            }
            d[infer] = in.size() / known;
        }
        return apply1(new ViewOp.Reshape(Shape.of(d)), x);
    }

    public T permute(T x, int... perm) {
        return apply1(new ViewOp.Permute(Arrays.stream(perm).boxed().toList()), x);
    }

    /** Two axes swapped. */
    public T transpose(T x, int a, int b) {
        int r = shape(x).rank();
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) {
            perm[i] = i;
        }
        int aa = shape(x).axis(a);
        int bb = shape(x).axis(b);
        perm[aa] = bb;
        perm[bb] = aa;
        return permute(x, perm);
    }

    /** Broadcast view to {@code shape}. */
    public T expand(T x, Shape shape) {
        return apply1(new ViewOp.Expand(shape), x);
    }

    /** Elements {@code [start, end)} along {@code axis}, negative bounds counting from the end. */
    public T slice(T x, int axis, long start, long end) {
        long n = shape(x).dim(axis);
        long s = start < 0 ? start + n : start;
        long e = end < 0 ? end + n : end;
        return apply1(new ViewOp.Slice(shape(x).axis(axis), s, e, 1), x);
    }

    /** The specs of several values (for messages and shape rules). */
    protected final List<TensorSpec> specs(List<T> xs) {
        List<TensorSpec> out = new ArrayList<>(xs.size());
        for (T x : xs) {
            out.add(spec(x));
        }
        return out;
    }
}

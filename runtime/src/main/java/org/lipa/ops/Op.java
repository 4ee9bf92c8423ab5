package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.TensorSpec;

/**
 * A primitive operation: a record of its parameters plus its shape rule. Inputs are not part of
 * the op; they are given when it is applied ({@link Ops}) or executed ({@link org.lipa.backend.Backend}).
 *
 * <p>The type is sealed so that every switch over ops (backends, differentiation rules) is checked
 * for exhaustiveness by the compiler: an op without a kernel or a rule does not compile.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public sealed interface Op permits MatMul, Conv2d, ConvTranspose2d, Conv2dWeightGrad, Eltwise, EltwiseGrad, Softmax, SoftmaxGrad,
        LayerNorm, LayerNormGrad, BatchNorm, NormGrad,
        GroupNorm, Pool2d, Pool2dGrad, Pool2dTangent, Binary, Reduce, Concat, Cast, Full, RandomSample, ViewOp {

    /**
     * Checks the inputs and returns the specs of the outputs.
     *
     * @throws IllegalArgumentException naming the input and the shape or dtype that is wrong
     */
    List<TensorSpec> infer(List<TensorSpec> inputs);

    /** A short name for messages, like {@code matmul}. */
    String name();
}

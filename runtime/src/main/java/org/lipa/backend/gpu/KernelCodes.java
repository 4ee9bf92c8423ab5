package org.lipa.backend.gpu;

import org.lipa.ops.Binary;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Reduce;

/**
 * The integer codes the CUDA kernels ({@code native/cuda/lipa_kernels.cu}) take for an op's kind: the values of the
 * source's {@code EltwiseKind}, {@code BinaryKind}, {@code ReduceKind} and {@code NormMode} enums, written out on
 * both sides. Exhaustive switches, so a kind added in Java does not compile until it has a code, and reordering a
 * Java enum changes nothing (the kernels once received {@code ordinal()}); {@code KernelCodesTest} reads the CUDA
 * source and checks that every code here is the one there.
 *
 * <p>Thread safety: stateless.
 */
final class KernelCodes {
    static final int NORM_LAYER = 0;
    static final int NORM_BATCH = 1;
    static final int NORM_GROUP = 2;

    private KernelCodes() {
    }

    /** {@code ELT_<kind>} in the CUDA source. */
    static int of(Eltwise.Kind kind) {
        return switch (kind) {
            case RELU -> 0;
            case GELU_TANH -> 1;
            case GELU_ERF -> 2;
            case TANH -> 3;
            case SIGMOID -> 4;
            case ELU -> 5;
            case SOFTPLUS -> 6;
            case SWISH -> 7;
            case EXP -> 8;
            case LOG -> 9;
            case SQRT -> 10;
            case SQUARE -> 11;
            case ABS -> 12;
            case CLIP -> 13;
            case LINEAR -> 14;
        };
    }

    /** {@code BIN_<kind>} in the CUDA source. */
    static int of(Binary.Kind kind) {
        return switch (kind) {
            case ADD -> 0;
            case SUB -> 1;
            case MUL -> 2;
            case DIV -> 3;
            case MAX -> 4;
            case MIN -> 5;
        };
    }

    /** {@code RED_<kind>} in the CUDA source. */
    static int of(Reduce.Kind kind) {
        return switch (kind) {
            case SUM -> 0;
            case MEAN -> 1;
            case MAX -> 2;
            case MIN -> 3;
            case NORM_L2 -> 4;
        };
    }
}

package org.lipa.backend.cpu;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lipa.ops.Binary;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Eltwise.Kind;
import org.lipa.ops.Softmax;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Elementwise functions, softmax and binary ops on oneDNN against the float64 reference. */
@Tag("cpu")
@org.junit.jupiter.api.extension.ExtendWith(SharedCpu.class)
class CpuElementwiseConformanceTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = SharedCpu.backend();
    }

    /** Each kind with its parameters, the input range it is defined on, and a tolerance factor over f32's. */
    static Stream<Arguments> kinds() {
        return Stream.of(
                Arguments.of(Eltwise.of(Kind.RELU), -3.0, 3.0, 1.0),
                Arguments.of(new Eltwise(Kind.RELU, 0.1, 0), -3.0, 3.0, 1.0),
                Arguments.of(Eltwise.of(Kind.GELU_TANH), -4.0, 4.0, 10.0),
                Arguments.of(Eltwise.of(Kind.GELU_ERF), -4.0, 4.0, 10.0),
                Arguments.of(Eltwise.of(Kind.TANH), -4.0, 4.0, 10.0),
                Arguments.of(Eltwise.of(Kind.SIGMOID), -6.0, 6.0, 10.0),
                Arguments.of(new Eltwise(Kind.ELU, 0.7, 0), -3.0, 3.0, 10.0),
                Arguments.of(new Eltwise(Kind.SOFTPLUS, 1.0, 0), -5.0, 5.0, 10.0),
                Arguments.of(new Eltwise(Kind.SOFTPLUS, 2.5, 0), -5.0, 5.0, 10.0),
                Arguments.of(new Eltwise(Kind.SWISH, 1.0, 0), -5.0, 5.0, 10.0),
                Arguments.of(Eltwise.of(Kind.EXP), -4.0, 4.0, 10.0),
                Arguments.of(Eltwise.of(Kind.LOG), 0.05, 10.0, 10.0),
                Arguments.of(Eltwise.of(Kind.SQRT), 0.0, 10.0, 1.0),
                Arguments.of(Eltwise.of(Kind.SQUARE), -3.0, 3.0, 1.0),
                Arguments.of(Eltwise.of(Kind.ABS), -3.0, 3.0, 1.0),
                Arguments.of(new Eltwise(Kind.CLIP, -0.5, 1.5), -3.0, 3.0, 1.0),
                Arguments.of(new Eltwise(Kind.LINEAR, -2.0, 0.25), -3.0, 3.0, 1.0));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void eltwise(Eltwise op, double lo, double hi, double factor) {
        for (long[] shape : List.of(new long[] {37}, new long[] {3, 1, 17}, new long[] {4, 5, 6})) {
            try (Arena arena = Arena.ofConfined()) {
                Random rnd = new Random(5);
                Tensor x = Conformance.uniform(arena, rnd, DType.F32, lo, hi, shape);
                boolean zeros = op.kind() == Kind.RELU || op.kind() == Kind.CLIP;
                Conformance.check(cpu, arena, op, List.of(x), Conformance.Tolerance.of(DType.F32).scaled(factor), zeros);
                if (x.rank() == 3) { // a transposed view reads the same elements in another order
                    Conformance.check(cpu, arena, op, List.of(x.transpose(0, 2)), Conformance.Tolerance.of(DType.F32).scaled(factor), zeros);
                }
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Conformance.uniform(arena, new Random(9), DType.BF16, lo, hi, 8, 16);
            Conformance.check(cpu, arena, op, List.of(x), Conformance.Tolerance.of(DType.BF16).scaled(2),
                    op.kind() == Kind.RELU || op.kind() == Kind.CLIP);
        }
    }

    static Stream<Arguments> softmaxes() {
        return Stream.of(Arguments.of(new long[] {5}, 0), Arguments.of(new long[] {4, 7}, -1), Arguments.of(new long[] {4, 7}, 0),
                Arguments.of(new long[] {2, 3, 5}, 1), Arguments.of(new long[] {2, 3, 4, 5}, 2), Arguments.of(new long[] {3, 1, 6}, 1));
    }

    @ParameterizedTest(name = "shape {0} axis {1}")
    @MethodSource("softmaxes")
    void softmax(long[] shape, int axis) {
        for (boolean log : List.of(false, true)) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor x = Conformance.normal(arena, new Random(21), DType.F32, shape).contiguous(arena);
                Conformance.check(cpu, arena, new Softmax(axis, log), List.of(x), Conformance.Tolerance.of(DType.F32).scaled(10), true);
                if (shape.length >= 2) {
                    Conformance.check(cpu, arena, new Softmax(axis, log), List.of(x.transpose(0, 1)),
                            Conformance.Tolerance.of(DType.F32).scaled(10), true);
                }
            }
        }
    }

    static Stream<Arguments> broadcasts() {
        return Stream.of(
                Arguments.of(new long[] {4, 5}, new long[] {4, 5}),
                Arguments.of(new long[] {3, 1, 5}, new long[] {1, 4, 1}),
                Arguments.of(new long[] {4}, new long[] {2, 3, 4}),
                Arguments.of(new long[] {2, 3, 4}, new long[] {4}),
                Arguments.of(new long[] {}, new long[] {3, 2}),
                Arguments.of(new long[] {3, 2}, new long[] {}),
                Arguments.of(new long[] {5, 1}, new long[] {5, 6}));
    }

    @ParameterizedTest(name = "{0} op {1}")
    @MethodSource("broadcasts")
    void binary(long[] a, long[] b) {
        for (Binary.Kind kind : Binary.Kind.values()) {
            try (Arena arena = Arena.ofConfined()) {
                Random rnd = new Random(31);
                // values away from 0 so that division is well conditioned
                Tensor x = Conformance.uniform(arena, rnd, DType.F32, 0.5, 2.0, a);
                Tensor y = Conformance.uniform(arena, rnd, DType.F32, -2.0, -0.5, b);
                Conformance.check(cpu, arena, new Binary(kind), List.of(x, y), Conformance.Tolerance.of(DType.F32), false);
                Conformance.check(cpu, arena, new Binary(kind), List.of(y, x), Conformance.Tolerance.of(DType.F32), false);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("binaryKinds")
    void binaryOnViews(Binary.Kind kind) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(41);
            Tensor x = Conformance.uniform(arena, rnd, DType.F32, 0.5, 2.0, 6, 4).transpose(0, 1);      // [4, 6] transposed
            Tensor y = Conformance.uniform(arena, rnd, DType.F32, 0.5, 2.0, 4, 12).slice(1, 0, 12, 2);  // [4, 6] strided
            Tensor z = Conformance.uniform(arena, rnd, DType.F32, 0.5, 2.0, 6).broadcastTo(x.shape());  // stride-0 rows
            Conformance.check(cpu, arena, new Binary(kind), List.of(x, y), Conformance.Tolerance.of(DType.F32), false);
            Conformance.check(cpu, arena, new Binary(kind), List.of(z, x), Conformance.Tolerance.of(DType.F32), false);
            Tensor xb = Conformance.uniform(arena, rnd, DType.BF16, 0.5, 2.0, 3, 8);
            Tensor yb = Conformance.uniform(arena, rnd, DType.BF16, 0.5, 2.0, 8);
            Conformance.check(cpu, arena, new Binary(kind), List.of(xb, yb), Conformance.Tolerance.of(DType.BF16), false);
        }
    }

    static Stream<Binary.Kind> binaryKinds() {
        return Stream.of(Binary.Kind.values());
    }
}

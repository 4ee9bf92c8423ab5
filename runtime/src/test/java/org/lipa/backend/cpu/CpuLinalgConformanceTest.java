package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.lipa.ops.Conv2d;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Hw;
import org.lipa.ops.MatMul;
import org.lipa.ops.Pool2d;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Matmul, convolution, transposed convolution and pooling on oneDNN against the float64 reference. */
@Tag("cpu")
@org.junit.jupiter.api.extension.ExtendWith(SharedCpu.class)
class CpuLinalgConformanceTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = SharedCpu.backend();
    }

    static Stream<Arguments> matmuls() {
        return Stream.of(
                Arguments.of("2x3 @ 3x4", new long[] {2, 3}, new long[] {3, 4}, null, false, false),
                Arguments.of("odd 7x13 @ 13x5", new long[] {7, 13}, new long[] {13, 5}, null, false, false),
                Arguments.of("linear layer shape, transposed weight", new long[] {16, 784}, new long[] {64, 784}, null, false, true),
                Arguments.of("transposed a", new long[] {9, 6}, new long[] {9, 5}, null, true, false),
                Arguments.of("both transposed", new long[] {9, 6}, new long[] {5, 9}, null, true, true),
                Arguments.of("bias row", new long[] {4, 8}, new long[] {8, 6}, new long[] {6}, false, false),
                Arguments.of("bias column", new long[] {4, 8}, new long[] {8, 6}, new long[] {4, 1}, false, false),
                Arguments.of("vector-like 1xK", new long[] {1, 8}, new long[] {8, 3}, null, false, false),
                Arguments.of("batch broadcast", new long[] {2, 1, 3, 4}, new long[] {5, 4, 6}, null, false, false),
                Arguments.of("batched with bias", new long[] {3, 4, 5}, new long[] {3, 5, 2}, new long[] {3, 1, 2}, false, false),
                Arguments.of("leading ones", new long[] {1, 1, 4, 5}, new long[] {5, 3}, new long[] {3}, false, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("matmuls")
    void matmul(String name, long[] a, long[] b, long[] bias, boolean transA, boolean transB) {
        for (DType t : List.of(DType.F32, DType.BF16)) {
            try (Arena arena = Arena.ofConfined()) {
                Random rnd = new Random(7);
                Tensor x = Conformance.normal(arena, rnd, t, a);
                Tensor w = Conformance.normal(arena, rnd, t, b);
                if (transA) {
                    x = x.transpose(-1, -2);
                }
                if (transB) {
                    w = w.transpose(-1, -2);
                }
                List<Tensor> in = bias == null ? List.of(x, w) : List.of(x, w, Conformance.normal(arena, rnd, t, bias));
                // the sum over k of bf16 products: error grows with k
                long k = x.shape().dim(-1);
                Conformance.Tolerance tol = Conformance.Tolerance.of(t).scaled(t == DType.BF16 ? Math.sqrt(k) : 1);
                Conformance.check(cpu, arena, new MatMul(), in, tol, false);
            }
        }
    }

    static Stream<Arguments> convs() {
        return Stream.of(
                Arguments.of("3x3 pad 1", new long[] {2, 3, 8, 8}, new long[] {4, 3, 3, 3}, new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1), true),
                Arguments.of("stride 2 odd size", new long[] {1, 2, 9, 7}, new long[] {3, 2, 3, 3}, new Conv2d(Hw.of(2), Hw.of(1), Hw.of(1), 1), false),
                Arguments.of("dilation 2", new long[] {1, 2, 10, 10}, new long[] {2, 2, 3, 3}, new Conv2d(Hw.of(1), Hw.of(2), Hw.of(2), 1), true),
                Arguments.of("asymmetric kernel", new long[] {2, 3, 6, 9}, new long[] {5, 3, 1, 4}, new Conv2d(new Hw(1, 2), new Hw(0, 1), Hw.of(1), 1), true),
                Arguments.of("groups 2", new long[] {2, 4, 6, 6}, new long[] {6, 2, 3, 3}, new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 2), true),
                Arguments.of("depthwise", new long[] {1, 4, 5, 5}, new long[] {4, 1, 3, 3}, new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 4), false),
                Arguments.of("1x1", new long[] {3, 5, 4, 4}, new long[] {2, 5, 1, 1}, Conv2d.simple(), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("convs")
    void conv2d(String name, long[] xs, long[] ws, Conv2d op, boolean bias) {
        for (DType t : List.of(DType.F32, DType.BF16)) {
            try (Arena arena = Arena.ofConfined()) {
                Random rnd = new Random(11);
                Tensor x = Conformance.normal(arena, rnd, t, xs);
                Tensor w = Conformance.normal(arena, rnd, t, ws);
                List<Tensor> in = bias ? List.of(x, w, Conformance.normal(arena, rnd, t, ws[0])) : List.of(x, w);
                long taps = ws[1] * ws[2] * ws[3];
                Conformance.check(cpu, arena, op, in, Conformance.Tolerance.of(t).scaled(t == DType.BF16 ? Math.sqrt(taps) : 1), false);
            }
        }
    }

    @Test
    void conv2dOnAChannelsLastView() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(3);
            Tensor nhwc = Conformance.normal(arena, rnd, DType.F32, 2, 6, 5, 3);
            Tensor x = nhwc.permute(0, 3, 1, 2); // NCHW view of NHWC bytes
            Tensor w = Conformance.normal(arena, rnd, DType.F32, 4, 3, 3, 3);
            Conformance.check(cpu, arena, new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1), List.of(x, w),
                    Conformance.Tolerance.of(DType.F32), false);
        }
    }

    static Stream<Arguments> deconvs() {
        return Stream.of(
                Arguments.of("stride 1", new long[] {2, 3, 5, 5}, new long[] {3, 4, 3, 3}, new ConvTranspose2d(Hw.of(1), Hw.of(1), Hw.of(0), Hw.of(1), 1), true),
                Arguments.of("stride 2 output padding", new long[] {1, 2, 4, 3}, new long[] {2, 3, 3, 3}, new ConvTranspose2d(Hw.of(2), Hw.of(1), Hw.of(1), Hw.of(1), 1), true),
                Arguments.of("dilation 2", new long[] {1, 2, 4, 4}, new long[] {2, 2, 3, 3}, new ConvTranspose2d(Hw.of(1), Hw.of(0), Hw.of(0), Hw.of(2), 1), false),
                Arguments.of("groups 2", new long[] {2, 4, 3, 3}, new long[] {4, 3, 2, 2}, new ConvTranspose2d(Hw.of(2), Hw.of(0), Hw.of(0), Hw.of(1), 2), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("deconvs")
    void convTranspose2d(String name, long[] xs, long[] ws, ConvTranspose2d op, boolean bias) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(13);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, xs);
            Tensor w = Conformance.normal(arena, rnd, DType.F32, ws);
            long out = ws[1] * op.groups();
            List<Tensor> in = bias ? List.of(x, w, Conformance.normal(arena, rnd, DType.F32, out)) : List.of(x, w);
            Conformance.check(cpu, arena, op, in, Conformance.Tolerance.of(DType.F32), false);
        }
    }

    static Stream<Arguments> pools() {
        return Stream.of(
                Arguments.of(new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(2), Hw.of(0))),
                Arguments.of(new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1))),
                Arguments.of(new Pool2d(Pool2d.Kind.AVG_INCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1))),
                Arguments.of(new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1))),
                Arguments.of(new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, new Hw(2, 3), new Hw(1, 2), new Hw(1, 0))));
    }

    @ParameterizedTest
    @MethodSource("pools")
    void pool2d(Pool2d op) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(17);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, 2, 3, 7, 9);
            Conformance.check(cpu, arena, op, List.of(x), Conformance.Tolerance.of(DType.F32), false);
            Conformance.check(cpu, arena, op, List.of(x.transpose(2, 3)), Conformance.Tolerance.of(DType.F32), false);
        }
    }

    @Test
    void aRepeatedCallCreatesNoPrimitive() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(1);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, 2, 3, 8, 8);
            Tensor w = Conformance.normal(arena, rnd, DType.F32, 4, 3, 3, 3);
            Conv2d op = new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1);
            Conformance.check(cpu, arena, op, List.of(x, w), Conformance.Tolerance.of(DType.F32), false);
            long before = cpu.primitiveCreations();
            Tensor x2 = Conformance.normal(arena, rnd, DType.F32, 2, 3, 8, 8); // same shapes, new data
            Conformance.check(cpu, arena, op, List.of(x2, w), Conformance.Tolerance.of(DType.F32), false);
            assertEquals(before, cpu.primitiveCreations(), "same shapes must reuse the cached primitive");
            Tensor x3 = Conformance.normal(arena, rnd, DType.F32, 3, 3, 8, 8);
            Conformance.check(cpu, arena, op, List.of(x3, w), Conformance.Tolerance.of(DType.F32), false);
            assertEquals(before + 1, cpu.primitiveCreations(), "a new shape creates exactly one primitive");
        }
    }
}

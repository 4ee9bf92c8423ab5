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
import org.lipa.ops.BatchNorm;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Layer, batch and group normalization on oneDNN against the float64 reference (outputs and statistics). */
@Tag("cpu")
@org.junit.jupiter.api.extension.ExtendWith(SharedCpu.class)
class CpuNormConformanceTest {
    private static CpuBackend cpu;
    private static final Conformance.Tolerance TOL = Conformance.Tolerance.of(DType.F32).scaled(10);

    @BeforeAll
    static void open() {
        cpu = SharedCpu.backend();
    }

    static Stream<Arguments> layerNorms() {
        return Stream.of(Arguments.of(new long[] {4, 10}, 1), Arguments.of(new long[] {2, 3, 7}, 1),
                Arguments.of(new long[] {2, 3, 4}, 2), Arguments.of(new long[] {9}, 1), Arguments.of(new long[] {5, 1}, 1));
    }

    @ParameterizedTest(name = "{0} over last {1}")
    @MethodSource("layerNorms")
    void layerNorm(long[] shape, int k) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(3);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, shape);
            long[] normalized = java.util.Arrays.copyOfRange(shape, shape.length - k, shape.length);
            Tensor gamma = Conformance.uniform(arena, rnd, DType.F32, 0.5, 1.5, normalized);
            Tensor beta = Conformance.normal(arena, rnd, DType.F32, normalized);
            LayerNorm op = new LayerNorm(k, 1e-5);
            boolean single = shape[shape.length - 1] == 1; // variance 0: y is beta exactly, mostly zeros allowed
            List<Tensor> out = Conformance.check(cpu, arena, op, List.of(x, gamma, beta), TOL, true);
            // the mean output, against a plain average of each normalized block
            double[] xs = x.toDoubleArray();
            double[] means = out.get(1).toDoubleArray();
            int block = xs.length / means.length;
            for (int r = 0; r < means.length; r++) {
                double m = 0;
                for (int i = 0; i < block; i++) {
                    m += xs[r * block + i];
                }
                assertEquals(m / block, means[r], 1e-5);
            }
            Conformance.check(cpu, arena, op, List.of(x), TOL, true);
            if (!single && shape.length >= 2 && k == 1) {
                Tensor xt = Conformance.normal(arena, rnd, DType.F32, reversed(shape)).permute(reverse(shape.length));
                Conformance.check(cpu, arena, op, List.of(xt, gamma, beta), TOL, false);
            }
        }
    }

    @Test
    void layerNormBf16() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(4);
            Tensor x = Conformance.normal(arena, rnd, DType.BF16, 6, 32);
            Tensor g = Conformance.uniform(arena, rnd, DType.BF16, 0.5, 1.5, 32);
            Tensor b = Conformance.normal(arena, rnd, DType.BF16, 32);
            Conformance.check(cpu, arena, new LayerNorm(1, 1e-5), List.of(x, g, b), Conformance.Tolerance.of(DType.BF16).scaled(2), false);
        }
    }

    static Stream<long[]> batchShapes() {
        return Stream.of(new long[] {8, 3}, new long[] {4, 3, 5}, new long[] {2, 4, 5, 6}, new long[] {2, 2, 3, 3, 3});
    }

    @ParameterizedTest
    @MethodSource("batchShapes")
    void batchNorm(long[] shape) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(8);
            long c = shape[1];
            Tensor x = Conformance.normal(arena, rnd, DType.F32, shape);
            Tensor gamma = Conformance.uniform(arena, rnd, DType.F32, 0.5, 1.5, c);
            Tensor beta = Conformance.normal(arena, rnd, DType.F32, c);
            Conformance.check(cpu, arena, new BatchNorm(1e-5, true), List.of(x, gamma, beta), TOL, false);
            Tensor mean = Conformance.normal(arena, rnd, DType.F32, c);
            Tensor var = Conformance.uniform(arena, rnd, DType.F32, 0.5, 2, c);
            Conformance.check(cpu, arena, new BatchNorm(1e-5, false), List.of(x, gamma, beta, mean, var), TOL, false);
        }
    }

    static Stream<Arguments> groupNorms() {
        return Stream.of(Arguments.of(new long[] {2, 6, 4, 4}, 3), Arguments.of(new long[] {3, 4, 5}, 1),
                Arguments.of(new long[] {2, 4, 3, 3}, 4), Arguments.of(new long[] {2, 8}, 2));
    }

    @ParameterizedTest(name = "{0} groups {1}")
    @MethodSource("groupNorms")
    void groupNorm(long[] shape, int groups) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(12);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, shape);
            Tensor gamma = Conformance.uniform(arena, rnd, DType.F32, 0.5, 1.5, shape[1]);
            Tensor beta = Conformance.normal(arena, rnd, DType.F32, shape[1]);
            Conformance.check(cpu, arena, new GroupNorm(groups, 1e-5), List.of(x, gamma, beta), TOL, false);
        }
    }

    private static long[] reversed(long[] s) {
        long[] r = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            r[i] = s[s.length - 1 - i];
        }
        return r;
    }

    private static int[] reverse(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = n - 1 - i;
        }
        return p;
    }
}

package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import org.lipa.eval.Eager;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Reduce;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Reductions, casts (reorders) and concat on oneDNN against the float64 reference. */
@Tag("cpu")
@org.junit.jupiter.api.extension.ExtendWith(SharedCpu.class)
class CpuDataConformanceTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = SharedCpu.backend();
    }

    static Stream<Arguments> reductions() {
        return Stream.of(
                Arguments.of(new long[] {4, 6}, List.of(1)), Arguments.of(new long[] {4, 6}, List.of(0)),
                Arguments.of(new long[] {4, 6}, List.of()), Arguments.of(new long[] {2, 3, 5}, List.of(0, 2)),
                Arguments.of(new long[] {2, 3, 5}, List.of(-1)), Arguments.of(new long[] {3, 1, 4, 2}, List.of(1, 2)),
                Arguments.of(new long[] {7}, List.of(0)), Arguments.of(new long[] {3, 1}, List.of(1)));
    }

    @ParameterizedTest(name = "{0} over {1}")
    @MethodSource("reductions")
    void reduce(long[] shape, List<Integer> axes) {
        for (Reduce.Kind kind : Reduce.Kind.values()) {
            for (boolean keep : List.of(true, false)) {
                try (Arena arena = Arena.ofConfined()) {
                    Tensor x = Conformance.normal(arena, new Random(2), DType.F32, shape);
                    Reduce op = new Reduce(kind, axes, keep);
                    Conformance.Tolerance tol = Conformance.Tolerance.of(DType.F32).scaled(10);
                    Conformance.check(cpu, arena, op, List.of(x), tol, false);
                    if (shape.length >= 2) {
                        Conformance.check(cpu, arena, op, List.of(x.transpose(0, 1)), tol, false);
                    }
                }
            }
        }
    }

    @Test
    void castRoundsToBf16LikeDType() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Conformance.normal(arena, new Random(4), DType.F32, 5, 9);
            Tensor y = Tensor.zeros(arena, DType.BF16, x.shape());
            cpu.execute(new Cast(DType.BF16), List.of(x), List.of(y));
            float[] xs = x.toFloatArray();
            float[] ys = y.toFloatArray();
            for (int i = 0; i < xs.length; i++) {
                assertEquals(DType.bf16ToFloat(DType.floatToBf16(xs[i])), ys[i], 0.0, "element " + i);
            }
            Tensor back = Tensor.zeros(arena, DType.F32, x.shape());
            cpu.execute(new Cast(DType.F32), List.of(y), List.of(back));
            assertArrayEquals(ys, back.toFloatArray(), 0f);
        }
    }

    @Test
    void castMaterializesViewsAndConvertsF64() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Conformance.normal(arena, new Random(6), DType.F32, 4, 6, 3);
            for (Tensor view : List.of(x.permute(2, 0, 1), x.slice(1, 1, 6, 2), x.slice(0, 0, 1).broadcastTo(x.shape()))) {
                Conformance.check(cpu, arena, new Cast(DType.F32), List.of(view), Conformance.Tolerance.of(DType.F32), false);
                Conformance.check(cpu, arena, new Cast(DType.F64), List.of(view), Conformance.Tolerance.of(DType.F32), false);
            }
            Tensor d = Conformance.normal(arena, new Random(7), DType.F64, 3, 4);
            Conformance.check(cpu, arena, new Cast(DType.F32), List.of(d), Conformance.Tolerance.of(DType.F32), false);
        }
    }

    @Test
    void concatOnEveryAxis() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(8);
            for (int axis = 0; axis < 3; axis++) {
                long[] a = {2, 3, 4};
                long[] b = a.clone();
                long[] c = a.clone();
                b[axis] = 1;
                c[axis] = 5;
                Tensor x = Conformance.normal(arena, rnd, DType.F32, a);
                Tensor y = Conformance.normal(arena, rnd, DType.F32, b);
                Tensor z = Conformance.normal(arena, rnd, DType.F32, c);
                Conformance.check(cpu, arena, new Concat(axis), List.of(x, y, z), Conformance.Tolerance.of(DType.F32), false);
                Conformance.check(cpu, arena, new Concat(axis - 3), List.of(z, x.contiguous(arena)), Conformance.Tolerance.of(DType.F32), false);
            }
            Tensor t = Conformance.normal(arena, rnd, DType.F32, 4, 3).transpose(0, 1);
            Tensor u = Conformance.normal(arena, rnd, DType.F32, 3, 2);
            Conformance.check(cpu, arena, new Concat(1), List.of(t, u), Conformance.Tolerance.of(DType.F32), false);
        }
    }

    @Test
    void lossesThroughTheFacade() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(10);
            Tensor logits = Conformance.normal(arena, rnd, DType.F32, 6, 5);
            Tensor target = Tensor.oneHot(arena, DType.F32, new int[] {0, 4, 2, 2, 1, 3}, 5);
            Eager ops = new Eager(cpu, arena);
            double ce = ops.crossEntropy(logits, target).item();
            // independent: -mean_i (z_i,y_i - log sum_j exp z_ij)
            double[] z = logits.toDoubleArray();
            int[] labels = {0, 4, 2, 2, 1, 3};
            double expected = 0;
            for (int i = 0; i < 6; i++) {
                double s = 0;
                for (int j = 0; j < 5; j++) {
                    s += Math.exp(z[i * 5 + j]);
                }
                expected += Math.log(s) - z[i * 5 + labels[i]];
            }
            assertEquals(expected / 6, ce, 1e-5);
            Tensor p = Conformance.normal(arena, rnd, DType.F32, 3, 4);
            Tensor q = Conformance.normal(arena, rnd, DType.F32, 3, 4);
            double mse = 0;
            double[] pv = p.toDoubleArray();
            double[] qv = q.toDoubleArray();
            for (int i = 0; i < pv.length; i++) {
                mse += (pv[i] - qv[i]) * (pv[i] - qv[i]);
            }
            assertEquals(mse / pv.length, ops.mse(p, q).item(), 1e-5);
        }
    }
}

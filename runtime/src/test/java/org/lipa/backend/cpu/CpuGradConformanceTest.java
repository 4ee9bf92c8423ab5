package org.lipa.backend.cpu;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.Hw;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** The gradient primitives on oneDNN's backward kernels against the float64 reference. */
@Tag("cpu")
@org.junit.jupiter.api.extension.ExtendWith(SharedCpu.class)
class CpuGradConformanceTest {
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = SharedCpu.backend();
    }

    static Stream<Eltwise> kinds() {
        return CpuElementwiseConformanceTest.kinds().map(a -> (Eltwise) a.get()[0]);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("kinds")
    void eltwiseGrad(Eltwise f) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(3);
            boolean positive = f.kind() == Eltwise.Kind.LOG || f.kind() == Eltwise.Kind.SQRT;
            Tensor x = Conformance.uniform(arena, rnd, DType.F32, positive ? 0.1 : -3, 3, 5, 13);
            Tensor g = Conformance.normal(arena, rnd, DType.F32, 5, 13);
            boolean zeros = f.kind() == Eltwise.Kind.RELU || f.kind() == Eltwise.Kind.CLIP;
            Conformance.check(cpu, arena, EltwiseGrad.of(f), List.of(x, g), Conformance.Tolerance.of(DType.F32).scaled(20), zeros);
            Conformance.check(cpu, arena, EltwiseGrad.of(f), List.of(x.transpose(0, 1), g.transpose(0, 1)),
                    Conformance.Tolerance.of(DType.F32).scaled(20), zeros);
        }
    }

    static Stream<Conv2dWeightGrad> weightGrads() {
        return Stream.of(new Conv2dWeightGrad(Hw.of(1), Hw.of(1), Hw.of(1), 1, Hw.of(3)),
                new Conv2dWeightGrad(Hw.of(2), Hw.of(1), Hw.of(1), 1, new Hw(3, 2)),
                new Conv2dWeightGrad(Hw.of(1), Hw.of(2), Hw.of(2), 2, Hw.of(3)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("weightGrads")
    void convWeightGrad(Conv2dWeightGrad op) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(5);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, 2, 4, 8, 7);
            long o = 6;
            Tensor w = Tensor.zeros(arena, DType.F32, o, 4 / op.groups(), op.kernel().h(), op.kernel().w());
            var yShape = op.forward().infer(List.of(x.spec(), w.spec())).get(0).shape();
            Tensor g = Conformance.normal(arena, rnd, DType.F32, yShape.toArray());
            Conformance.check(cpu, arena, op, List.of(x, g), Conformance.Tolerance.of(DType.F32).scaled(10), false);
        }
    }

    static Stream<Pool2d> pools() {
        return RefPools.all();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("pools")
    void poolGrad(Pool2d p) {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(7);
            Tensor x = Conformance.normal(arena, rnd, DType.F32, 2, 3, 7, 6);
            Tensor g = Conformance.normal(arena, rnd, DType.F32, p.infer(List.of(x.spec())).get(0).shape().toArray());
            // max pooling leaves most inputs without gradient
            Conformance.check(cpu, arena, new Pool2dGrad(p), List.of(x, g), Conformance.Tolerance.of(DType.F32),
                    p.kind() == Pool2d.Kind.MAX);
        }
    }

    /** Pooling configurations shared by the gradient tests. */
    static final class RefPools {
        static Stream<Pool2d> all() {
            return Stream.of(new Pool2d(Pool2d.Kind.MAX, Hw.of(2), Hw.of(2), Hw.of(0)),
                    new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1)),
                    new Pool2d(Pool2d.Kind.AVG_INCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1)),
                    new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, new Hw(2, 3), new Hw(1, 2), new Hw(1, 0)));
        }
    }

    @org.junit.jupiter.api.Test
    void softmaxAndLayerNormGradients() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(9);
            for (boolean log : List.of(false, true)) {
                for (int axis : new int[] {0, -1}) {
                    Tensor x = Conformance.normal(arena, rnd, DType.F32, 5, 7);
                    Tensor y = Tensor.zeros(arena, DType.F32, 5, 7);
                    cpu.execute(new org.lipa.ops.Softmax(axis, log), List.of(x), List.of(y));
                    Tensor g = Conformance.normal(arena, rnd, DType.F32, 5, 7);
                    Conformance.check(cpu, arena, new org.lipa.ops.SoftmaxGrad(axis, log), List.of(y, g),
                            Conformance.Tolerance.of(DType.F32).scaled(10), false);
                }
            }
            for (boolean affine : List.of(true, false)) {
                Tensor x = Conformance.normal(arena, rnd, DType.F32, 6, 3, 4);
                Tensor gamma = Conformance.uniform(arena, rnd, DType.F32, 0.5, 1.5, 3, 4);
                Tensor beta = Conformance.normal(arena, rnd, DType.F32, 3, 4);
                var ln = new org.lipa.ops.LayerNorm(2, 1e-5);
                List<Tensor> fin = affine ? List.of(x, gamma, beta) : List.of(x);
                List<Tensor> f = ln.infer(fin.stream().map(Tensor::spec).toList()).stream()
                        .map(s -> Tensor.zeros(arena, s.dtype(), s.shape())).toList();
                cpu.execute(ln, fin, f);
                Tensor g = Conformance.normal(arena, rnd, DType.F32, 6, 3, 4);
                List<Tensor> in = affine ? List.of(x, gamma, f.get(1), f.get(2), g) : List.of(x, f.get(1), f.get(2), g);
                Conformance.check(cpu, arena, new org.lipa.ops.LayerNormGrad(2, 1e-5, affine), in,
                        Conformance.Tolerance.of(DType.F32).scaled(20), false);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void batchAndGroupNormGradients() {
        try (Arena arena = Arena.ofConfined()) {
            Random rnd = new Random(10);
            for (int groups : new int[] {0, 2, 4}) {
                for (long[] shape : List.of(new long[] {5, 4, 3, 2}, new long[] {6, 4})) {
                    if (groups == 4 && shape.length == 2) {
                        continue; // one element per group: dx is exactly zero, nothing to compare
                    }
                    Tensor x = Conformance.normal(arena, rnd, DType.F32, shape);
                    Tensor gamma = Conformance.uniform(arena, rnd, DType.F32, 0.5, 1.5, 4);
                    Tensor beta = Conformance.normal(arena, rnd, DType.F32, 4);
                    var grad = new org.lipa.ops.NormGrad(groups, 1e-5);
                    var fwd = grad.forward();
                    List<Tensor> f = fwd.infer(List.of(x.spec(), gamma.spec(), beta.spec())).stream()
                            .map(s -> Tensor.zeros(arena, s.dtype(), s.shape())).toList();
                    cpu.execute(fwd, List.of(x, gamma, beta), f);
                    Tensor g = Conformance.normal(arena, rnd, DType.F32, shape);
                    Conformance.check(cpu, arena, grad, List.of(x, gamma, f.get(1), f.get(2), g),
                            Conformance.Tolerance.of(DType.F32).scaled(20), false);
                }
            }
        }
    }
}

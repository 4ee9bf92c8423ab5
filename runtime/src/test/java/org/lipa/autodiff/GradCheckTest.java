package org.lipa.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.ref.RefBackend;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Eltwise.Kind;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.Hw;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.Ops;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.ops.Reduce;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Table-driven gradient checks, one case (or more) per op: in float64 on the reference backend, the
 * JVP against central differences along a random direction, the VJP against the JVP by the adjoint
 * identity {@code <u, J v> = <J^T u, v>}, and the HVP of a random scalarization against central
 * differences of its gradient; on oneDNN the adjoint identity in float32.
 */
@org.junit.jupiter.api.extension.ExtendWith(org.lipa.backend.cpu.SharedCpu.class)
class GradCheckTest {
    /** How inputs are drawn: kinks and singularities are avoided where the op has them. */
    enum Gen { NORMAL, AWAY_FROM_ZERO, POSITIVE }

    record Case(String name, List<long[]> shapes, Gen gen, Graph.Function f, boolean secondOrder) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static final Backend REF = new RefBackend();
    private static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = org.lipa.backend.cpu.SharedCpu.backend();
    }

    private static Case c(String name, Gen gen, Graph.Function f, long[]... shapes) {
        return new Case(name, List.of(shapes), gen, f, true);
    }

    private static long[] s(long... d) {
        return d;
    }

    private static Node one(Ops<Node> ops, org.lipa.ops.Op op, Node... in) {
        return ops.apply(op, List.of(in)).get(0);
    }

    static Stream<Case> cases() {
        List<Case> cases = new ArrayList<>();
        cases.add(c("matmul batch-broadcast with bias", Gen.NORMAL, (o, x) -> List.of(o.matmul(x.get(0), x.get(1), x.get(2))),
                s(2, 1, 3, 4), s(5, 4, 2), s(2)));
        cases.add(c("linear", Gen.NORMAL, (o, x) -> List.of(o.linear(x.get(0), x.get(1), x.get(2))), s(3, 5), s(4, 5), s(4)));
        cases.add(c("conv2d stride 2 pad 1 groups 2 bias", Gen.NORMAL,
                (o, x) -> List.of(o.conv2d(x.get(0), x.get(1), x.get(2), Hw.of(2), Hw.of(1), Hw.of(1), 2)),
                s(2, 4, 6, 5), s(6, 2, 3, 3), s(6)));
        cases.add(c("conv2d dilation 2", Gen.NORMAL,
                (o, x) -> List.of(o.conv2d(x.get(0), x.get(1), null, Hw.of(1), Hw.of(2), Hw.of(2), 1)), s(1, 2, 6, 6), s(3, 2, 3, 3)));
        cases.add(c("conv_transpose2d stride 2 output padding 1", Gen.NORMAL,
                (o, x) -> List.of(o.convTranspose2d(x.get(0), x.get(1), x.get(2), Hw.of(2), Hw.of(1), Hw.of(1), Hw.of(1), 1)),
                s(2, 3, 3, 4), s(3, 2, 3, 3), s(2)));
        cases.add(c("conv2d_weight_grad", Gen.NORMAL,
                (o, x) -> List.of(one(o, new Conv2dWeightGrad(Hw.of(2), Hw.of(1), Hw.of(1), 1, Hw.of(3)), x.get(0), x.get(1))),
                s(2, 2, 5, 5), s(2, 3, 3, 3)));
        for (Eltwise e : List.of(Eltwise.of(Kind.RELU), new Eltwise(Kind.RELU, 0.2, 0), Eltwise.of(Kind.GELU_TANH),
                Eltwise.of(Kind.GELU_ERF), Eltwise.of(Kind.TANH), Eltwise.of(Kind.SIGMOID), new Eltwise(Kind.ELU, 0.7, 0),
                new Eltwise(Kind.SOFTPLUS, 1.5, 0), new Eltwise(Kind.SWISH, 1.2, 0), Eltwise.of(Kind.EXP), Eltwise.of(Kind.LOG),
                Eltwise.of(Kind.SQRT), Eltwise.of(Kind.SQUARE), Eltwise.of(Kind.ABS), new Eltwise(Kind.CLIP, -0.5, 0.7),
                new Eltwise(Kind.LINEAR, -1.5, 0.3))) {
            Gen gen = e.kind() == Kind.LOG || e.kind() == Kind.SQRT ? Gen.POSITIVE : Gen.AWAY_FROM_ZERO;
            cases.add(c(e.name() + (e.alpha() != 0 ? "(" + e.alpha() + ")" : ""), gen, (o, x) -> List.of(one(o, e, x.get(0))), s(3, 4)));
            cases.add(c(e.name() + "_grad", gen, (o, x) -> List.of(one(o, EltwiseGrad.of(e), x.get(0), x.get(1))), s(3, 4), s(3, 4)));
        }
        for (int axis : new int[] {1, -1}) {
            cases.add(c("softmax axis " + axis, Gen.NORMAL, (o, x) -> List.of(o.softmax(x.get(0), axis)), s(2, 3, 4)));
            cases.add(c("log_softmax axis " + axis, Gen.NORMAL, (o, x) -> List.of(o.logSoftmax(x.get(0), axis)), s(2, 3, 4)));
        }
        cases.add(c("layer_norm last 2 with stats", Gen.NORMAL,
                (o, x) -> o.apply(new LayerNorm(2, 1e-5), List.of(x.get(0), x.get(1), x.get(2))), s(3, 2, 4), s(2, 4), s(2, 4)));
        cases.add(c("layer_norm y only (fused backward)", Gen.NORMAL,
                (o, x) -> List.of(o.layerNorm(x.get(0), x.get(1), x.get(2), 1e-5)), s(3, 5), s(5), s(5)));
        cases.add(c("layer_norm_grad", Gen.NORMAL, (o, x) -> {
            var f = o.apply(new LayerNorm(1, 1e-5), List.of(x.get(0), x.get(1), x.get(2)));
            return o.apply(new org.lipa.ops.LayerNormGrad(1, 1e-5, true), List.of(x.get(0), x.get(1), f.get(1), f.get(2), x.get(3)));
        }, s(3, 4), s(4), s(4), s(3, 4)));
        cases.add(c("softmax_grad", Gen.NORMAL,
                (o, x) -> List.of(one(o, new org.lipa.ops.SoftmaxGrad(-1, false), o.softmax(x.get(0), -1), x.get(1))), s(2, 5), s(2, 5)));
        cases.add(c("log_softmax_grad", Gen.NORMAL,
                (o, x) -> List.of(one(o, new org.lipa.ops.SoftmaxGrad(0, true), o.logSoftmax(x.get(0), 0), x.get(1))), s(4, 3), s(4, 3)));
        cases.add(c("batch_norm y only (fused backward)", Gen.NORMAL,
                (o, x) -> List.of(o.batchNormTraining(x.get(0), x.get(1), x.get(2), 1e-5).get(0)), s(4, 3, 2), s(3), s(3)));
        cases.add(c("group_norm y only (fused backward)", Gen.NORMAL,
                (o, x) -> List.of(o.groupNorm(x.get(0), 2, x.get(1), x.get(2), 1e-5)), s(2, 4, 3), s(4), s(4)));
        for (int groups : new int[] {0, 2}) {
            cases.add(c("norm_grad groups " + groups, Gen.NORMAL, (o, x) -> {
                var fwd = groups == 0 ? o.batchNormTraining(x.get(0), x.get(1), x.get(2), 1e-5)
                        : o.apply(new GroupNorm(groups, 1e-5), List.of(x.get(0), x.get(1), x.get(2)));
                return o.apply(new org.lipa.ops.NormGrad(groups, 1e-5), List.of(x.get(0), x.get(1), fwd.get(1), fwd.get(2), x.get(3)));
            }, s(3, 4, 2), s(4), s(4), s(3, 4, 2)));
        }
        cases.add(c("layer_norm without affine", Gen.NORMAL, (o, x) -> o.apply(new LayerNorm(1, 1e-5), List.of(x.get(0))), s(4, 5)));
        cases.add(c("batch_norm training", Gen.NORMAL,
                (o, x) -> o.batchNormTraining(x.get(0), x.get(1), x.get(2), 1e-5), s(4, 3, 2, 2), s(3), s(3)));
        cases.add(c("batch_norm inference", Gen.NORMAL,
                (o, x) -> List.of(o.batchNormInference(x.get(0), x.get(1), x.get(2), x.get(3), o.square(x.get(4)), 1e-3)),
                s(4, 3, 2), s(3), s(3), s(3), s(3)));
        cases.add(c("group_norm", Gen.NORMAL,
                (o, x) -> o.apply(new GroupNorm(2, 1e-5), List.of(x.get(0), x.get(1), x.get(2))), s(2, 4, 3, 2), s(4), s(4)));
        for (Pool2d p : List.of(new Pool2d(Pool2d.Kind.MAX, Hw.of(3), Hw.of(2), Hw.of(1)),
                new Pool2d(Pool2d.Kind.AVG_INCLUDE_PAD, Hw.of(3), Hw.of(2), Hw.of(1)),
                new Pool2d(Pool2d.Kind.AVG_EXCLUDE_PAD, Hw.of(2), Hw.of(1), Hw.of(1)))) {
            cases.add(c(p.name() + " " + p.kind(), Gen.NORMAL, (o, x) -> List.of(one(o, p, x.get(0))), s(2, 2, 5, 4)));
            long[] ys = p.infer(List.of(new TensorSpec(Shape.of(2, 2, 5, 4), DType.F64))).get(0).shape().toArray();
            cases.add(c(p.name() + "_grad " + p.kind(), Gen.NORMAL, (o, x) -> List.of(one(o, new Pool2dGrad(p), x.get(0), x.get(1))),
                    s(2, 2, 5, 4), ys));
            cases.add(c(p.name() + "_tangent " + p.kind(), Gen.NORMAL,
                    (o, x) -> List.of(one(o, new Pool2dTangent(p), x.get(0), x.get(1))), s(2, 2, 5, 4), s(2, 2, 5, 4)));
        }
        for (Binary.Kind k : Binary.Kind.values()) {
            Gen gen = k == Binary.Kind.DIV ? Gen.POSITIVE : Gen.NORMAL;
            cases.add(c(k + " broadcast both", gen, (o, x) -> List.of(one(o, new Binary(k), x.get(0), x.get(1))), s(3, 1, 4), s(2, 1)));
        }
        for (Reduce.Kind k : Reduce.Kind.values()) {
            cases.add(c("reduce " + k + " axes 0,2", Gen.NORMAL,
                    (o, x) -> List.of(one(o, new Reduce(k, List.of(0, 2), false), x.get(0))), s(3, 2, 4)));
            cases.add(c("reduce " + k + " keep last", Gen.NORMAL,
                    (o, x) -> List.of(one(o, new Reduce(k, List.of(-1), true), x.get(0))), s(2, 5)));
        }
        cases.add(c("concat", Gen.NORMAL, (o, x) -> List.of(o.concat(1, x.get(0), o.tanh(x.get(1)))), s(2, 3), s(2, 4)));
        cases.add(c("cast", Gen.NORMAL, (o, x) -> List.of(o.cast(o.transpose(x.get(0), 0, 1), DType.F64)), s(2, 3)));
        cases.add(c("views", Gen.NORMAL, (o, x) -> {
            Node v = o.permute(o.reshape(x.get(0), 3, 2, 4), 2, 0, 1);            // [4, 3, 2]
            Node w = o.expand(o.reshape(x.get(1), 1, 3, 1), Shape.of(4, 3, 2));
            Node z = o.mul(v, w);
            Node sl = o.apply(new org.lipa.ops.ViewOp.Slice(0, 1, 4, 2), List.of(z)).get(0); // rows 1 and 3
            return List.of(o.square(sl), o.slice(z, 2, 1, 2));
        }, s(6, 4), s(3)));
        cases.add(c("mlp with cross entropy", Gen.NORMAL, (o, x) -> {
            Node h = o.tanh(o.linear(x.get(0), x.get(1), x.get(2)));
            Node logits = o.linear(h, x.get(3), null);
            Node target = o.softmax(x.get(4), -1); // soft labels, differentiable too
            return List.of(o.crossEntropy(logits, target), o.mse(logits, x.get(4)));
        }, s(4, 3), s(5, 3), s(5), s(2, 5), s(4, 2)));
        return cases.stream();
    }

    private static Tensor draw(Arena a, Random r, Gen gen, DType t, long[] shape) {
        double[] v = new double[Math.toIntExact(Shape.of(shape).size())];
        for (int i = 0; i < v.length; i++) {
            double g = r.nextGaussian();
            v[i] = switch (gen) {
                case NORMAL -> g;
                case AWAY_FROM_ZERO -> Math.copySign(0.2 + Math.abs(g), g);
                case POSITIVE -> 0.5 + 1.5 * r.nextDouble();
            };
        }
        return Tensor.of(a, t, v, shape);
    }

    private static List<Tensor> draw(Arena a, Random r, Case k, DType t, boolean direction) {
        List<Tensor> out = new ArrayList<>();
        for (long[] s : k.shapes()) {
            out.add(draw(a, r, direction ? Gen.NORMAL : k.gen(), t, s));
        }
        return out;
    }

    private static List<Tensor> run(Backend b, Graph g, Arena a, List<Tensor> in) {
        return g.compile(b).run(a, in);
    }

    private static double dot(List<Tensor> a, List<Tensor> b) {
        double s = 0;
        for (int i = 0; i < a.size(); i++) {
            double[] x = a.get(i).toDoubleArray();
            double[] y = b.get(i).toDoubleArray();
            for (int j = 0; j < x.length; j++) {
                s += x[j] * y[j];
            }
        }
        return s;
    }

    private static List<Tensor> axpy(Arena a, List<Tensor> x, double h, List<Tensor> v) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < x.size(); i++) {
            double[] xs = x.get(i).toDoubleArray();
            double[] vs = v.get(i).toDoubleArray();
            for (int j = 0; j < xs.length; j++) {
                xs[j] += h * vs[j];
            }
            out.add(Tensor.of(a, x.get(i).dtype(), xs, x.get(i).shape().toArray()));
        }
        return out;
    }

    private static void assertClose(String what, List<Tensor> expected, List<Tensor> actual, double tol) {
        for (int i = 0; i < expected.size(); i++) {
            double[] e = expected.get(i).toDoubleArray();
            double[] g = actual.get(i).toDoubleArray();
            for (int j = 0; j < e.length; j++) {
                assertTrue(Math.abs(e[j] - g[j]) <= tol * (1 + Math.abs(e[j])),
                        what + ": output " + i + " element " + j + " expected " + e[j] + " got " + g[j]);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void jvpMatchesFiniteDifferencesAndVjpIsItsAdjoint(Case k) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(k.name().hashCode());
            List<TensorSpec> specs = k.shapes().stream().map(s -> new TensorSpec(Shape.of(s), DType.F64)).toList();
            Graph g = Graph.trace(specs, k.f());
            int n = specs.size();
            int m = g.outputs().size();
            List<Tensor> x = draw(a, r, k, DType.F64, false);
            List<Tensor> v = draw(a, r, k, DType.F64, true);
            double h = 1e-6;
            List<Tensor> plus = run(REF, g, a, axpy(a, x, h, v));
            List<Tensor> minus = run(REF, g, a, axpy(a, x, -h, v));
            List<Tensor> fd = new ArrayList<>();
            for (int i = 0; i < m; i++) {
                fd.add(Tensor.of(a, DType.F64, diff(plus.get(i), minus.get(i), h), plus.get(i).shape().toArray()));
            }
            List<Tensor> in = new ArrayList<>(x);
            in.addAll(v);
            List<Tensor> jout = run(REF, Autodiff.jvp(g), a, in);
            assertClose(k.name() + " primal", run(REF, g, a, x), jout.subList(0, m), 1e-12);
            List<Tensor> jv = jout.subList(m, 2 * m);
            assertClose(k.name() + " jvp vs finite differences", fd, jv, 1e-6);

            List<Tensor> u = new ArrayList<>();
            for (Node o : g.outputs()) {
                u.add(draw(a, r, Gen.NORMAL, DType.F64, o.spec().shape().toArray()));
            }
            List<Tensor> vin = new ArrayList<>(x);
            vin.addAll(u);
            List<Tensor> jtu = run(REF, Autodiff.vjp(g), a, vin).subList(m, m + n);
            double lhs = dot(u, jv);
            double rhs = dot(jtu, v);
            assertEquals(lhs, rhs, 1e-10 * (1 + Math.abs(lhs)), k.name() + ": <u, J v> = <J^T u, v>");
        }
    }

    private static double[] diff(Tensor p, Tensor m, double h) {
        double[] a = p.toDoubleArray();
        double[] b = m.toDoubleArray();
        for (int i = 0; i < a.length; i++) {
            a[i] = (a[i] - b[i]) / (2 * h);
        }
        return a;
    }

    /** s(x) = sum_i <w_i, f_i(x)> with fixed random w: its HVP against differences of its gradient. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hvpMatchesFiniteDifferencesOfTheGradient(Case k) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(k.name().hashCode() + 1);
            List<TensorSpec> specs = k.shapes().stream().map(s -> new TensorSpec(Shape.of(s), DType.F64)).toList();
            Graph g = Graph.trace(specs, k.f());
            List<Tensor> weights = new ArrayList<>();
            for (Node o : g.outputs()) {
                weights.add(draw(a, r, Gen.NORMAL, DType.F64, o.spec().shape().toArray()));
            }
            Graph scalar = Graph.trace(specs, (ops, in) -> {
                List<Node> outs = g.replay(ops, in);
                Node total = null;
                for (int i = 0; i < outs.size(); i++) {
                    Node term = ops.sum(ops.mul(outs.get(i), ops.constant(weights.get(i))), false);
                    total = total == null ? term : ops.add(total, term);
                }
                return List.of(total);
            });
            int n = specs.size();
            List<Tensor> x = draw(a, r, k, DType.F64, false);
            List<Tensor> v = draw(a, r, k, DType.F64, true);
            List<Tensor> in = new ArrayList<>(x);
            in.addAll(v);
            List<Tensor> out = run(REF, Autodiff.hvp(scalar), a, in);
            Graph grad = Autodiff.grad(scalar);
            double h = 1e-5;
            List<Tensor> gp = run(REF, grad, a, axpy(a, x, h, v)).subList(1, n + 1);
            List<Tensor> gm = run(REF, grad, a, axpy(a, x, -h, v)).subList(1, n + 1);
            List<Tensor> fd = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fd.add(Tensor.of(a, DType.F64, diff(gp.get(i), gm.get(i), h), gp.get(i).shape().toArray()));
            }
            assertClose(k.name() + " gradient", run(REF, grad, a, x).subList(1, n + 1), out.subList(0, n), 1e-10);
            assertClose(k.name() + " hvp vs differences of the gradient", fd, out.subList(n, 2 * n), 1e-5);
        }
    }

    /** The same adjoint identity with every kernel on oneDNN, in float32. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    @Tag("cpu")
    void adjointIdentityOnOneDnn(Case k) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(k.name().hashCode() + 2);
            List<TensorSpec> specs = k.shapes().stream().map(s -> new TensorSpec(Shape.of(s), DType.F32)).toList();
            Graph g = Graph.trace(specs, (ops, in) -> k.f().apply(ops, in).stream()
                    .map(o -> o.spec().dtype() == DType.F64 ? ops.cast(o, DType.F32) : o).toList());
            int n = specs.size();
            int m = g.outputs().size();
            List<Tensor> x = draw(a, r, k, DType.F32, false);
            List<Tensor> v = draw(a, r, k, DType.F32, true);
            List<Tensor> in = new ArrayList<>(x);
            in.addAll(v);
            List<Tensor> jv = run(cpu, Autodiff.jvp(g), a, in).subList(m, 2 * m);
            List<Tensor> u = new ArrayList<>();
            for (Node o : g.outputs()) {
                u.add(draw(a, r, Gen.NORMAL, DType.F32, o.spec().shape().toArray()));
            }
            List<Tensor> vin = new ArrayList<>(x);
            vin.addAll(u);
            List<Tensor> jtu = run(cpu, Autodiff.vjp(g), a, vin).subList(m, m + n);
            double lhs = dot(u, jv);
            double rhs = dot(jtu, v);
            assertEquals(lhs, rhs, 2e-4 * (1 + Math.abs(lhs) + Math.abs(rhs)), k.name() + ": <u, J v> = <J^T u, v> on oneDNN");
        }
    }
}

package org.lipa.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

class GraphTest {

    private static Tensor normal(Arena arena, Random rnd, DType t, long... dims) {
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian();
        }
        return Tensor.of(arena, t, v, dims);
    }

    /** A two-layer MLP with a loss, written once against the facade. */
    private static <T> List<T> mlp(Ops<T> ops, List<T> in) {
        T h = ops.tanh(ops.linear(in.get(0), in.get(1), in.get(2)));
        T logits = ops.linear(h, in.get(3), in.get(4));
        return List.of(logits, ops.crossEntropy(logits, in.get(5)));
    }

    private static List<Tensor> mlpArgs(Arena arena, DType t, long seed) {
        Random rnd = new Random(seed);
        return List.of(normal(arena, rnd, t, 8, 5), normal(arena, rnd, t, 7, 5), normal(arena, rnd, t, 7),
                normal(arena, rnd, t, 3, 7), normal(arena, rnd, t, 3),
                Tensor.oneHot(arena, t, new int[] {0, 1, 2, 0, 1, 2, 2, 1}, 3));
    }

    private static Graph traceMlp(List<Tensor> args) {
        return Graph.trace(args.stream().map(Tensor::spec).toList(), GraphTest::mlp);
    }

    private static void runMatchesEager(Backend backend, DType t, double tol) {
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> args = mlpArgs(arena, t, 1);
            Executable exe = traceMlp(args).compile(backend);
            for (long seed : new long[] {1, 2}) { // run twice: nothing stale carries over
                List<Tensor> a = mlpArgs(arena, t, seed);
                List<Tensor> expected = mlp(new Eager(backend, arena), a);
                List<Tensor> got = exe.run(arena, a);
                for (int i = 0; i < expected.size(); i++) {
                    assertArrayEquals(expected.get(i).toDoubleArray(), got.get(i).toDoubleArray(), tol);
                }
            }
        }
    }

    @Test
    void compiledGraphMatchesEagerOnTheReferenceBackend() {
        runMatchesEager(new RefBackend(), DType.F64, 0);
    }

    @Test
    @Tag("cpu")
    void compiledGraphMatchesEagerOnOneDnnAndCreatesNothingOnRepeat() {
        try (CpuBackend cpu = CpuBackend.open()) {
            runMatchesEager(cpu, DType.F32, 0);
            try (Arena arena = Arena.ofConfined()) {
                List<Tensor> args = mlpArgs(arena, DType.F32, 3);
                Executable exe = traceMlp(args).compile(cpu);
                exe.run(arena, args);
                long created = cpu.primitiveCreations();
                exe.run(arena, mlpArgs(arena, DType.F32, 4));
                assertEquals(created, cpu.primitiveCreations());
            }
        }
    }

    @Test
    void replayThroughEagerEvaluatesAndThroughATracerCopies() {
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> args = mlpArgs(arena, DType.F64, 5);
            Graph g = traceMlp(args);
            Eager eager = new Eager(new RefBackend(), arena);
            List<Tensor> direct = mlp(eager, args);
            List<Tensor> replayed = g.replay(eager, args);
            assertArrayEquals(direct.get(1).toDoubleArray(), replayed.get(1).toDoubleArray(), 0);
            Graph copy = Graph.trace(args.stream().map(Tensor::spec).toList(), (ops, in) -> g.replay(ops, in));
            assertEquals(g.applies().size(), copy.applies().size());
            assertEquals(g.toString(), copy.toString());
        }
    }

    @Test
    void buffersOfDeadValuesAreReused() {
        TensorSpec s = new TensorSpec(Shape.of(64, 64), DType.F32);
        Graph g = Graph.trace(List.of(s), (ops, in) -> {
            var x = in.get(0);
            for (int i = 0; i < 10; i++) {
                x = ops.tanh(x);
            }
            return List.of(x);
        });
        Executable exe = g.compile(new RefBackend());
        long one = 64 * 64 * 4;
        assertEquals(10 * one, exe.unplannedBytes());
        assertEquals(2 * one, exe.planBytes(), "a chain needs two live buffers at a time");
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.full(arena, DType.F32, s.shape(), 0.5);
            double expected = 0.5;
            for (int i = 0; i < 10; i++) {
                expected = Math.tanh(expected);
            }
            assertEquals(expected, exe.run(arena, List.of(x)).get(0).get(3, 7), 1e-6);
        }
    }

    @Test
    void viewsShareTheirSourceBufferAndKeepItAlive() {
        TensorSpec s = new TensorSpec(Shape.of(4, 6), DType.F64);
        Graph g = Graph.trace(List.of(s), (ops, in) -> {
            var t = ops.transpose(ops.exp(in.get(0)), 0, 1);      // a view of exp's buffer
            var u = ops.relu(ops.sum(ops.reshape(in.get(0), 24), false)); // unrelated work that could reuse memory
            return List.of(t, ops.add(ops.sum(t, false), u));
        });
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = normal(arena, new Random(3), DType.F64, 4, 6);
            List<Tensor> out = g.compile(new RefBackend()).run(arena, List.of(x));
            Eager eager = new Eager(new RefBackend(), arena);
            assertArrayEquals(eager.transpose(eager.exp(x), 0, 1).toDoubleArray(), out.get(0).toDoubleArray(), 0);
        }
    }

    @Test
    void constantsAreCapturedAndChecked() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor shift = Tensor.of(arena, new double[] {1, 2, 3}, 3);
            Graph g = Graph.trace(List.of(shift.spec()), (ops, in) -> List.of(ops.add(in.get(0), ops.constant(shift))));
            assertTrue(g.toString().contains("constant"), g.toString());
            Tensor y = g.compile(new RefBackend()).run(arena, List.of(shift)).get(0);
            assertArrayEquals(new double[] {2, 4, 6}, y.toDoubleArray());
            Tensor same = g.compile(new RefBackend()).run(arena, List.of(shift)).get(0);
            assertEquals(y.toString(), same.toString());
        }
    }

    @Test
    void badUseGivesClearErrors() {
        TensorSpec s = new TensorSpec(Shape.of(2, 3), DType.F64);
        var e = assertThrows(IllegalArgumentException.class,
                () -> Graph.trace(List.of(s, s), (ops, in) -> List.of(ops.matmul(in.get(0), in.get(1)))));
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());

        Graph g = Graph.trace(List.of(s), (ops, in) -> List.of(ops.relu(in.get(0))));
        try (Arena arena = Arena.ofConfined()) {
            Tensor wrong = Tensor.zeros(arena, DType.F64, 3, 2);
            e = assertThrows(IllegalArgumentException.class, () -> g.compile(new RefBackend()).run(arena, List.of(wrong)));
            assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("[3, 2]") && e.getMessage().contains("[2, 3]"),
                    e.getMessage());
        }
        Node[] leaked = new Node[1];
        Graph.trace(List.of(s), (ops, in) -> {
            leaked[0] = in.get(0);
            return List.of(in.get(0));
        });
        e = assertThrows(IllegalArgumentException.class,
                () -> Graph.trace(List.of(s), (ops, in) -> List.of(ops.add(in.get(0), leaked[0]))));
        assertTrue(e.getMessage().contains("another trace"), e.getMessage());
    }

    @Test
    void anOutputThatIsAnInputIsReturnedAsIs() {
        TensorSpec s = new TensorSpec(Shape.of(2), DType.F64);
        Graph g = Graph.trace(List.of(s), (ops, in) -> List.of(in.get(0)));
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.of(arena, new double[] {1, 2}, 2);
            assertSame(x, g.compile(new RefBackend()).run(arena, List.of(x)).get(0));
        }
    }

    @Test
    void unusedWorkIsRemovedWhenTracingEnds() {
        TensorSpec s = new TensorSpec(Shape.of(3), DType.F64);
        Graph g = Graph.trace(List.of(s, s), (ops, in) -> {
            ops.exp(in.get(1));                                 // never used
            Node y = ops.tanh(in.get(0));
            ops.add(y, ops.sigmoid(y));                         // never used either
            return List.of(y);
        });
        assertEquals(1, g.applies().size(), g.toString());
        assertEquals("tanh", g.applies().get(0).op().name());
        assertEquals(2, g.inputs().size(), "inputs stay, used or not");
    }
}

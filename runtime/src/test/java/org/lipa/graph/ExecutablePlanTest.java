package org.lipa.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The buffer planner on random graphs: no two buffers that are alive at once share bytes (checked by
 * an independent lifetime computation), and a compiled run equals an eager replay. A first version
 * reused a TreeMap entry after removing it and handed out overlapping ranges; this test finds that.
 */
class ExecutablePlanTest {

    @Test
    void randomGraphsPlanWithoutConflictsAndMatchEager() {
        Random rnd = new Random(99);
        RefBackend ref = new RefBackend();
        int graphs = 300;
        for (int c = 0; c < graphs; c++) {
            int rows = 1 + rnd.nextInt(5);
            int cols = 1 + rnd.nextInt(5);
            TensorSpec spec = new TensorSpec(Shape.of(rows, cols), DType.F64);
            int steps = 5 + rnd.nextInt(25);
            long seed = rnd.nextLong();
            Graph g = Graph.trace(List.of(spec, spec), (ops, in) -> {
                Random r = new Random(seed);
                List<Node> nodes = new ArrayList<>(in);
                for (int s = 0; s < steps; s++) {
                    Node a = nodes.get(r.nextInt(nodes.size()));
                    Node b = nodes.get(r.nextInt(nodes.size()));
                    Node n = switch (r.nextInt(6)) {
                        case 0 -> ops.tanh(a);
                        case 1 -> ops.add(a, b);
                        case 2 -> ops.mul(a, ops.sum(b, true, 1));                         // a smaller buffer
                        case 3 -> ops.transpose(ops.transpose(ops.exp(ops.scale(a, 0.1)), 0, 1), 0, 1); // views
                        case 4 -> ops.sub(ops.slice(ops.concat(1, a, b), 1, 0, cols), b);        // a larger buffer
                        default -> ops.affine(ops.expand(ops.reshape(ops.mean(ops.reshape(a, -1), true), 1, 1),
                                a.spec().shape()), 0.5, 1);
                    };
                    nodes.add(n);
                }
                List<Node> outs = new ArrayList<>();
                outs.add(nodes.get(nodes.size() - 1));
                outs.add(nodes.get(r.nextInt(nodes.size())));
                return outs;
            });
            Executable exe = g.compile(ref);
            List<String> conflicts = exe.conflicts();
            assertTrue(conflicts.isEmpty(), "graph " + c + ": " + conflicts);
            assertTrue(exe.planBytes() <= exe.unplannedBytes());
            try (Arena arena = Arena.ofConfined()) {
                Tensor x = Tensor.full(arena, DType.F64, spec.shape(), 0.3);
                Tensor y = Tensor.full(arena, DType.F64, spec.shape(), -0.7);
                List<Tensor> compiled = exe.run(arena, List.of(x, y));
                List<Tensor> eager = g.replay(new Eager(ref, arena), List.of(x, y));
                assertEquals(eager.size(), compiled.size());
                for (int i = 0; i < eager.size(); i++) {
                    assertArrayEquals(eager.get(i).toDoubleArray(), compiled.get(i).toDoubleArray(), 0, "graph " + c);
                }
            }
        }
    }
}

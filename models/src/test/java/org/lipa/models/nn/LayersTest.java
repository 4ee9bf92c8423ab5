package org.lipa.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Graph;
import org.lipa.models.init.Init;
import org.lipa.ops.Hw;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Layers compute what the functional ops compute with their parameters, eagerly and traced, under PyTorch names. */
class LayersTest {
    @Test
    void aSmallCnnMatchesTheFunctionalOpsAndItsTrace() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(2);
            Sequential cnn = new Sequential(List.of(new Conv2d(a, r, 1, 4, 3, 1, 1, 1, true), Activation.RELU,
                    new Reshape.MaxPool(2, 2), new LayerNorm(a, 1e-5, 4, 3, 3), new Reshape.Flatten(),
                    new Linear(a, r, 36, 10, true)));
            assertEquals(List.of("0.weight", "0.bias", "3.weight", "3.bias", "5.weight", "5.bias"), List.copyOf(cnn.parameters().keySet()));
            Tensor x = Tensor.of(a, Init.normal(r, 1, 2, 1, 6, 6), 2, 1, 6, 6);
            Eager ops = new Eager(new RefBackend(), a);
            Tensor y = cnn.forward(ops, x);
            var p = cnn.parameters();
            Tensor h = ops.maxPool2d(ops.relu(ops.conv2d(x, p.get("0.weight"), p.get("0.bias"), Hw.of(1), Hw.of(1), Hw.of(1), 1)),
                    Hw.of(2), Hw.of(2), Hw.of(0));
            h = ops.layerNorm(h, p.get("3.weight"), p.get("3.bias"), 1e-5);
            Tensor expected = ops.linear(ops.reshape(h, 2, 36), p.get("5.weight"), p.get("5.bias"));
            assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), 0f);
            Graph g = Graph.trace(List.of(x.spec()), (o, in) -> List.of(cnn.forward(o, in.get(0))));
            assertArrayEquals(y.toFloatArray(), g.compile(new RefBackend()).run(a, List.of(x)).get(0).toFloatArray(), 0f);
            assertEquals(Shape.of(2, 10), y.shape());
        }
    }

    @Test
    void defaultInitBoundsAndBadArguments() {
        try (Arena a = Arena.ofConfined()) {
            Conv2d c = new Conv2d(a, new Random(1), 8, 16, 3, 1, 0, 2, false);
            float bound = (float) (1 / Math.sqrt(4 * 9));
            for (float v : c.parameters().get("weight").toFloatArray()) {
                assertEquals(0, v, bound);
            }
            assertEquals(1, c.parameters().size());
            assertThrows(IllegalArgumentException.class, () -> new Conv2d(a, new Random(1), 3, 16, 3, 1, 0, 2, true));
            assertThrows(IllegalArgumentException.class, () -> new Linear(a, new Random(1), 0, 3, true));
        }
    }
}

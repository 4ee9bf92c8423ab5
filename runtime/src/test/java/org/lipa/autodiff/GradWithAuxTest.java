package org.lipa.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.graph.Graph;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** The gradient of a first output with auxiliary outputs carried along, as training needs for running statistics. */
class GradWithAuxTest {
    @Test
    void auxiliaryOutputsAreReturnedAndNotDifferentiated() {
        TensorSpec s = new TensorSpec(Shape.of(3), DType.F64);
        // y = sum(x^2) * w, aux = exp(x) (its derivative would add exp(x) to dx if it leaked in)
        Graph g = Graph.trace(List.of(s, new TensorSpec(Shape.of(), DType.F64)), (ops, in) -> List.of(
                ops.mul(ops.sum(ops.square(in.get(0)), false), in.get(1)), ops.exp(in.get(0))));
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.of(a, new double[] {1, -2, 0.5}, 3);
            Tensor w = Tensor.scalar(a, DType.F64, 3);
            List<Tensor> r = Autodiff.gradWithAux(g).compile(new RefBackend()).run(a, List.of(x, w));
            assertEquals(4, r.size());
            assertEquals(3 * 5.25, r.get(0).item(), 1e-12);
            assertArrayEquals(new double[] {Math.exp(1), Math.exp(-2), Math.exp(0.5)}, r.get(1).toDoubleArray(), 1e-12);
            assertArrayEquals(new double[] {6, -12, 3}, r.get(2).toDoubleArray(), 1e-12);
            assertEquals(5.25, r.get(3).item(), 1e-12);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Autodiff.grad(g));
        assertTrue(e.getMessage().contains("gradWithAux"), e.getMessage());
        Graph vector = Graph.trace(List.of(s), (ops, in) -> List.of(ops.exp(in.get(0))));
        assertThrows(IllegalArgumentException.class, () -> Autodiff.gradWithAux(vector));
    }
}

package org.lipa.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.eval.Eager;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

@Tag("cpu")
class TrainerTest {

    @Test
    void aStudentMlpLearnsATeacher() {
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            Random rnd = new Random(3);
            Sequential teacher = Sequential.mlp(model, rnd, Activation.TANH, 8, 16, 1);
            Sequential student = Sequential.mlp(model, rnd, Activation.TANH, 8, 32, 1);
            assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(student.parameters().keySet()));
            Tensor x = Tensor.of(model, Init.normal(rnd, 1, 64, 8), 64, 8);
            Tensor y = teacher.forward(new Eager(cpu, model), x);
            Trainer t = new Trainer(cpu, student, x.spec(), y.spec(), (ops, prediction, target) -> ops.mse(prediction, target),
                    Optimizer.adam(List.copyOf(student.parameters().values()), model, 1e-2, 0.9, 0.999, 1e-8, 0));
            double first = t.step(x, y);
            double last = first;
            for (int i = 0; i < 300; i++) {
                last = t.step(x, y);
            }
            assertTrue(last < first / 20, "loss went from " + first + " to " + last);
            // the trained parameters are the module's own: eager forward sees them
            try (Arena step = Arena.ofConfined()) {
                Tensor pred = student.forward(new Eager(cpu, step), x);
                double mse = new Eager(cpu, step).mse(pred, y).item();
                assertEquals(last, mse, 0.2 * last + 1e-6);
            }
        }
    }

    @Test
    void eagerAndTracedForwardAgree() {
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            Sequential net = Sequential.mlp(model, new Random(4), Activation.RELU, 5, 7, 3);
            Tensor x = Tensor.of(model, Init.normal(new Random(5), 1, 2, 5), 2, 5);
            Tensor eager = net.forward(new Eager(cpu, model), x);
            var g = org.lipa.graph.Graph.trace(List.of(x.spec()), (ops, in) -> List.of(net.forward(ops, in.get(0))));
            Tensor traced = g.compile(cpu).run(model, List.of(x)).get(0);
            assertArrayEquals(eager.toFloatArray(), traced.toFloatArray(), 0f);
            assertEquals(Shape.of(2, 3), traced.shape());
            assertEquals(DType.F32, traced.dtype());
        }
    }
}

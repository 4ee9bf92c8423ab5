package org.lipa.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.eval.Eager;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.BatchNorm;
import org.lipa.models.nn.Dropout;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.Tensor;

/** A traced training step stores the buffers its forward pass updates: running statistics and random keys. */
class TrainerBuffersTest {
    @Test
    void runningStatisticsAndRandomKeysAreStoredAfterEachStep() {
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            Random r = new Random(6);
            Sequential net = new Sequential(new Linear(model, r, 6, 8, true), new BatchNorm(model, 8), Activation.RELU,
                    Dropout.dropout(model, 0.5, 100), new Linear(model, r, 8, 3, true));
            Tensor x = Tensor.of(model, Init.normal(r, 1, 16, 6), 16, 6);
            Tensor y = Tensor.oneHot(model, org.lipa.tensor.DType.F32, new int[] {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, 3);
            // what the first step's batch norm must store, from an eager forward with the same state
            Map<String, Tensor> expected = new LinkedHashMap<>(net.state());
            net.forward(new Eager(cpu, model), expected, x);
            Trainer t = new Trainer(cpu, net, x.spec(), y.spec(), (ops, p, target) -> ops.crossEntropy(p, target),
                    Optimizer.sgd(List.copyOf(net.parameters().values()), model, 1e-12, 0, false, 0));
            t.step(x, y);
            assertArrayEquals(expected.get("1.running_mean").toFloatArray(), net.buffers().get("1.running_mean").toFloatArray(), 1e-5f);
            assertArrayEquals(expected.get("1.running_var").toFloatArray(), net.buffers().get("1.running_var").toFloatArray(), 1e-5f);
            assertEquals(101, net.buffers().get("3." + Module.RNG_KEY).item());
            double l1 = t.step(x, y);
            double l2 = t.step(x, y);
            assertEquals(103, net.buffers().get("3." + Module.RNG_KEY).item());
            // learning rate 1e-12: only the dropout mask changes between steps, and it does change the loss
            assertTrue(l1 != l2, "a new dropout mask per step: " + l1 + " vs " + l2);
        }
    }
}

package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.train.Trainer;
import org.lipa.ops.Eager;
import org.lipa.tensor.Tensor;

class SyntheticTest {
    @Test
    void spiralsAreSeededBalancedAndOnTheirArms() {
        Dataset d = Synthetic.twoSpirals(100, 1.5, 0, 3);
        assertEquals(200, d.size());
        assertArrayEquals(d.features(), Synthetic.twoSpirals(100, 1.5, 0, 3).features());
        assertEquals(100, java.util.Arrays.stream(d.labels()).filter(l -> l == 1).count());
        // without noise the two arms are point reflections of each other
        assertEquals(-d.features()[2 * 50 * 2], d.features()[2 * (50 * 2 + 1)], 1e-6);
    }

    @Test
    @Tag("cpu")
    void anMlpSeparatesTheSpirals() {
        Dataset d = Synthetic.twoSpirals(200, 1.25, 0.02, 5);
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            Sequential net = Sequential.mlp(model, new Random(1), Activation.TANH, 2, 32, 32, 2);
            int n = d.size();
            Tensor[] all = d.batch(model, d.shuffled(0), 0, n);
            Trainer t = new Trainer(cpu, net, all[0].spec(), all[1].spec(), (ops, p, y) -> ops.crossEntropy(p, y),
                    Optimizer.adam(List.copyOf(net.parameters().values()), model, 0.01, 0.9, 0.999, 1e-8, 0));
            for (int i = 0; i < 600; i++) {
                t.step(all[0], all[1]);
            }
            float[] logits = net.forward(new Eager(cpu, model), all[0]).toFloatArray();
            float[] onehot = all[1].toFloatArray();
            int correct = 0;
            for (int i = 0; i < n; i++) {
                int pred = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
                if (onehot[2 * i + pred] == 1) {
                    correct++;
                }
            }
            assertTrue(correct > 0.95 * n, correct + " of " + n);
        }
    }
}

package org.lipa.models.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.Tensor;

/** A run interrupted by a checkpoint and resumed in fresh objects ends bit for bit where an uninterrupted run ends. */
@Tag("cpu")
class CheckpointTest {
    @TempDir
    Path dir;

    private static final int BATCH = 40;

    private record Run(Sequential net, Optimizer opt, Trainer trainer) {
    }

    private static Run fresh(CpuBackend cpu, Arena arena, long initSeed, Tensor[] like) {
        Sequential net = Sequential.mlp(arena, new Random(initSeed), Activation.TANH, 2, 16, 2);
        Optimizer opt = Optimizer.adam(List.copyOf(net.parameters().values()), arena, 0.01, 0.9, 0.999, 1e-8, 0);
        Trainer t = new Trainer(cpu, net, like[0].spec(), like[1].spec(), (ops, p, y) -> ops.crossEntropy(p, y), opt);
        return new Run(net, opt, t);
    }

    /** Steps {@code from} to {@code to} of a seeded data order: batch k of epoch e uses shuffle seed e. */
    private static void train(Run r, Dataset d, int from, int to) {
        int perEpoch = d.size() / BATCH;
        for (int k = from; k < to; k++) {
            try (Arena step = Arena.ofConfined()) {
                Tensor[] b = d.batch(step, d.shuffled(k / perEpoch), (k % perEpoch) * BATCH, BATCH);
                r.trainer().step(b[0], b[1]);
            }
        }
    }

    @Test
    void resumedRunMatchesTheUninterruptedOne() throws Exception {
        Dataset d = Synthetic.twoSpirals(100, 1, 0.05, 1);
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Tensor[] like = d.batch(arena, d.shuffled(0), 0, BATCH);
            Run straight = fresh(cpu, arena, 7, like);
            train(straight, d, 0, 23);

            Run first = fresh(cpu, arena, 7, like);
            train(first, d, 0, 11);
            Path ckpt = dir.resolve("ckpt.safetensors");
            Checkpoint.save(ckpt, first.net().parameters(), first.opt(), Map.of("step", "11"));

            Run resumed = fresh(cpu, arena, 99, like); // other initial weights: everything must come from the file
            Map<String, String> position = Checkpoint.restore(ckpt, resumed.net().parameters(), resumed.opt());
            assertEquals("11", position.get("step"));
            assertEquals(11, resumed.opt().steps());
            train(resumed, d, Integer.parseInt(position.get("step")), 23);

            for (String name : straight.net().parameters().keySet()) {
                assertArrayEquals(straight.net().parameters().get(name).toFloatArray(),
                        resumed.net().parameters().get(name).toFloatArray(), 0f, name);
            }
        }
    }

    @Test
    void aFileThatIsNotACheckpointIsRefused() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            Sequential net = Sequential.mlp(arena, new Random(1), Activation.TANH, 2, 3, 2);
            Path plain = dir.resolve("weights.safetensors");
            org.lipa.models.io.SafeTensors.save(plain, net.parameters());
            Optimizer opt = Optimizer.sgd(List.copyOf(net.parameters().values()), arena, 0.1, 0.9, false, 0);
            assertThrows(java.io.IOException.class, () -> Checkpoint.restore(plain, net.parameters(), opt));
        }
    }
}

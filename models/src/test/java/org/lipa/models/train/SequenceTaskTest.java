package org.lipa.models.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;

/** A small Transformer learns the majority-token task well above chance (1/vocab) in a few seconds, with each attention. */
class SequenceTaskTest {
    @Test
    void aTransformerLearnsWhichTokenIsMostFrequent() throws Exception {
        int length = 8;
        int vocab = 4;
        Dataset train = Synthetic.majorityToken(2048, length, vocab, 1);
        Dataset test = Synthetic.majorityToken(512, length, vocab, 2);
        try (CpuBackend cpu = CpuBackend.open()) {
            for (Attention.Kind kind : Attention.Kind.values()) {
                try (Arena a = Arena.ofConfined()) {
                    var net = new SequenceTransformer(a, new Random(3), kind, TransformerBlock.Norm.PRE, length, vocab, 32, 2, 4, vocab);
                    Optimizer adam = Optimizer.adamW(List.copyOf(net.parameters().values()), a, 3e-3, 0.9, 0.999, 1e-8, 1e-4);
                    TrainingRun run = new TrainingRun(cpu, net, adam, Schedule.cosine(3e-3, 0, 8 * 32).withWarmup(20), train, test, 64,
                            length * vocab);
                    List<TrainingRun.Epoch> h = run.fit(8, 0, null, 0, TrainingRun.Listener.NONE);
                    double acc = h.get(h.size() - 1).testAccuracy();
                    assertTrue(acc > 0.6, kind + ": test accuracy " + acc + " (chance is 0.25); history " + h);
                }
            }
        }
    }
}

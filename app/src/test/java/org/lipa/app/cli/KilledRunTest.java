package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.models.io.SafeTensors;
import org.lipa.tensor.Tensor;

/**
 * {@code lipa train} killed with SIGKILL while it trains resumes from its checkpoint and ends with the
 * same weights, bit for bit, as a run that was never interrupted.
 */
class KilledRunTest {
    private static Process train(Path dir, String... extra) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train", "--data", "spirals", "--epochs", "60",
                "--batch", "32", "--lr", "3e-3", "--seed", "4"));
        cmd.addAll(List.of(extra));
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(dir.resolve("log-"
                + System.nanoTime()).toFile()).start();
    }

    @Test
    void aKilledTrainingRunResumesToTheSameBits(@TempDir Path dir) throws Exception {
        Path whole = dir.resolve("whole.safetensors");
        assertEquals(0, train(dir, "--save", whole.toString()).waitFor());

        Path ckpt = dir.resolve("run.ckpt");
        Path resumed = dir.resolve("resumed.safetensors");
        Process victim = train(dir, "--checkpoint", ckpt.toString(), "--checkpoint-every", "7", "--save", resumed.toString());
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!Files.exists(ckpt) && victim.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(victim.isAlive(), "the run ended before it could be killed; make it longer");
        victim.destroyForcibly().waitFor();
        assertTrue(Files.exists(ckpt) && !Files.exists(resumed), "killed after its first checkpoint, before the end");
        assertEquals(0, train(dir, "--checkpoint", ckpt.toString(), "--checkpoint-every", "7", "--save", resumed.toString()).waitFor());

        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> w = SafeTensors.load(whole, a);
            Map<String, Tensor> r = SafeTensors.load(resumed, a);
            assertEquals(w.keySet(), r.keySet());
            for (String k : w.keySet()) {
                assertArrayEquals(w.get(k).toFloatArray(), r.get(k).toFloatArray(), 0f, k);
            }
        }
    }
}

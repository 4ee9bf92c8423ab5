package org.lipa.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.VisionTransformer;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.Tensor;

/**
 * Weights trained in PyTorch run in Lipa and the reverse, through {@code .npz} files and the PyTorch twins
 * in {@code python/lipa_torch.py}: same names, same outputs. Interop with an installed PyTorch, so the
 * tests are skipped where Debian's python3-torch is absent.
 */
class TorchInteropTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path SCRIPT = Path.of("..", "python", "interop.py");

    @BeforeAll
    static void torchPresent() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PYTHON), "no " + PYTHON);
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
        Assumptions.assumeTrue(p.waitFor() == 0, "python3-torch is not installed");
    }

    private static Module build(String name, Arena a, long seed) {
        Random r = new Random(seed);
        return switch (name) {
            case "mlp" -> Sequential.mlp(a, r, Activation.RELU, 784, 32, 16, 10);
            case "resnet" -> new ResNet(a, r, 1, 10, 4, 1, ResNet.Norm.BATCH, true);
            case "vit" -> new VisionTransformer(a, r, Attention.Kind.DOT, 1, 28, 7, 16, 2, 2, 2, 10);
            default -> throw new IllegalArgumentException(name);
        };
    }

    private static int python(String mode, String model, Path file) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(PYTHON.toString(), SCRIPT.toString(), mode, model, file.toString()).redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        System.out.println("interop.py " + mode + " " + model + ": " + out.strip());
        return code;
    }

    @ParameterizedTest
    @ValueSource(strings = {"mlp", "resnet", "vit"})
    void pytorchWeightsRunInLipaAndLipaWeightsRunInPytorch(String name, @TempDir Path dir) throws Exception {
        Path fromTorch = dir.resolve("torch.npz");
        assertEquals(0, python("export", name, fromTorch));
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> file = NumPy.loadNpz(fromTorch, a);
            Map<String, Tensor> state = new LinkedHashMap<>();
            file.forEach((k, v) -> {
                if (k.startsWith("state.")) {
                    state.put(k.substring(6), v);
                }
            });
            Module m = build(name, a, 1);
            assertEquals(m.stateDict().keySet(), state.keySet(), "the same state_dict names");
            SafeTensors.copyInto(state, m.stateDict());
            m.train(false);
            Tensor y = m.forward(new Eager(new RefBackend(), a), file.get("x"));
            assertArrayEquals(file.get("y").toFloatArray(), y.toFloatArray(), 1e-4f);

            Module mine = build(name, a, 2);
            mine.train(false);
            Tensor x = Tensor.of(a, Init.normal(new Random(3), 1, file.get("x").shape().toArray()), file.get("x").shape().toArray());
            Map<String, Tensor> out = new LinkedHashMap<>();
            out.put("x", x);
            out.put("y", mine.forward(new Eager(new RefBackend(), a), x));
            mine.stateDict().forEach((k, v) -> out.put("state." + k, v));
            Path fromLipa = dir.resolve("lipa.npz");
            NumPy.saveNpz(fromLipa, out);
            assertEquals(0, python("check", name, fromLipa), "PyTorch computes what Lipa computed with Lipa's weights");
        }
    }
}

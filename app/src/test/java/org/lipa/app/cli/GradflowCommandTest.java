package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.analysis.GradientFlow;
import org.lipa.models.analysis.GradientFlowSweep;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.tensor.Tensor;
import picocli.CommandLine;

@Tag("cpu")
class GradflowCommandTest {
    private static int run(String... args) {
        return new CommandLine(new GradflowCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    @Test
    void writesEveryNumberAndThePlots(@TempDir Path dir) throws Exception {
        int code = run("--depths", "2,4", "--width", "8", "--variants", "plain,residual-norm", "--inits", "orthogonal,lecun_normal",
                "--activation", "tanh", "--data", "gaussian", "--batch", "6", "--jacobian-inputs", "2", "--seed", "3", "--out",
                dir.toString());
        assertEquals(0, code);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("gradflow.json").toFile());
        assertTrue(json.get("data").asText().contains("Gaussian"), json.get("data").asText());
        JsonNode results = json.get("results");
        assertEquals(2 * 2 * 2, results.size());
        for (JsonNode r : results) {
            int depth = r.get("depth").asInt();
            assertEquals(depth + 2, r.get("weightGradNorms").size());
            assertEquals(depth + 1, r.get("signalGradNorms").size());
            assertEquals(2, r.get("jacobian").get("singularValues").size());
            assertEquals(8, r.get("jacobian").get("singularValues").get(0).size());
        }
        for (JsonNode p : json.get("plots")) {
            byte[] head = Files.readAllBytes(dir.resolve(p.asText()));
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(head, 4), p.asText());
        }
        assertTrue(json.get("plots").size() >= 2 * 2 * 2, json.get("plots").toString());

        // the file's numbers are those the library computes for the same seed and batch
        JsonNode last = results.get(results.size() - 1);
        assertEquals("residual-norm", last.get("variant").asText());
        assertEquals("LECUN_NORMAL", last.get("init").asText());
        try (CpuBackend cpu = CpuBackend.open(); Arena a = Arena.ofConfined()) {
            GradientFlowSweep.Batch b = GradientFlowSweep.gaussian(a, 6, 784, 10, 1, 3);
            GradientFlow f = GradientFlow.of(cpu, a, new GradientFlow.Network(784, 8, 4, 10, Activation.TANH,
                    GradientFlow.Variant.RESIDUAL_NORM), b.x().spec(), b.y().spec(), (ops, p, t) -> ops.crossEntropy(p, t));
            java.util.List<Tensor> p = f.initialize(a, Init.Scheme.LECUN_NORMAL, 1, 3 * 1_000_003L + 4);
            GradientFlow.Profile g = f.gradients(a, p, b.x(), b.y());
            for (int l = 0; l < g.signalNorms().length; l++) {
                assertEquals(g.signalNorms()[l], last.get("signalGradNorms").get(l).asDouble(), 1e-6 * g.signalNorms()[l]);
            }
            assertEquals(g.loss(), last.get("loss").asDouble(), 1e-6);
        }
    }

    @Test
    void rejectsUnknownVariantsAndInitializers(@TempDir Path dir) {
        assertEquals(2, run("--variants", "wide", "--out", dir.toString()));
        assertEquals(2, run("--inits", "zeros", "--out", dir.toString()));
        assertEquals(2, run("--depths", "0", "--out", dir.toString()));
    }
}

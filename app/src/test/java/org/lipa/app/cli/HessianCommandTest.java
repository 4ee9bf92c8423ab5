package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.models.io.SafeTensors;
import org.lipa.tensor.Tensor;
import picocli.CommandLine;

/** {@code lipa hessian} end to end (moved from the models' HessianTest, which keeps the analysis itself). */
class HessianCommandTest {
    /** Runs {@code lipa hessian} with the given arguments; returns the exit code and what it printed. */
    private static Object[] command(String... args) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = new CommandLine(new HessianCommand()).setCaseInsensitiveEnumValuesAllowed(true).setErr(new PrintWriter(new StringWriter()))
                    .execute(args);
        } finally {
            System.setOut(old);
        }
        return new Object[] {code, buf.toString(StandardCharsets.UTF_8)};
    }

    @Test
    @Tag("cpu")
    void theCommandWritesItsReportAndPlots(@TempDir Path dir) throws IOException {
        Object[] run = command("--data", "spirals", "--hidden", "8", "--batches", "2", "--batch-size", "16", "--top-k", "2",
                "--slq-steps", "12", "--max-iter", "40", "--dense-limit", "0", "--blocks", "--save-eigenvectors", "--out", dir.toString());
        String printed = (String) run[1];
        assertEquals(0, run[0], printed);
        assertTrue(printed.contains("top eigenvalues") && printed.contains("lambda_2 = ") && printed.contains("trace")
                && printed.contains("(exact, 42 products)") && printed.contains("block 0"), printed);
        JsonNode json = new ObjectMapper().readTree(dir.resolve("hessian.json").toFile());
        assertEquals(2 * 8 + 8 + 8 * 2 + 2, json.get("parameters").asInt());
        JsonNode top = json.get("top");
        assertEquals("lanczos", top.get("method").asText());
        assertEquals("largest magnitude", top.get("which").asText());
        JsonNode values = top.get("eigenvalues");
        assertEquals(2, values.size());
        assertEquals(2, top.get("residuals").size());
        assertEquals(2, top.get("converged").size());
        for (int k = 0; k < 2; k++) {
            double r = top.get("residuals").get(k).asDouble();
            assertEquals(r <= 1e-3 * Math.abs(values.get(k).asDouble()), top.get("converged").get(k).asBoolean(), "flag " + k);
        }
        assertTrue(Math.abs(values.get(0).asDouble()) >= Math.abs(values.get(1).asDouble()), "by magnitude: " + values);
        JsonNode density = json.get("density");
        assertEquals(12, density.get("nodes").get(0).size());
        double step = density.get("grid").get(1).asDouble() - density.get("grid").get(0).asDouble();
        double mass = 0;
        for (JsonNode v : density.get("density")) {
            mass += v.asDouble() * step;
        }
        assertEquals(1, mass, 1e-9);
        // 42 parameters: the trace is exact, and the block traces add up to it; a principal block's eigenvalues interlace the
        // whole Hessian's, so no block's top exceeds the top in magnitude (each up to its residual bound)
        JsonNode trace = json.get("trace");
        assertTrue(trace.get("exact").asBoolean() && trace.get("converged").asBoolean());
        assertEquals(42, trace.get("samples").asInt());
        JsonNode blocks = json.get("blocks");
        assertEquals(2, blocks.size());
        double sum = 0;
        for (JsonNode b : blocks) {
            assertTrue(Math.abs(b.get("topEigenvalue").asDouble()) <= Math.abs(values.get(0).asDouble()) + b.get("topResidual").asDouble()
                    + top.get("residuals").get(0).asDouble(), b.toString());
            assertTrue(b.get("trace").get("exact").asBoolean());
            sum += b.get("trace").get("mean").asDouble();
        }
        assertEquals(trace.get("mean").asDouble(), sum, 1e-9 * Math.abs(sum) + 1e-12);
        for (String png : List.of("density.png", "blocks-top-eigenvalue.png", "blocks-trace.png")) {
            byte[] head = Arrays.copyOf(Files.readAllBytes(dir.resolve(png)), 4);
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, head, png);
        }
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> v = SafeTensors.load(dir.resolve("eigenvector-1.safetensors"), a);
            assertEquals(List.of("0.weight", "0.bias", "2.weight", "2.bias"), List.copyOf(v.keySet()));
        }

        // PyHessian's power iteration and sampled traces: the block traces add up within their standard errors
        Path power = dir.resolve("power");
        run = command("--data", "spirals", "--hidden", "8", "--batches", "2", "--batch-size", "16", "--top-k", "2", "--slq-steps", "12",
                "--method", "power", "--exact-trace-limit", "0", "--trace-samples", "30,30", "--blocks", "--out", power.toString());
        printed = (String) run[1];
        assertEquals(0, run[0], printed);
        assertTrue(printed.contains("power iteration") && printed.contains("95% interval"), printed);
        json = new ObjectMapper().readTree(power.resolve("hessian.json").toFile());
        assertEquals("power iteration", json.get("top").get("method").asText());
        trace = json.get("trace");
        assertFalse(trace.get("exact").asBoolean());
        assertEquals(30, trace.get("samples").asInt());
        assertTrue(trace.get("lower").asDouble() < trace.get("mean").asDouble() && trace.get("mean").asDouble() < trace.get("upper").asDouble());
        sum = 0;
        double variance = Math.pow(trace.get("standardError").asDouble(), 2);
        for (JsonNode b : json.get("blocks")) {
            sum += b.get("trace").get("mean").asDouble();
            variance += Math.pow(b.get("trace").get("standardError").asDouble(), 2);
        }
        assertEquals(trace.get("mean").asDouble(), sum, 4 * Math.sqrt(variance));

        assertEquals(2, new CommandLine(new HessianCommand()).setErr(new PrintWriter(new StringWriter())).execute("--batches", "0",
                "--data", "SPIRALS", "--out", dir.toString()));
        assertEquals(2, command("--data", "spirals", "--method", "power", "--which", "smallest", "--out", dir.toString())[0]);
        assertEquals(2, command("--data", "spirals", "--trace-samples", "5", "--out", dir.toString())[0]);
        assertEquals(2, command("--data", "spirals", "--method", "dense", "--batch-size", "8", "--out", dir.toString())[0],
                "8,642 parameters are too many to write out");
    }
}

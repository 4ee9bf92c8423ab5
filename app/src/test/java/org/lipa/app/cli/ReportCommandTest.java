package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.app.report.Json;

/** The main job and the analysis commands write what they promise: every figure the page shows exists, every section has numbers. */
@Tag("cpu")
class ReportCommandTest {
    @Test
    @SuppressWarnings("unchecked")
    void theReportShowsEveryPlotItWroteAndKeepsEveryNumber(@TempDir Path dir) throws Exception {
        assertEquals(0, Main.run("report", "--data", "spirals", "--epochs", "1", "--quick", "--out", dir.toString()));
        String html = Files.readString(dir.resolve("index.html"));
        Matcher img = Pattern.compile("<img src=\"([^\"]+)\"").matcher(html);
        int images = 0;
        while (img.find()) {
            Path png = dir.resolve(img.group(1));
            assertTrue(Files.size(png) > 2000, png + " is a real image");
            images++;
        }
        assertTrue(images >= 14, "figures on the page: " + images);
        Map<String, Object> json = (Map<String, Object>) Json.read(dir.resolve("report.json"));
        for (String key : List.of("data", "backend", "model", "training", "lipschitz", "hessian", "landscape", "gradient_flow",
                "attention_scale", "stage_seconds", "seconds")) {
            assertTrue(json.containsKey(key), "report.json has " + key + ": " + json.keySet());
        }
        assertTrue(((String) json.get("backend")).startsWith("cpu"), "the default device is the CPU: " + json.get("backend"));
        Map<String, Object> stages = (Map<String, Object>) json.get("stage_seconds");
        assertEquals(List.of("lipschitz_init", "training", "lipschitz_trained", "lipschitz_section", "hessian", "landscape",
                "gradient_flow", "attention"), List.copyOf(stages.keySet()));
        double total = ((Number) json.get("seconds")).doubleValue();
        double sum = stages.values().stream().mapToDouble(v -> ((Number) v).doubleValue()).sum();
        assertTrue(sum > 0 && sum <= total, "the stages' " + sum + " s fit in the report's " + total + " s");
        Map<String, Object> lip = (Map<String, Object>) ((Map<String, Object>) json.get("lipschitz")).get("trained");
        double lower = ((Number) lip.get("lowerBound")).doubleValue();
        double upper = ((Number) lip.get("upperBound")).doubleValue();
        assertTrue(lower > 0 && lower <= upper, lower + " <= " + upper);
        assertTrue(html.contains("two spirals"), "the page says which data it used");
    }

    @Test
    @SuppressWarnings("unchecked")
    void lipschitzWritesItsTableAsJson(@TempDir Path dir) throws Exception {
        assertEquals(0, Main.run("lipschitz", "--data", "spirals", "--examples", "3", "--ascent-steps", "2", "--out", dir.toString()));
        Map<String, Object> r = (Map<String, Object>) Json.read(dir.resolve("lipschitz.json"));
        List<Map<String, Object>> parts = (List<Map<String, Object>>) r.get("modules");
        assertEquals(List.of("input", "blocks", "head"), parts.stream().filter(p -> !((String) p.get("name")).contains("."))
                .map(p -> p.get("name")).toList());
        assertTrue(Files.size(dir.resolve("lipschitz.png")) > 2000);
    }

    /** Where there is no GPU, asking for one is refused in one line before any work (GpuModelsTest covers the GPU run). */
    @Test
    @org.junit.jupiter.api.condition.DisabledIf("gpuPresent")
    void aMissingGpuIsRefusedBeforeAnyWork(@TempDir Path dir) {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream before = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        int code;
        try {
            code = Main.run("report", "--data", "spirals", "--quick", "--device", "gpu", "--out", dir.toString());
        } finally {
            System.setErr(before);
        }
        assertEquals(2, code);
        assertTrue(err.toString().startsWith("lipa report: --device gpu: "), err.toString());
        assertFalse(Files.exists(dir.resolve("report.json")), "nothing was written");
        assertEquals(2, Main.run("report", "--device", "tpu", "--out", dir.toString()), "an unknown device is a usage error");
    }

    static boolean gpuPresent() {
        return org.lipa.backend.gpu.GpuBackend.isAvailable();
    }

    @Test
    void experimentsAreListedAndUnknownNamesRefused(@TempDir Path dir) {
        assertEquals(0, Main.run("experiment", "--list"));
        assertEquals(2, Main.run("experiment", "no-such-thing", "--out", dir.toString()));
        assertFalse(Files.exists(dir.resolve("no-such-thing.json")));
    }
}

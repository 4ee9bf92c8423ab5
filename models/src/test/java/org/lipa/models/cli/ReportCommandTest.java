package org.lipa.models.cli;

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
import org.lipa.models.report.Json;

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
        for (String key : List.of("data", "model", "training", "lipschitz", "hessian", "landscape", "gradient_flow", "attention_scale",
                "seconds")) {
            assertTrue(json.containsKey(key), "report.json has " + key + ": " + json.keySet());
        }
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

    @Test
    void experimentsAreListedAndUnknownNamesRefused(@TempDir Path dir) {
        assertEquals(0, Main.run("experiment", "--list"));
        assertEquals(2, Main.run("experiment", "no-such-thing", "--out", dir.toString()));
        assertFalse(Files.exists(dir.resolve("no-such-thing.json")));
    }
}

package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code lipa landscape} on spirals: every section in the JSON, every plot, and numbers that agree across sections. */
class LandscapeCommandTest {
    @Test
    void writesEverySectionAndTheSectionsAgreeAtTheTrainedWeights(@TempDir Path dir) throws Exception {
        int code = new CommandLine(new LandscapeCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute("--data", "spirals",
                "--epochs", "2", "--grid", "5", "--range", "0.5", "--record-every", "3", "--bezier-steps", "10",
                "--eval-examples", "250", "--out", dir.toString());
        assertEquals(0, code);
        JsonNode j = new ObjectMapper().readTree(dir.resolve("landscape.json").toFile());
        for (String png : new String[] {"interpolation", "interpolation_path", "random1d", "random2d", "pca_surface", "pca_path",
                "connectivity"}) {
            assertTrue(Files.size(dir.resolve(png + ".png")) > 1000, png);
        }
        // alpha = 1 on the interpolation grid [-0.5, 1.5] of 5 points is index 3: the trained weights, which are
        // also the centre of the random surfaces and the start of the connectivity line
        JsonNode interp = j.get("interpolation");
        assertEquals(1.0, interp.get("alpha").get(3).asDouble(), 0);
        double trained = interp.get("loss").get(3).asDouble();
        assertEquals(trained, j.get("random1d").get("loss").get(2).asDouble(), 0);
        assertEquals(trained, j.get("random2d").get("loss").get(2).get(2).asDouble(), 0);
        assertEquals(trained, j.get("pca").get("loss").get(2).get(2).asDouble(), 0);
        assertEquals(trained, j.get("connectivity").get("lineLoss").get(0).asDouble(), 0);
        assertEquals(trained, j.get("connectivity").get("curveLoss").get(0).asDouble(), 0);
        JsonNode alpha = interp.get("pathAlpha");
        assertEquals(0, alpha.get(0).asDouble(), 1e-12, "the path starts at theta0");
        assertEquals(1, alpha.get(alpha.size() - 1).asDouble(), 1e-12, "and ends at theta1");
        double explained = j.get("pca").get("explainedVariance").get(0).asDouble() + j.get("pca").get("explainedVariance").get(1).asDouble();
        assertTrue(explained > 0 && explained <= 1 + 1e-12, "explained variance " + explained);
        assertTrue(j.get("connectivity").get("lineBarrier").asDouble() >= 0);
        assertEquals(10, j.get("connectivity").get("bezierTrainingLoss").size());
    }
}

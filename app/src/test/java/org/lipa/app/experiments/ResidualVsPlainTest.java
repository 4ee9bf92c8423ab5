package org.lipa.app.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.backend.cpu.CpuBackend;

@Tag("cpu")
class ResidualVsPlainTest {
    @Test
    @SuppressWarnings("unchecked")
    void theSmallRunShowsPlainNormalizedNetworksExplodingAndResidualOnesNot(@TempDir Path dir) throws Exception {
        try (CpuBackend cpu = CpuBackend.open()) {
            Experiment.Result r = new ResidualVsPlain().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, s -> { }));
            assertEquals("residual-vs-plain", r.name());
            assertTrue(r.holds(), r.evidence());
            double layer = (double) r.figures().get("layerNormPlainOverResidualSpread");
            double batch = (double) r.figures().get("batchNormPlainOverResidualSpread");
            assertTrue(layer >= ResidualVsPlain.FACTOR && batch >= ResidualVsPlain.FACTOR, layer + ", " + batch);
            Map<String, Map<String, Double>> at = (Map<String, Map<String, Double>>) r.figures().get("atDeepest");
            // the ratio is what the per-variant spreads say
            assertEquals(at.get("norm").get("signalSpread") / at.get("residual-norm").get("signalSpread"), layer, 1e-12 * layer);
            // He init keeps an unnormalized plain ReLU network's gradient in scale; an unscaled residual sum does not
            assertTrue(at.get("plain").get("signalSpread") < 10, at.toString());
            assertTrue(at.get("residual").get("signalSpread") > 1e3, at.toString());
            assertEquals(3, r.plots().size());
            for (Path p : r.plots()) {
                assertTrue(Files.size(p) > 1000, p.toString());
            }
            assertTrue(r.evidence().contains("depth 32"), r.evidence());
        }
    }
}

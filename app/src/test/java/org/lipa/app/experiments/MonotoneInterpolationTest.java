package org.lipa.app.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.backend.cpu.CpuBackend;

/** The SMALL run finishes, plots, and its verdict follows from its own figures. */
class MonotoneInterpolationTest {
    @Test
    void smallRunDecidesFromTheCurveItReports(@TempDir Path dir) {
        List<String> lines = new ArrayList<>();
        Experiment.Result r;
        try (CpuBackend cpu = CpuBackend.open()) {
            r = new MonotoneInterpolation().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, lines::add));
        }
        assertEquals("monotone-interpolation", r.name());
        assertTrue(Files.isRegularFile(r.plots().get(0)), "the plot is written");
        double[] alpha = (double[]) r.figures().get("alpha");
        double[] loss = (double[]) r.figures().get("trainLoss");
        assertEquals(alpha.length, loss.length);
        // recompute the verdict from the reported curve: L(1) < L(0) and no rise on [0, 1] above 0.1% of the fall
        int i0 = -1;
        int i1 = -1;
        for (int i = 0; i < alpha.length; i++) {
            if (Math.abs(alpha[i]) < 1e-12) {
                i0 = i;
            }
            if (Math.abs(alpha[i] - 1) < 1e-12) {
                i1 = i;
            }
        }
        assertTrue(i0 >= 0 && i1 > i0, "the grid holds alpha 0 and 1");
        double rise = Double.NEGATIVE_INFINITY;
        for (int i = i0; i < i1; i++) {
            rise = Math.max(rise, loss[i + 1] - loss[i]);
        }
        assertEquals(rise, (double) r.figures().get("largestRiseOn01"), 0);
        boolean expected = loss[i1] < loss[i0] && rise <= MonotoneInterpolation.TOLERANCE * (loss[i0] - loss[i1]);
        assertEquals(expected, r.holds(), r.evidence());
        assertTrue(loss[i1] < 0.8 * loss[i0], "training lowered the loss: " + r.evidence());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("epoch")), "progress was reported");
    }
}

package org.lipa.app.experiments;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.backend.cpu.CpuBackend;

/** The attention-scale experiment shows what Kim et al. prove, and its verdict follows from its figures. */
class AttentionScaleTest {
    @Test
    void dotProductAttentionGrowsWithScaleAndL2StaysBounded(@TempDir Path dir) throws Exception {
        try (CpuBackend cpu = CpuBackend.open()) {
            List<String> lines = new ArrayList<>();
            Experiment.Context c = new Experiment.Context(cpu, dir, 1, Experiment.Size.SMALL, lines::add);
            Experiment.Result r = new AttentionScale().run(c);
            lines.forEach(System.out::println);
            System.out.println(r.evidence());
            double[] dot = (double[]) r.figures().get("dot");
            double[] l2 = (double[]) r.figures().get("l2");
            assertEquals(AttentionScale.decide(dot[dot.length - 1] / dot[0], l2[l2.length - 1] / l2[0]), r.holds());
            assertTrue(r.holds(), r.evidence());
            for (int i = 1; i < dot.length; i++) {
                assertTrue(dot[i] > dot[i - 1], "dot-product attention's constant increases with the radius: " + java.util.Arrays.toString(dot));
            }
            assertTrue(Files.size(r.plots().get(0)) > 1000);
            assertEquals(9, lines.size(), "one progress line per kind and radius");
            Experiment.Result again = new AttentionScale().run(new Experiment.Context(cpu, dir, 1, Experiment.Size.SMALL, s -> { }));
            assertArrayEquals(dot, (double[]) again.figures().get("dot"), 0, "seeded");
        }
    }
}

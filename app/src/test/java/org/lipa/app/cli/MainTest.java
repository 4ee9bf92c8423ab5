package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

class MainTest {

    private static String captureOut(Runnable r) {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setOut(old);
        }
        return buf.toString(StandardCharsets.UTF_8);
    }

    @Test
    @Tag("cpu")
    void demoRunsASmallNetworkAndReportsTimings() {
        int[] code = new int[1];
        String out = captureOut(() -> code[0] = Main.run("demo", "--widths", "16,8,4", "--batch", "3", "--iterations", "3"));
        assertEquals(0, code[0], out);
        assertTrue(out.contains("oneDNN"), out);
        assertTrue(out.contains("eager:") && out.contains("traced graph:"), out);
        // the steady state reuses every primitive the first call created
        assertTrue(out.contains("primitives created after the first call: 0"), out);
    }

    @Test
    void helpListsTheCommands() {
        String out = captureOut(() -> Main.run("--help"));
        for (String c : java.util.List.of("report", "lipschitz", "experiment", "train", "data", "demo")) {
            assertTrue(out.contains(c), c + " in " + out);
        }
    }

    @Test
    void badOptionsFail() {
        assertNotEquals(0, Main.run("demo", "--batch", "zero"));
    }

    @Test
    void dataRejectsUnknownSetsAndFoldersWithoutTheFiles(@org.junit.jupiter.api.io.TempDir java.nio.file.Path empty) {
        assertEquals(2, Main.run("data", "cifar"));
        assertEquals(1, Main.run("data", "mnist", "--dir", empty.toString()));
    }
}

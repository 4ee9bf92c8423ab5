package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.analysis.Dense;
import org.lipa.models.io.SafeTensors;
import org.lipa.app.report.Json;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** {@code lipa lipschitz --weights --layers}: a feed-forward net from a PyTorch state dict, bracketed, as JSON. */
@Tag("cpu")
class LipschitzCommandTest {
    /** A 2-12-12-2 relu net under nn.Sequential names, without the last layer's bias (it is taken as zero). */
    private static Path stateDict(Path dir, double[][] w) throws Exception {
        Random r = new Random(4);
        int[] widths = {2, 12, 12, 2};
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        Path file = dir.resolve("net.safetensors");
        try (Arena a = Arena.ofConfined()) {
            for (int l = 0; l < 3; l++) {
                w[l] = new double[widths[l + 1] * widths[l]];
                for (int i = 0; i < w[l].length; i++) {
                    w[l][i] = (float) (r.nextGaussian() * 1.4 / Math.sqrt(widths[l]));
                }
                tensors.put(2 * l + ".weight", Tensor.of(a, DType.F32, w[l], widths[l + 1], widths[l]));
                if (l < 2) {
                    double[] b = new double[widths[l + 1]];
                    for (int i = 0; i < b.length; i++) {
                        b[i] = 0.3 * r.nextGaussian();
                    }
                    tensors.put(2 * l + ".bias", Tensor.of(a, DType.F32, b, widths[l + 1]));
                }
            }
            SafeTensors.save(file, tensors);
        }
        return file;
    }

    @Test
    @SuppressWarnings("unchecked")
    void aFeedForwardNetIsBracketedAndTheJsonHasBothEndsAtItsTopLevel(@TempDir Path dir) throws Exception {
        double[][] w = new double[3][];
        Path file = stateDict(dir, w);
        Path json = dir.resolve("out.json");
        assertEquals(0, Main.run("lipschitz", "--weights", file.toString(), "--layers", "2,12,12,2", "--activation", "relu",
                "--data", "spirals", "--seconds", "5", "--search-evaluations", "1500", "--json", json.toString(), "--out", dir.toString()));
        Map<String, Object> r = (Map<String, Object>) Json.read(json);
        double lower = ((Number) r.get("lowerBound")).doubleValue();
        double upper = ((Number) r.get("upperBound")).doubleValue();
        assertTrue(lower > 0 && lower <= upper, lower + " <= " + upper);
        // the product of the layers' exact norms bounds both ends
        double product = Dense.singularValues(w[0], 12, 2)[0] * Dense.singularValues(w[1], 12, 12)[0] * Dense.singularValues(w[2], 2, 12)[0];
        assertTrue(upper <= product * (1 + 1e-9), upper + " vs the product " + product);
        List<Map<String, Object>> methods = (List<Map<String, Object>>) r.get("upperBounds");
        assertEquals(List.of("AutoLip", "SeqLip", "ECLipsE-Fast", "LipSDP-Layer", "LipSDP-Neuron"), methods.stream().map(m -> m.get("method")).toList());
        assertEquals("estimate", methods.get(1).get("guarantee"));
        assertEquals(upper, methods.stream().filter(m -> m.get("guarantee").equals("certified"))
                .mapToDouble(m -> ((Number) m.get("value")).doubleValue()).min().orElseThrow(), 0);
        assertEquals("certified", ((Map<String, Object>) r.get("lower")).get("guarantee"));
        assertEquals(3, ((List<?>) r.get("layers")).size());
        assertTrue(Files.size(dir.resolve("lipschitz.png")) > 2000);
        assertTrue(Files.size(dir.resolve("lower-bound-input.npy")) > 100);
    }

    @Test
    void mistakesAreNamedBeforeAnyWork(@TempDir Path dir) throws Exception {
        Path file = stateDict(dir, new double[3][]);
        assertEquals(2, run(dir, "--layers", "2,12,12,2"), "--layers without --weights");
        assertTrue(lastError.contains("--weights"), lastError);
        assertEquals(2, run(dir, "--weights", file.toString(), "--layers", "2,12,3,2"));
        assertTrue(lastError.contains("'2.weight' is [12, 12]") && lastError.contains("[3, 12]"), lastError);
        assertEquals(2, run(dir, "--weights", file.toString(), "--layers", "2,12,2"));
        assertTrue(lastError.contains("3 linear layers"), lastError);
        assertEquals(2, run(dir, "--weights", file.toString(), "--layers", "2,12,12,2", "--activation", "swish"));
        assertTrue(lastError.contains("activation"), lastError);
        assertEquals(2, run(dir, "--weights", dir.resolve("missing.safetensors").toString(), "--layers", "2,12,12,2"));
        assertTrue(lastError.contains("cannot read"), lastError);
        assertEquals(2, run(dir, "--weights", file.toString(), "--layers", "2,0,2"));
        assertFalse(Files.exists(dir.resolve("lipschitz.json")), "nothing written on a refusal");
    }

    private String lastError = "";

    private int run(Path dir, String... args) {
        String[] all = new String[args.length + 3];
        all[0] = "lipschitz";
        System.arraycopy(args, 0, all, 1, args.length);
        all[args.length + 1] = "--out";
        all[args.length + 2] = dir.toString();
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            return Main.run(all);
        } finally {
            System.setErr(err);
            lastError = captured.toString(StandardCharsets.UTF_8);
        }
    }
}

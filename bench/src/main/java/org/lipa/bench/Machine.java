package org.lipa.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import org.lipa.backend.cpu.DnnlLibrary;

/**
 * Describes the machine for the results table (one JSON object on stdout): processors, CPU model and
 * flags that matter (from {@code /proc/cpuinfo}), memory, JDK, OS, oneDNN's version and the path of the
 * {@code libdnnl.so.3} Lipa loads (which loading extracts, so the C baselines can link that same file),
 * OpenMP's thread settings and the date.
 *
 * <pre>{@code
 * java -cp ... org.lipa.bench.Machine > machine.json
 * }</pre>
 */
public final class Machine {
    private Machine() {
    }

    public static void main(String[] args) throws IOException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode m = json.createObjectNode();
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        String cpuinfo = read("/proc/cpuinfo");
        m.put("cpu", field(cpuinfo, "model name"));
        String flags = " " + field(cpuinfo, "flags") + " ";
        m.put("isa", flags.contains(" avx512f ") ? "AVX-512" : flags.contains(" avx2 ") ? "AVX2" : "SSE");
        String kib = field(read("/proc/meminfo"), "MemTotal").replaceAll("[^0-9]", "");
        m.put("memory_gib", kib.isEmpty() ? 0 : Math.round(Long.parseLong(kib) / 1048576.0));
        m.put("jdk", System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
                + System.getProperty("java.runtime.version"));
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        DnnlLibrary.ensureLoaded();
        m.put("onednn", DnnlLibrary.version());
        m.put("onednn_library", DnnlLibrary.path().toString());
        m.put("omp_num_threads", envOr("OMP_NUM_THREADS", "unset (all processors)"));
        m.put("omp_wait_policy", envOr("OMP_WAIT_POLICY", "unset"));
        m.put("gomp_spincount", envOr("GOMP_SPINCOUNT", "unset"));
        m.put("load_average", read("/proc/loadavg").split(" ")[0]);
        m.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        System.out.println(json.writeValueAsString(m));
    }

    private static String envOr(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    private static String read(String file) {
        try {
            return Files.readString(Path.of(file));
        } catch (IOException e) {
            return "";
        }
    }

    /** The value of the first {@code key : value} line, or "unknown". */
    private static String field(String text, String key) {
        for (String line : text.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equals(key)) {
                return line.substring(colon + 1).trim();
            }
        }
        return "unknown";
    }
}

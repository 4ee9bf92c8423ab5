package org.lipa.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The results writer: reads what one run of {@code bench/suite.sh} left in a folder and writes the tables of
 * {@code bench/RESULTS.md} between the markers {@value #BEGIN} and {@value #END}, keeping the rest of the
 * file (hand-written explanations, earlier measurements) as it is.
 *
 * <p>Inputs, all optional: {@code machine.json} ({@link Machine}); JMH's JSON output ({@code jmh*.json}, from
 * {@code -rf json}); and JSON lines ({@code *.jsonl}) from the C baselines, the peak kernel and the peers,
 * one measurement per line: {@code {"source": "c-direct", "figure": "matmul256", "ms": 0.21}} (or {@code ns}),
 * peaks as {@code {"source": "peak", "figure": "fma_gflops", "threads": 2, "value": 170}}, and a peer's
 * settings as {@code {"source": "pytorch", "figure": "_info", ...}}.
 *
 * <pre>{@code
 * java -cp ... org.lipa.bench.Results bench/target/results bench/RESULTS.md
 * }</pre>
 */
public final class Results {
    static final String BEGIN = "<!-- lipa-bench:begin (written by bench/suite.sh; edit outside these markers) -->";
    static final String END = "<!-- lipa-bench:end -->";

    /** A time per operation in milliseconds, with JMH's 99.9% error when known (NaN otherwise). */
    record Measure(double ms, double errorMs, JsonNode line) {
    }

    private static final List<String> PEERS = List.of("pytorch", "nd4j", "djl");
    private static final Map<String, String> PEER_NAMES = Map.of("pytorch", "PyTorch", "nd4j", "ND4J", "djl", "DJL");
    private static final List<String> DOWNCALL_FIGURES = List.of("noop", "matmul8", "relu16", "sgemm8");
    private static final List<String> DOWNCALL_WAYS = List.of("Panama", "Critical", "OneCall", "Jni", "Lipa");
    private static final List<String> CREATION_FIGURES = List.of("conv_fwd", "conv_bwd_data", "conv_bwd_weights", "layer_norm",
            "softmax");
    private static final Map<String, String> MLP_METHODS = Map.of("forward", "mlp_forward", "jvpOnly", "mlp_jvp", "vjpOnly", "mlp_vjp",
            "hvp", "mlp_hvp", "powerIterationStep", "mlp_power_step");
    private static final Map<String, String> GRAPH_FIGURES = new LinkedHashMap<>();

    static {
        GRAPH_FIGURES.put("mlp_forward", "MLP 784-512-512-512-10 forward, batch 128");
        GRAPH_FIGURES.put("mlp_jvp", "MLP JVP (linearized, J v)");
        GRAPH_FIGURES.put("mlp_vjp", "MLP VJP (pullback, J^T u)");
        GRAPH_FIGURES.put("mlp_hvp", "MLP HVP of the cross-entropy w.r.t. the input");
        GRAPH_FIGURES.put("mlp_power_step", "MLP Jacobian power-iteration step (J v and J^T u)");
        GRAPH_FIGURES.put("train_mlp", "training step, MLP 784-256-256-10");
        GRAPH_FIGURES.put("train_resnet8", "training step, ResNet-8 (width 16)");
        GRAPH_FIGURES.put("train_vit", "training step, ViT (dim 64, 4 blocks)");
    }

    private final ObjectMapper json = new ObjectMapper();
    /** source -> figure -> measure. Sources: lipa, lipa-first, panama, critical, one-call, jni, c-direct and the peers. */
    private final Map<String, Map<String, Measure>> data = new LinkedHashMap<>();
    private final Map<String, JsonNode> info = new LinkedHashMap<>();
    private final Map<String, Double> peak = new LinkedHashMap<>();
    private JsonNode machine;

    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: Results RESULTS_DIR RESULTS_MD");
            System.exit(2);
        }
        Results r = new Results();
        r.load(Path.of(args[0]));
        r.write(Path.of(args[1]));
    }

    /** Reads every input file in {@code dir}. */
    void load(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.sorted().toList();
        }
        for (Path f : files) {
            String name = f.getFileName().toString();
            if (name.equals("machine.json")) {
                machine = json.readTree(f.toFile());
            } else if (name.endsWith(".jsonl")) {
                for (String line : Files.readAllLines(f)) {
                    if (line.startsWith("{")) {
                        addLine(json.readTree(line));
                    }
                }
            } else if (name.startsWith("jmh") && name.endsWith(".json") && Files.size(f) > 0) {
                for (JsonNode b : json.readTree(f.toFile())) {
                    addJmh(b);
                }
            }
        }
    }

    private void addLine(JsonNode n) {
        String source = n.path("source").asText();
        String figure = n.path("figure").asText();
        if (source.equals("peak")) {
            peak.put(figure + "/" + n.path("threads").asInt(), n.path("value").asDouble());
        } else if (figure.equals("_info")) {
            info.put(source, n);
        } else if (n.has("ms")) {
            put(source, figure, new Measure(n.get("ms").asDouble(), Double.NaN, n));
        } else if (n.has("ns")) {
            put(source, figure, new Measure(n.get("ns").asDouble() * 1e-6, Double.NaN, n));
        }
    }

    private void addJmh(JsonNode b) {
        String full = b.path("benchmark").asText();
        int dot = full.lastIndexOf('.');
        String method = full.substring(dot + 1);
        String cls = full.substring(0, dot);
        String simple = cls.substring(cls.lastIndexOf('.') + 1);
        JsonNode params = b.path("params");
        JsonNode metric = b.path("primaryMetric");
        double scale = toMs(metric.path("scoreUnit").asText());
        Measure m = new Measure(metric.path("score").asDouble() * scale, metric.path("scoreError").asDouble(Double.NaN) * scale, b);
        if (cls.contains(".peers.")) {
            put(simple.replace("Bench", "").toLowerCase(Locale.ROOT), params.path("figure").asText(method), m);
            return;
        }
        switch (simple) {
            case "OpBench" -> put("lipa", params.path("figure").asText(), m);
            // the median of the single shots, the statistic native/bench/ops.c reports: a mean would carry the
            // rare shot that meets a JIT compilation or a safepoint (4 ms against 0.4)
            case "PrimitiveCreationBench" -> put("lipa-first", params.path("figure").asText(),
                    new Measure(metric.path("scorePercentiles").path("50.0").asDouble() * scale, Double.NaN, b));
            case "TrainStepBench" -> put("lipa", "train_" + params.path("model").asText(), m);
            case "MlpJacobianBench" -> put("lipa", MLP_METHODS.getOrDefault(method, "mlp_" + method), m);
            case "DowncallBench" -> {
                for (String way : DOWNCALL_WAYS) {
                    if (method.endsWith(way)) {
                        put(way.equals("Lipa") ? "lipa" : way.equals("OneCall") ? "one-call" : way.toLowerCase(Locale.ROOT),
                                method.substring(0, method.length() - way.length()), m);
                    }
                }
            }
            default -> put("lipa", simple + "." + method, m);
        }
    }

    private static double toMs(String unit) {
        return switch (unit) {
            case "s/op" -> 1e3;
            case "ms/op" -> 1;
            case "us/op" -> 1e-3;
            case "ns/op" -> 1e-6;
            default -> throw new IllegalArgumentException("unexpected JMH unit " + unit + "; the benchmarks report time per op");
        };
    }

    private void put(String source, String figure, Measure m) {
        data.computeIfAbsent(source, k -> new LinkedHashMap<>()).put(figure, m);
    }

    private Measure get(String source, String figure) {
        return data.getOrDefault(source, Map.of()).get(figure);
    }

    /** Rewrites the marked section of {@code md} (creating the file or the markers when absent). */
    void write(Path md) throws IOException {
        String section = BEGIN + "\n" + render() + END;
        String old = Files.exists(md) ? Files.readString(md) : "# Benchmark results\n";
        int b = old.indexOf(BEGIN);
        int e = old.indexOf(END);
        String text;
        if (b >= 0 && e > b) {
            text = old.substring(0, b) + section + old.substring(e + END.length());
        } else {
            int nl = old.indexOf('\n');
            text = nl < 0 ? old + "\n\n" + section + "\n" : old.substring(0, nl + 1) + "\n" + section + "\n" + old.substring(nl + 1);
        }
        Files.writeString(md, text);
    }

    // ---------------------------------------------------------------- rendering

    String render() {
        StringBuilder s = new StringBuilder();
        List<String> misses = new ArrayList<>();
        machine(s);
        downcalls(s, misses);
        ops(s, misses);
        creation(s);
        graph(s, misses);
        s.append("\n### Targets missed in this run\n\n");
        if (misses.isEmpty()) {
            s.append("None.\n");
        } else {
            misses.forEach(m -> s.append("- ").append(m).append('\n'));
            s.append("\nWhy: see \"Why some rows miss\" below.\n");
        }
        return s.toString();
    }

    private void machine(StringBuilder s) {
        s.append("\n## Machine and settings\n\n| | |\n| --- | --- |\n");
        if (machine != null) {
            row(s, "date", machine.path("date").asText());
            row(s, "CPU", machine.path("cpu").asText() + " (" + machine.path("isa").asText() + "), " + machine.path("nproc").asInt()
                    + " processors, " + machine.path("memory_gib").asInt() + " GiB");
            row(s, "load average at start", machine.path("load_average").asText());
            row(s, "JDK", machine.path("jdk").asText());
            row(s, "OS", machine.path("os").asText());
            row(s, "oneDNN", machine.path("onednn").asText() + " (" + machine.path("onednn_library").asText() + ")");
            row(s, "OpenMP", "OMP_NUM_THREADS=" + machine.path("omp_num_threads").asText() + ", OMP_WAIT_POLICY="
                    + machine.path("omp_wait_policy").asText() + ", GOMP_SPINCOUNT=" + machine.path("gomp_spincount").asText("unset")
                    + " (Lipa, C-direct, ND4J, DJL)");
        } else {
            row(s, "machine", "not recorded (no machine.json)");
        }
        row(s, "peak fp32 FMA", peakText("fma_gflops", "GFLOP/s"));
        row(s, "memory bandwidth (triad)", peakText("triad_gbs", "GB/s"));
        for (String p : PEERS) {
            JsonNode i = info.get(p);
            if (i != null) {
                StringBuilder t = new StringBuilder();
                i.fields().forEachRemaining(f -> {
                    if (!f.getKey().equals("source") && !f.getKey().equals("figure")) {
                        t.append(t.isEmpty() ? "" : ", ").append(f.getKey()).append(' ').append(f.getValue().asText());
                    }
                });
                row(s, PEER_NAMES.get(p), t.toString());
            }
        }
    }

    private String peakText(String figure, String unit) {
        Double one = peak.get(figure + "/1");
        Double two = peak.get(figure + "/2");
        if (one == null && two == null) {
            return "not measured";
        }
        return (one == null ? "-" : num(one)) + " " + unit + " on 1 thread, " + (two == null ? "-" : num(two)) + " on 2 threads";
    }

    private static void row(StringBuilder s, String k, String v) {
        s.append("| ").append(k).append(" | ").append(v).append(" |\n");
    }

    private void downcalls(StringBuilder s, List<String> misses) {
        s.append("""

                ## Downcall overhead (ns per call)

                `DowncallBench` against `native/bench/downcall.c`. Panama: Lipa's way, one jextract downcall per oneDNN call \
                (re-point each memory, execute, wait); critical: the same through `Linker.Option.critical(false)` handles; \
                one call: one Panama downcall to a C function making those calls; JNI: one JNI call to that C function; \
                Lipa: `CpuBackend.execute` of the op (the 8x8x8 matmul runs on `dnnl_sgemm`, so Lipa's matmul sits on \
                the sgemm row); C loop: the same C function called from C. Target: a prebuilt tiny primitive within 1.5x \
                of the C loop.

                | figure | C loop | Panama | critical | one call | JNI | Lipa | Panama / C | critical / C | JNI / C | target |
                | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
                """);
        Map<String, String> names = Map.of("noop", "empty C function", "matmul8", "matmul primitive 8x8x8", "relu16",
                "relu primitive, 16 floats", "sgemm8", "dnnl_sgemm 8x8x8");
        for (String f : DOWNCALL_FIGURES) {
            Measure c = get("c-direct", f);
            Measure p = get("panama", f);
            Measure k = get("critical", f);
            Measure j = get("jni", f);
            String target = "";
            if ((f.equals("matmul8") || f.equals("relu16")) && c != null && p != null) {
                double best = k == null ? p.ms() : Math.min(p.ms(), k.ms());
                boolean ok = best <= 1.5 * c.ms();
                target = ok ? "met" : "missed";
                if (!ok) {
                    misses.add("downcall " + names.get(f) + ": best Panama way " + ratio(best, c.ms()) + " of the C loop (target 1.5x)");
                }
            }
            s.append("| ").append(names.get(f)).append(" | ").append(ns(c)).append(" | ").append(ns(p)).append(" | ").append(ns(k))
                    .append(" | ").append(ns(get("one-call", f))).append(" | ").append(ns(j)).append(" | ").append(ns(get("lipa", f)))
                    .append(" | ").append(ratio(p, c)).append(" | ").append(ratio(k, c)).append(" | ").append(ratio(j, c))
                    .append(" | ").append(target).append(" |\n");
        }
    }

    private void ops(StringBuilder s, List<String> misses) {
        s.append("""

                ## Op throughput

                `OpBench` (`CpuBackend.execute`, primitive already created) against `native/bench/ops.c`, which makes the \
                oneDNN calls Lipa makes for each op (`dnnl_sgemm` for plain matmuls; convolution forward, deconvolution \
                forward for the data gradient and convolution backward-weights, all in oneDNN's chosen layouts with \
                reorders; layer normalization forward-training with scale and shift; softmax forward). Times in ms per \
                execution; rates in GFLOP/s (matmul, conv) or GB/s of ideal traffic (layer norm, softmax); fraction of \
                the machine's peak on the thread count used (FMA peak, triad bandwidth). Lipa / X is a time ratio: below 1 \
                Lipa is faster. Targets: within 5% of C-direct for matmul >= 256 and conv; ahead of every peer.

                | figure | Lipa ms | Lipa rate | of peak | C-direct ms | C rate | Lipa / C | PyTorch ms | ND4J ms | DJL ms | Lipa / best peer | C kernel |
                | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
                """);
        for (String f : OpCase.FIGURES) {
            Measure l = get("lipa", f);
            Measure c = get("c-direct", f);
            Measure best = bestPeer(f);
            s.append("| ").append(f).append(" | ").append(ms(l)).append(" | ").append(rate(f, l)).append(" | ").append(ofPeak(f, l))
                    .append(" | ").append(ms(c)).append(" | ").append(rate(f, c)).append(" | ").append(ratio(l, c));
            for (String p : PEERS) {
                s.append(" | ").append(ms(get(p, f)));
            }
            s.append(" | ").append(ratio(l, best)).append(" | ").append(c == null ? "" : c.line().path("impl").asText("")).append(" |\n");
            boolean strict = f.startsWith("conv") || (f.startsWith("matmul") && OpCase.flop(f) >= 2.0 * 256 * 256 * 256);
            if (strict && l != null && c != null && l.ms() > 1.05 * c.ms()) {
                misses.add(f + ": Lipa " + ratio(l, c) + " of C-direct (target within 5%)");
            }
            missedPeers(f, l, misses);
        }
    }

    private void creation(StringBuilder s) {
        s.append("""

                ## Primitive creation (ms), apart from execution

                Lipa: the first execution on a fresh backend with oneDNN's primitive cache off (`PrimitiveCreationBench`, \
                the median of 20 single shots after 1000 warm-up shots) minus the steady execution (`OpBench`); C-direct: primitive descriptor, primitive and reorder \
                creation timed directly, and creation plus the first execution (medians of 5), cache off as well. Plain \
                matmuls run on `dnnl_sgemm` and create nothing.

                | figure | Lipa first execution | C-direct first execution | Lipa steady execution | Lipa creation | C-direct creation |
                | --- | --- | --- | --- | --- | --- |
                """);
        for (String f : CREATION_FIGURES) {
            Measure first = get("lipa-first", f);
            Measure steady = get("lipa", f);
            Measure c = get("c-direct", f);
            String created = first != null && steady != null ? num(first.ms() - steady.ms()) : "-";
            String cCreate = c != null && c.line().has("create_ms") ? num(c.line().get("create_ms").asDouble()) : "-";
            String cFirst = c != null && c.line().has("first_ms") ? num(c.line().get("first_ms").asDouble()) : "-";
            s.append("| ").append(f).append(" | ").append(ms(first)).append(" | ").append(cFirst).append(" | ").append(ms(steady))
                    .append(" | ").append(created).append(" | ").append(cCreate).append(" |\n");
        }
    }

    private void graph(StringBuilder s, List<String> misses) {
        s.append("""

                ## Graph layer (ms)

                `MlpJacobianBench` and `TrainStepBench` against `bench/peers/pytorch/mlp.py` and `train_step.py` (the same \
                computations; PyTorch's JVP by forward-mode AD, recomputing the primal, where Lipa applies a linearization \
                built once) and, for the MLP training step, the JVM peers. Target: ahead of every peer.

                | figure | Lipa ms | PyTorch ms | ND4J ms | DJL ms | Lipa / PyTorch | Lipa / best peer |
                | --- | --- | --- | --- | --- | --- | --- |
                """);
        for (Map.Entry<String, String> e : GRAPH_FIGURES.entrySet()) {
            String f = e.getKey();
            Measure l = get("lipa", f);
            s.append("| ").append(e.getValue()).append(" | ").append(ms(l));
            for (String p : PEERS) {
                s.append(" | ").append(ms(get(p, f)));
            }
            s.append(" | ").append(ratio(l, get("pytorch", f))).append(" | ").append(ratio(l, bestPeer(f))).append(" |\n");
            missedPeers(f, l, misses);
        }
    }

    private void missedPeers(String f, Measure l, List<String> misses) {
        if (l == null) {
            return;
        }
        for (String p : PEERS) {
            Measure m = get(p, f);
            if (m != null && m.ms() < l.ms()) {
                misses.add(f + ": " + PEER_NAMES.get(p) + " faster (Lipa " + ratio(l, m) + " of its time)");
            }
        }
    }

    private Measure bestPeer(String f) {
        Measure best = null;
        for (String p : PEERS) {
            Measure m = get(p, f);
            if (m != null && (best == null || m.ms() < best.ms())) {
                best = m;
            }
        }
        return best;
    }

    /** The thread count oneDNN used: OMP_NUM_THREADS when set, else every processor. */
    private int threads() {
        if (machine == null) {
            return 1;
        }
        try {
            return Integer.parseInt(machine.path("omp_num_threads").asText());
        } catch (NumberFormatException e) {
            return machine.path("nproc").asInt(1);
        }
    }

    private String rate(String f, Measure m) {
        if (m == null) {
            return "-";
        }
        double flop = OpCase.flop(f);
        return flop > 0 ? num(flop / m.ms() * 1e-6) + " GFLOP/s" : num(OpCase.bytes(f) / m.ms() * 1e-6) + " GB/s";
    }

    private String ofPeak(String f, Measure m) {
        if (m == null) {
            return "-";
        }
        int t = Math.min(threads(), 2); // the peak kernel measures 1 and 2 threads
        boolean compute = OpCase.flop(f) > 0;
        Double p = peak.get((compute ? "fma_gflops/" : "triad_gbs/") + t);
        if (p == null) {
            return "-";
        }
        double r = compute ? OpCase.flop(f) / m.ms() * 1e-6 : OpCase.bytes(f) / m.ms() * 1e-6;
        return String.format(Locale.ROOT, "%.0f%%", 100 * r / p);
    }

    private static String ms(Measure m) {
        if (m == null) {
            return "-";
        }
        return Double.isNaN(m.errorMs()) || m.errorMs() == 0 ? num(m.ms()) : num(m.ms()) + " ± " + num(m.errorMs());
    }

    private static String ns(Measure m) {
        return m == null ? "-" : num(m.ms() * 1e6);
    }

    private static String ratio(Measure a, Measure b) {
        return a == null || b == null ? "-" : ratio(a.ms(), b.ms());
    }

    private static String ratio(double a, double b) {
        return String.format(Locale.ROOT, "%.2fx", a / b);
    }

    /** Three significant digits, no exponent. */
    static String num(double v) {
        double a = Math.abs(v);
        String f = a >= 100 ? "%.0f" : a >= 10 ? "%.1f" : a >= 1 ? "%.2f" : a >= 0.1 ? "%.3f" : "%.4f";
        return String.format(Locale.ROOT, f, v);
    }
}

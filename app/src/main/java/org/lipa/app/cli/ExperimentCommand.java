package org.lipa.app.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.app.experiments.Experiment;
import org.lipa.app.experiments.Experiments;
import org.lipa.app.report.Json;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Runs one named experiment from the literature and says whether its expected result held.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Run a named, seeded experiment from the literature; prints its claim, whether it held and the figures that "
                + "decide it, and writes NAME.json and its plots. --list shows them all.")
public final class ExperimentCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", description = "The experiment's name (see --list).")
    String name;

    @Option(names = "--list", description = "List the experiments and their claims.")
    boolean list;

    @Option(names = "--size", description = "small (seconds) or full (as reported) (default: ${DEFAULT-VALUE}).")
    Experiment.Size size = Experiment.Size.FULL;

    @Option(names = "--seed", description = "Seed (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--out", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out = Path.of("lipa-out", "experiments");

    @Override
    public Integer call() throws Exception {
        if (list || name == null) {
            for (Experiment e : Experiments.all()) {
                System.out.printf(Locale.ROOT, "%-26s %s%n", e.name(), e.claim());
            }
            return list ? 0 : 2;
        }
        Optional<Experiment> e = Experiments.named(name);
        if (e.isEmpty()) {
            System.err.println("lipa experiment: no experiment named '" + name + "'; one of "
                    + Experiments.all().stream().map(Experiment::name).toList());
            return 2;
        }
        try (CpuBackend cpu = CpuBackend.open()) {
            System.out.println(e.get().name() + ": " + e.get().claim());
            long t0 = System.nanoTime();
            Experiment.Result r = e.get().run(new Experiment.Context(cpu, out, seed, size, System.out::println));
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf(Locale.ROOT, "%s (%.1f s): %s%n", r.holds() ? "HELD" : "DID NOT HOLD", seconds, r.evidence());
            Map<String, Object> json = new LinkedHashMap<>();
            json.put("result", r);
            json.put("size", size);
            json.put("seed", seed);
            json.put("seconds", seconds);
            Json.write(out.resolve(r.name() + ".json"), json);
            r.plots().forEach(p -> System.out.println("plot: " + p));
            return 0;
        }
    }
}

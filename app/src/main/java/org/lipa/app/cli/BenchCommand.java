package org.lipa.app.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the benchmark suite of a Lipa source checkout: a thin front for {@code bench/suite.sh}, which builds
 * everything, runs the C baselines, JMH and (optionally) the peers, and writes {@code bench/RESULTS.md}.
 * The benchmarks live outside this module (JMH, C, Python), so a source checkout is needed.
 *
 * <pre>{@code
 * lipa bench --peers          # the whole suite with PyTorch, ND4J and DJL (about an hour, idle machine)
 * lipa bench --quick          # one short iteration of everything: checks that the suite runs
 * }</pre>
 *
 * <p>Thread safety: one instance per command-line invocation (picocli fills its fields); not for sharing.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {"Run the benchmark suite of a Lipa source checkout (bench/suite.sh) and write bench/RESULTS.md."})
public final class BenchCommand implements Callable<Integer> {
    @Option(names = "--quick", description = "One short iteration of everything: checks the suite, measures nothing worth quoting.")
    boolean quick;

    @Option(names = "--peers", description = "Also PyTorch (/usr/bin/python3) and the JVM peers ND4J and DJL (Maven profile peers).")
    boolean peers;

    @Option(names = "--root", description = "The source checkout (default: found from the working directory upwards).")
    Path root;

    /** For picocli, which fills the fields. */
    public BenchCommand() {
    }

    /** The suite's exit status; 2 when no checkout with bench/suite.sh is found. */
    @Override
    public Integer call() throws Exception {
        Path dir = root != null ? root : find(Path.of("").toAbsolutePath());
        if (dir == null || !Files.isExecutable(dir.resolve("bench/suite.sh"))) {
            System.err.println("lipa bench: no bench/suite.sh in " + (dir == null ? "the working directory or above" : dir)
                    + "; run from a Lipa source checkout or pass --root");
            return 2;
        }
        List<String> cmd = new ArrayList<>(List.of(dir.resolve("bench/suite.sh").toString()));
        if (quick) {
            cmd.add("--quick");
        }
        if (peers) {
            cmd.add("--peers");
        }
        return new ProcessBuilder(cmd).directory(dir.toFile()).inheritIO().start().waitFor();
    }

    private static Path find(Path from) {
        for (Path d = from; d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("bench/suite.sh"))) {
                return d;
            }
        }
        return null;
    }
}

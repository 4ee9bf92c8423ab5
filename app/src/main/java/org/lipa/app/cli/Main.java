package org.lipa.app.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code lipa} command line. With no subcommand it runs the main job, {@code report}.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "lipa", mixinStandardHelpOptions = true, version = "lipa 0.1.0",
        description = "Lipa: Jacobians, spectral norms and Lipschitz constants of neural networks on the JVM.",
        subcommands = {ReportCommand.class, LipschitzCommand.class, GradflowCommand.class, HessianCommand.class, LandscapeCommand.class, ExperimentCommand.class, TrainCommand.class, BenchCommand.class, DataCommand.class, DemoCommand.class})
public final class Main implements Runnable {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    @Override
    public void run() {
        int code = new CommandLine(new ReportCommand()).setCaseInsensitiveEnumValuesAllowed(true).execute();
        if (code != 0) {
            throw new CommandLine.ExecutionException(new CommandLine(this), "lipa report failed with exit code " + code);
        }
    }
}

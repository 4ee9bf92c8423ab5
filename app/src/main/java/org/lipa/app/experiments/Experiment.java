package org.lipa.app.experiments;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.lipa.backend.Backend;

/**
 * A named, seeded experiment from the literature: it states the qualitative result it expects
 * ({@link #claim()}), runs, and reports whether the result held, with the figures that decide it and
 * its plots. {@code lipa experiment NAME} runs one; the report runs several.
 *
 * <pre>{@code
 * Experiment.Result r = new ResidualVsPlain().run(new Experiment.Context(cpu, dir, 0, Experiment.Size.SMALL, System.out::println));
 * System.out.println(r.holds() + ": " + r.evidence());
 * }</pre>
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public interface Experiment {
    /** The name on the command line, lowercase with dashes ({@code residual-vs-plain}). */
    String name();

    /** The expected result in one sentence, as the literature states it. */
    String claim();

    /** Runs the experiment; its plots go to {@code context.outputDir()}. */
    Result run(Context context);

    /** How much work: SMALL runs in seconds (tests, CI), FULL is the experiment as reported. */
    enum Size {
        SMALL, FULL
    }

    /**
     * @param backend   where to run
     * @param outputDir where plots go (created when needed)
     * @param seed      every random choice derives from it
     * @param size      how much work
     * @param progress  one line per step of a long run
     */
    record Context(Backend backend, Path outputDir, long seed, Size size, Consumer<String> progress) {
    }

    /**
     * @param name     the experiment's name
     * @param claim    what was expected
     * @param holds    whether the run showed it
     * @param evidence one or two sentences with the deciding figures
     * @param figures  every number measured, for the JSON file (values: numbers, strings, lists, maps)
     * @param plots    the PNG files written
     */
    record Result(String name, String claim, boolean holds, String evidence, Map<String, Object> figures, List<Path> plots) {
    }
}

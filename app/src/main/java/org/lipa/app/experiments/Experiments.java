package org.lipa.app.experiments;

import java.util.List;
import java.util.Optional;

/**
 * Every named experiment, in the order {@code lipa experiment --list} shows them: the order of the analyses
 * issue's list from the literature (depth, initialization scale, optimizer, warmup, regularization,
 * interpolation, attention).
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Experiments {
    private Experiments() {
    }

    public static List<Experiment> all() {
        return List.of(new ResidualVsPlain(), new InitScaleSensitivity(), new AdamVsSgd(), new WarmupSpectralNorm(),
                new RegularizationLipschitz(), new MonotoneInterpolation(), new AttentionScale());
    }

    /** The experiment called {@code name}, if there is one. */
    public static Optional<Experiment> named(String name) {
        return all().stream().filter(e -> e.name().equals(name)).findFirst();
    }
}

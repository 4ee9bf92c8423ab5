package org.lipa.models.optim;

/**
 * A learning rate as a function of the step (from 0). Compose with {@link #withWarmup}.
 *
 * <pre>{@code
 * Schedule s = Schedule.cosine(1e-3, 1e-5, 10_000).withWarmup(500);
 * optimizer.setLearningRate(s.lr(step));
 * }</pre>
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
@FunctionalInterface
public interface Schedule {
    double lr(long step);

    static Schedule constant(double lr) {
        return step -> lr;
    }

    /** {@code lr * gamma^(step / every)}. */
    static Schedule step(double lr, long every, double gamma) {
        if (every <= 0) {
            throw new IllegalArgumentException("every must be > 0, got " + every);
        }
        return step -> lr * Math.pow(gamma, step / every);
    }

    /** Cosine annealing from {@code lr} to {@code min} over {@code total} steps, then {@code min}. */
    static Schedule cosine(double lr, double min, long total) {
        if (total <= 0) {
            throw new IllegalArgumentException("total must be > 0, got " + total);
        }
        return step -> step >= total ? min : min + 0.5 * (lr - min) * (1 + Math.cos(Math.PI * step / total));
    }

    /** Triangular cyclical rates between {@code low} and {@code high}, {@code half} steps up then down. */
    static Schedule triangular(double low, double high, long half) {
        if (half <= 0) {
            throw new IllegalArgumentException("half must be > 0, got " + half);
        }
        return step -> {
            long pos = step % (2 * half);
            double frac = pos < half ? (double) pos / half : (double) (2 * half - pos) / half;
            return low + (high - low) * frac;
        };
    }

    /** Linear warmup from 0 to this schedule's rate over {@code steps} steps, then this schedule (shifted). */
    default Schedule withWarmup(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("warmup steps must be >= 0, got " + steps);
        }
        return step -> step < steps ? lr(0) * (step + 1) / steps : lr(step - steps);
    }
}

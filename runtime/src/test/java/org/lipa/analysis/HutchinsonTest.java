package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The trace: exact against the explicit diagonal, Hutchinson's interval against its nominal coverage over
 * seeds, its stopping rule, and the Student-t quantiles behind the interval.
 */
class HutchinsonTest {
    /** The trace of {@link #matrix()}. */
    private static final double TRACE = 40.5;

    /** A fixed symmetric 40 x 40 matrix with off-diagonal mass (samples vary with a standard deviation of about 13). */
    private static double[] matrix() {
        double[] lambda = new double[40];
        Random r = new Random(1);
        double sum = 0;
        for (int i = 0; i < 39; i++) {
            lambda[i] = 1 + 1.5 * r.nextGaussian();
            sum += lambda[i];
        }
        lambda[39] = TRACE - sum;
        return Matrices.withEigenvalues(r, lambda);
    }

    private static double trace(double[] a, int n) {
        double t = 0;
        for (int i = 0; i < n; i++) {
            t += a[i * n + i];
        }
        return t;
    }

    private static final Hutchinson.Options SAMPLED = Hutchinson.Options.defaults().withExactLimit(0);

    @Test
    void studentTQuantilesMatchTheTables() {
        assertEquals(12.706204736, StudentT.quantile(0.975, 1), 1e-8);
        assertEquals(4.302652730, StudentT.quantile(0.975, 2), 1e-8);
        assertEquals(2.262157163, StudentT.quantile(0.975, 9), 1e-8);
        assertEquals(2.042272456, StudentT.quantile(0.975, 30), 1e-8);
        assertEquals(1.983971519, StudentT.quantile(0.975, 100), 1e-8);
        assertEquals(2.575829304, StudentT.quantile(0.995, 1_000_000), 1e-5, "the normal quantile in the limit");
        assertEquals(0, StudentT.quantile(0.5, 5), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> StudentT.quantile(1, 5));
        assertThrows(IllegalArgumentException.class, () -> StudentT.quantile(0.9, 0));
    }

    @Test
    void theExactTraceIsTheSumOfTheDiagonal() {
        double[] a = matrix();
        LinearOperator op = LinearOperator.dense(a, 40, 40);
        TraceEstimate t = Hutchinson.exact(op);
        assertEquals(trace(a, 40), t.mean(), 1e-12);
        assertEquals(TRACE, t.mean(), 1e-10);
        assertTrue(t.exact() && t.converged());
        assertEquals(40, t.samples());
        assertEquals(0, t.standardError());
        assertEquals(t.mean(), t.lower());
        assertEquals(t.mean(), t.upper());
        assertEquals(a[5 * 40 + 5], t.values()[5], 0);
        // trace() takes the exact path up to the limit, and samples above it
        assertTrue(Hutchinson.trace(op, Hutchinson.Options.defaults().withExactLimit(40), 0, s -> { }).exact());
        assertFalse(Hutchinson.trace(op, Hutchinson.Options.defaults().withExactLimit(39), 0, s -> { }).exact());
    }

    @Test
    void theIntervalCoversTheTraceInAbout95PercentOfSeeds() {
        LinearOperator op = LinearOperator.dense(matrix(), 40, 40);
        int runs = 200;
        int fixed = 0;
        int stopped = 0;
        for (long seed = 0; seed < runs; seed++) {
            TraceEstimate t = Hutchinson.estimate(op, SAMPLED.withTolerance(0).withSamples(30, 30), seed, s -> { });
            assertEquals(30, t.samples());
            assertEquals(2 * StudentT.quantile(0.975, 29) * t.standardError(), t.upper() - t.lower(), 1e-12);
            fixed += t.lower() <= TRACE && TRACE <= t.upper() ? 1 : 0;
            TraceEstimate s = Hutchinson.estimate(op, SAMPLED.withTolerance(0.1).withSamples(20, 5000), seed, x -> { });
            assertTrue(s.converged(), "seed " + seed + ": " + s.samples() + " samples");
            stopped += s.lower() <= TRACE && TRACE <= s.upper() ? 1 : 0;
        }
        // Binomial(200, 0.95): mean 190, standard deviation 3.1; four deviations either side
        System.out.println("Hutchinson 95% intervals covered the trace " + fixed + " (30 samples) and " + stopped
                + " (stopped at 10%) times in " + runs);
        assertTrue(fixed >= 178 && fixed <= 200, "a fixed 30 samples covered the trace " + fixed + " times in " + runs);
        assertTrue(stopped >= 178 && stopped <= 200, "stopping at 10% covered the trace " + stopped + " times in " + runs);
    }

    @Test
    void theStoppingRuleIsTheIntervalsRelativeHalfWidth() {
        LinearOperator op = LinearOperator.dense(matrix(), 40, 40);
        TraceEstimate t = Hutchinson.estimate(op, SAMPLED.withTolerance(0.05).withSamples(10, 10_000), 3, s -> { });
        assertTrue(t.converged());
        assertTrue(t.halfWidth() <= 0.05 * Math.abs(t.mean()));
        assertTrue(t.samples() > 10, "needs more than the minimum: " + t.samples());
        // one sample fewer would not have met it (the rule is checked after every sample)
        double[] fewer = java.util.Arrays.copyOf(t.values(), t.samples() - 1);
        double mean = java.util.Arrays.stream(fewer).average().orElseThrow();
        double sd = Math.sqrt(java.util.Arrays.stream(fewer).map(x -> (x - mean) * (x - mean)).sum() / (fewer.length - 1));
        assertTrue(StudentT.quantile(0.975, fewer.length - 1) * sd / Math.sqrt(fewer.length) > 0.05 * Math.abs(mean));
        // at the cap it says it did not converge
        TraceEstimate capped = Hutchinson.estimate(op, SAMPLED.withTolerance(1e-4).withSamples(10, 50), 3, s -> { });
        assertFalse(capped.converged());
        assertEquals(50, capped.samples());
    }

    @Test
    void aDiagonalOperatorStopsAtTheMinimumWithNoError() {
        double[] a = new double[16];
        for (int i = 0; i < 4; i++) {
            a[i * 4 + i] = i + 1;
        }
        TraceEstimate t = Hutchinson.estimate(LinearOperator.dense(a, 4, 4), SAMPLED, 0, s -> { });
        assertEquals(10, t.samples());
        assertTrue(t.converged());
        for (double v : t.values()) {
            assertEquals(10, v, 1e-12);
        }
        assertEquals(0, t.standardError(), 1e-12);
    }

    @Test
    void aTraceNearZeroCannotMeetARelativeToleranceAndSaysSo() {
        double[] a = Matrices.withEigenvalues(new Random(2), new double[] {1, -1, 2, -2, 0.5, -0.5});
        TraceEstimate t = Hutchinson.estimate(LinearOperator.dense(a, 6, 6), SAMPLED.withSamples(10, 100), 0, s -> { });
        assertFalse(t.converged());
        assertEquals(100, t.samples());
        assertTrue(t.lower() <= 0 && 0 <= t.upper());
    }

    @Test
    void badOptionsAreRejected() {
        Hutchinson.Options o = Hutchinson.Options.defaults();
        assertThrows(IllegalArgumentException.class, () -> o.withSamples(1, 10));
        assertThrows(IllegalArgumentException.class, () -> o.withSamples(10, 9));
        assertThrows(IllegalArgumentException.class, () -> o.withConfidence(1));
        assertThrows(IllegalArgumentException.class, () -> o.withTolerance(-1));
        assertThrows(IllegalArgumentException.class, () -> o.withExactLimit(-1));
        assertThrows(IllegalArgumentException.class, () -> Hutchinson.exact(LinearOperator.dense(new double[6], 2, 3)));
        for (double z : Probe.RADEMACHER.draw(new Random(0), 100)) {
            assertEquals(1, Math.abs(z), 0, "Rademacher probes are signs");
        }
    }
}

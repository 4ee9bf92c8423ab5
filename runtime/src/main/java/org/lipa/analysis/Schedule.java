package org.lipa.analysis;

/**
 * When a Krylov method looks at its Ritz values, and how far it trusts its residual estimates. Looking costs
 * a small dense decomposition, so it happens every step at first and then every tenth of the steps taken.
 * The estimates hold in exact arithmetic only; when the residuals measured with the operator fail to confirm
 * them, the method asks for estimates ten times smaller before measuring again, and gives up (reporting what
 * it measured) after three refutations: more steps rarely help then (a float32 operator's rounding, or an
 * operator that is not quite symmetric).
 */
final class Schedule {
    private int lastLook;
    private double trust = 1;
    private int refutations;

    /** Whether to look at step {@code step} (always at the last one). */
    boolean due(int step, boolean last) {
        if (last || step - lastLook >= Math.max(1, step / 10)) {
            lastLook = step;
            return true;
        }
        return false;
    }

    /** The factor (at most 1) by which estimates must beat the tolerance before the residuals are measured. */
    double trust() {
        return trust;
    }

    /** Records that measured residuals refuted the estimates; returns whether to stop trying. */
    boolean refuted() {
        trust /= 10;
        return ++refutations >= 3;
    }
}

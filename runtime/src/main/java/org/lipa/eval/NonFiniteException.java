package org.lipa.eval;

import org.lipa.ops.Op;

/**
 * Thrown in {@link FiniteCheck}'s mode by the first op whose output holds NaN or an infinity.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class NonFiniteException extends ArithmeticException {
    private final transient Op op;

    public NonFiniteException(String message, Op op) {
        super(message);
        this.op = op;
    }

    /** The op that produced the value. */
    public Op op() {
        return op;
    }
}

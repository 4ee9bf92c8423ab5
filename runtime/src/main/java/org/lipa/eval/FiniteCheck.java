package org.lipa.eval;

import java.util.List;
import org.lipa.ops.Op;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * The NaN/Inf detection mode (JAX's {@code jax_debug_nans}): when on, every op's outputs are scanned as
 * it runs, eagerly or in a planned graph (forward, JVP, VJP or HVP graphs alike), and the first op that
 * produces a non-finite value throws a {@link NonFiniteException} naming it. Off by default (the scan
 * reads every output once); {@code -Dlipa.checkFinite=true} or {@link #enable} turns it on for the JVM.
 *
 * <pre>{@code
 * FiniteCheck.enable(true);
 * try {
 *     f.grad(arena, x);
 * } catch (NonFiniteException e) {
 *     System.err.println(e.getMessage());   // "sqrt produced Infinity ... in step 7 of 12"
 * }
 * }</pre>
 *
 * <p>Thread safety: the switch is a volatile flag read by every check; checks themselves only read tensors.
 */
public final class FiniteCheck {
    private static volatile boolean enabled = Boolean.getBoolean("lipa.checkFinite");

    private FiniteCheck() {
    }

    /** Turns the mode on or off for every thread. */
    public static void enable(boolean on) {
        enabled = on;
    }

    public static boolean enabled() {
        return enabled;
    }

    /** Throws if an output of {@code op} holds NaN or an infinity; {@code where} says where it ran. */
    public static void check(Op op, List<Tensor> inputs, List<Tensor> outputs, String where) {
        for (int o = 0; o < outputs.size(); o++) {
            Tensor t = outputs.get(o);
            if (t.dtype() != DType.F32 && t.dtype() != DType.F64) {
                continue;
            }
            double[] v = t.toDoubleArray();
            for (int i = 0; i < v.length; i++) {
                if (!Double.isFinite(v[i])) {
                    throw new NonFiniteException(op.name() + " produced " + v[i] + " at element " + i + " of output " + o + " "
                            + t.spec() + " " + where + "; its inputs " + inputs.stream().map(Tensor::spec).toList()
                            + " were finite (" + op + ")", op);
                }
            }
        }
    }
}

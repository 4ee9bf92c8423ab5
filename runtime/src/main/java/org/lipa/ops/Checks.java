package org.lipa.ops;

import java.util.List;
import org.lipa.tensor.DType;
import org.lipa.tensor.TensorSpec;

/** Argument checks shared by the shape rules, each throwing a message that names the op and the argument. */
final class Checks {
    private Checks() {
    }

    static void arity(Op op, List<TensorSpec> in, int min, int max) {
        if (in.size() < min || in.size() > max) {
            String want = min == max ? String.valueOf(min) : min + " to " + max;
            throw new IllegalArgumentException(op.name() + " takes " + want + " inputs, got " + in.size());
        }
    }

    /** All inputs share the first one's dtype. */
    static DType sameDType(Op op, List<TensorSpec> in, String... names) {
        DType d = in.get(0).dtype();
        for (int i = 1; i < in.size(); i++) {
            if (in.get(i).dtype() != d) {
                throw new IllegalArgumentException(op.name() + ": " + name(names, i) + " is " + in.get(i).dtype().shortName()
                        + " but " + name(names, 0) + " is " + d.shortName());
            }
        }
        return d;
    }

    static void rank(Op op, String arg, TensorSpec s, int min, int max) {
        int r = s.shape().rank();
        if (r < min || r > max) {
            String want = min == max ? "rank " + min : "rank " + min + " to " + max;
            throw new IllegalArgumentException(op.name() + ": " + arg + " must have " + want + ", got shape " + s.shape());
        }
    }

    static void positive(Op op, String arg, Hw v) {
        if (v.h() <= 0 || v.w() <= 0) {
            throw new IllegalArgumentException(op.name() + ": " + arg + " must be positive, got " + v);
        }
    }

    static void nonNegative(Op op, String arg, Hw v) {
        if (v.h() < 0 || v.w() < 0) {
            throw new IllegalArgumentException(op.name() + ": " + arg + " must be >= 0, got " + v);
        }
    }

    static void finitePositive(String op, String arg, double v) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException(op + ": " + arg + " must be finite and > 0, got " + v);
        }
    }

    static String name(String[] names, int i) {
        return i < names.length ? names[i] : "input " + i;
    }
}

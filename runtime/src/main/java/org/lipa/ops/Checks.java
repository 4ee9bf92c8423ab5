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
        positive(op.name(), arg, v);
    }

    /** For compact constructors, where {@code name()} may read fields not yet assigned. */
    static void positive(String op, String arg, Hw v) {
        java.util.Objects.requireNonNull(v, arg);
        if (v.h() <= 0 || v.w() <= 0) {
            throw new IllegalArgumentException(op + ": " + arg + " must be positive, got " + v);
        }
    }

    static void nonNegative(Op op, String arg, Hw v) {
        nonNegative(op.name(), arg, v);
    }

    static void nonNegative(String op, String arg, Hw v) {
        java.util.Objects.requireNonNull(v, arg);
        if (v.h() < 0 || v.w() < 0) {
            throw new IllegalArgumentException(op + ": " + arg + " must be >= 0, got " + v);
        }
    }

    /** Normalizes an axis of {@code arg} that may count from the end; the message names op, axis and shape. */
    static int axis(Op op, String arg, org.lipa.tensor.Shape s, int axis) {
        int a = axis < 0 ? axis + s.rank() : axis;
        if (a < 0 || a >= s.rank()) {
            throw new IllegalArgumentException(op.name() + ": axis " + axis + " is out of range for " + arg + " " + s);
        }
        return a;
    }

    /** The kernel dimensions (2 and 3) of a 4-D weight must not be empty. */
    static void kernel(Op op, org.lipa.tensor.Shape w) {
        if (w.dim(2) == 0 || w.dim(3) == 0) {
            throw new IllegalArgumentException(op.name() + ": weight " + w + " has an empty kernel");
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

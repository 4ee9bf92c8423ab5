package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.Random;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/** Vector helpers shared by the iterative methods: vectors live on the heap in double precision. */
final class Spectral {
    private Spectral() {
    }

    /** A seeded standard-normal vector of unit length. */
    static double[] randomUnit(int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        scale(v, 1 / norm(v));
        return v;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    static double norm(double[] a) {
        return Math.sqrt(dot(a, a));
    }

    static void scale(double[] a, double s) {
        for (int i = 0; i < a.length; i++) {
            a[i] *= s;
        }
    }

    /** a -= s b. */
    static void axpy(double[] a, double s, double[] b) {
        for (int i = 0; i < a.length; i++) {
            a[i] -= s * b[i];
        }
    }

    static double[] apply(LinearOperator op, double[] v) {
        try (Arena step = Arena.ofConfined()) {
            return op.apply(step, tensor(step, op.domain(), v)).toDoubleArray();
        }
    }

    static double[] applyTranspose(LinearOperator op, double[] u) {
        try (Arena step = Arena.ofConfined()) {
            return op.applyTranspose(step, tensor(step, op.range(), u)).toDoubleArray();
        }
    }

    private static Tensor tensor(Arena arena, TensorSpec spec, double[] v) {
        return Tensor.of(arena, spec.dtype(), v, spec.shape().toArray());
    }

    static int size(TensorSpec s) {
        return Math.toIntExact(s.shape().size());
    }
}

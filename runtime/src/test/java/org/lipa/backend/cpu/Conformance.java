package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.lipa.backend.ref.RefBackend;
import org.lipa.ops.Op;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Runs one op on the oneDNN backend and on the float64 reference backend and compares them.
 * Shared by the {@code Cpu*ConformanceTest} classes.
 */
final class Conformance {
    private Conformance() {
    }

    /** Per-dtype tolerances: |cpu - ref| <= atol + rtol |ref|. */
    record Tolerance(double atol, double rtol) {
        static Tolerance of(DType t) {
            return switch (t) {
                case F32 -> new Tolerance(1e-5, 1e-4);
                case BF16 -> new Tolerance(1e-2, 2e-2);
                case F64 -> new Tolerance(1e-12, 1e-12);
            };
        }

        Tolerance scaled(double factor) {
            return new Tolerance(atol * factor, rtol * factor);
        }
    }

    /** A seeded tensor of uniform values in [lo, hi). */
    static Tensor uniform(Arena arena, Random rnd, DType dtype, double lo, double hi, long... dims) {
        Shape s = Shape.of(dims);
        double[] v = new double[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * rnd.nextDouble();
        }
        return Tensor.of(arena, dtype, v, dims);
    }

    /** A seeded tensor of standard normal values. */
    static Tensor normal(Arena arena, Random rnd, DType dtype, long... dims) {
        Shape s = Shape.of(dims);
        double[] v = new double[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextGaussian();
        }
        return Tensor.of(arena, dtype, v, dims);
    }

    /**
     * Executes {@code op} on {@code cpu} and on the reference backend (inputs widened to f64) and
     * asserts every output agrees within {@code tol}. An output that is mostly zeros fails as
     * mistrusted unless {@code allowZeros}: a kernel that wrote nothing must not pass.
     *
     * @return the cpu outputs
     */
    static List<Tensor> check(CpuBackend cpu, Arena arena, Op op, List<Tensor> inputs, Tolerance tol, boolean allowZeros) {
        List<TensorSpec> specs = new ArrayList<>();
        for (Tensor t : inputs) {
            specs.add(t.spec());
        }
        List<TensorSpec> outSpecs = op.infer(specs);
        List<Tensor> outs = new ArrayList<>();
        for (TensorSpec s : outSpecs) {
            outs.add(Tensor.zeros(arena, s.dtype(), s.shape()));
        }
        cpu.execute(op, inputs, outs);

        List<Tensor> refIn = new ArrayList<>();
        for (Tensor t : inputs) {
            refIn.add(t.to(arena, DType.F64));
        }
        List<Tensor> refOut = new ArrayList<>();
        for (TensorSpec s : op.infer(refSpecs(refIn))) {
            refOut.add(Tensor.zeros(arena, s.dtype(), s.shape()));
        }
        try (RefBackend ref = new RefBackend()) {
            ref.execute(op, refIn, refOut);
        }
        for (int k = 0; k < outs.size(); k++) {
            assertClose(op.name() + " output " + k, refOut.get(k).toDoubleArray(), outs.get(k).toDoubleArray(), tol, allowZeros);
        }
        return outs;
    }

    private static List<TensorSpec> refSpecs(List<Tensor> in) {
        List<TensorSpec> s = new ArrayList<>();
        for (Tensor t : in) {
            s.add(t.spec());
        }
        return s;
    }

    static void assertClose(String what, double[] expected, double[] actual, Tolerance tol, boolean allowZeros) {
        assertEquals(expected.length, actual.length, what + ": element count");
        int zeros = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            if (Double.isNaN(e) || Double.isNaN(a)) {
                if (!(Double.isNaN(e) && Double.isNaN(a))) {
                    fail(what + ": element " + i + " expected " + e + " but was " + a);
                }
                continue;
            }
            if (Double.isInfinite(e) || Double.isInfinite(a)) {
                if (e != a) {
                    fail(what + ": element " + i + " expected " + e + " but was " + a);
                }
                continue;
            }
            double err = Math.abs(a - e);
            if (err > tol.atol() + tol.rtol() * Math.abs(e)) {
                fail(what + ": element " + i + " of " + expected.length + " expected " + e + " but was " + a
                        + " (|err| " + err + " > " + tol.atol() + " + " + tol.rtol() + " |expected|)");
            }
            if (a == 0) {
                zeros++;
            }
        }
        if (!allowZeros && expected.length >= 8) {
            assertTrue(zeros < 0.9 * expected.length, what + ": " + zeros + " of " + expected.length
                    + " outputs are zero; a result that empty is not trusted");
        }
    }
}

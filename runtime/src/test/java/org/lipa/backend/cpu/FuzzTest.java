package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Graph;
import org.lipa.memory.HostMemory;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Conv2d;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eltwise;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.Hw;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Reduce;
import org.lipa.ops.Softmax;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Seeded fuzzing of the op API on the oneDNN backend. Each case draws an op, its parameters and its
 * inputs (shapes with zeros and ones, f32/f64/bf16, contiguous, permuted, stepped-slice and broadcast
 * views) and, a quarter of the time, one hostile change (a wrong dtype, dimension, axis or parameter, a
 * missing input). Every case must end in one of two ways:
 * <ul>
 *   <li>a result equal, within the dtype's tolerance, to the float64 reference backend on the same
 *       values; for a third of the float cases also through a traced graph, and the graph's JVP and VJP
 *       against the reference backend's and against each other ({@code <u, Jv> = <J^T u, v>});</li>
 *   <li>or an {@link IllegalArgumentException} naming the op, thrown before any oneDNN call (the downcall
 *       counter does not move) and agreeing with the op's own shape rule.</li>
 * </ul>
 * Anything else (another exception, a JVM crash, a value outside tolerance, host memory still live after
 * the case's arena closed) fails the test with the case's description and seed.
 *
 * <p>{@code -Dlipa.fuzz.cases=N} and {@code -Dlipa.fuzz.seed=S} run more cases or other ones; the counts
 * are printed. {@code -Dlipa.fuzz.trace=FILE} writes each case there before it runs.
 */
@Tag("cpu")
@ExtendWith(SharedCpu.class)
public class FuzzTest {
    private static final int CASES = Integer.getInteger("lipa.fuzz.cases", 3000);
    private static final long SEED = Long.getLong("lipa.fuzz.seed", 20261122L);
    private static final String TRACE = System.getProperty("lipa.fuzz.trace");
    private static final DType[] DTYPES = {DType.F32, DType.F32, DType.F64, DType.BF16};

    /** One drawn case: the op (null when its constructor refused the parameters), its inputs, and what was drawn. */
    private record Case(String family, Op op, List<Tensor> inputs, String description, boolean hostile) {
    }

    private enum Outcome { MATCHED, MATCHED_WITH_DERIVATIVES, REJECTED_BY_CONSTRUCTOR, REJECTED_BY_SHAPE_RULE, REJECTED_F64_BY_ONEDNN }

    @Test
    void everyCallMatchesTheReferenceOrIsRejectedBeforeNativeCode() throws java.io.IOException {
        fuzz(SharedCpu.backend(), Dnnl::downcalls, HostMemory::liveBytes, CASES, SEED);
    }

    /**
     * The fuzz loop on any backend (the GPU backend's test runs it too): {@code nativeCalls} counts calls that
     * reached native code (must not move when a case is rejected), {@code liveBytes} the memory that must
     * return to its level after each case's arena closes.
     */
    public static void fuzz(org.lipa.backend.Backend cpu, java.util.function.LongSupplier nativeCalls,
            java.util.function.LongSupplier liveBytes, int CASES, long SEED) throws java.io.IOException {
        Map<Outcome, Integer> outcomes = new EnumMap<>(Outcome.class);
        Map<String, int[]> families = new TreeMap<>();
        int hostile = 0;
        java.io.PrintStream trace = TRACE == null ? null : new java.io.PrintStream(new java.io.FileOutputStream(TRACE), true);
        for (int i = 0; i < CASES; i++) {
            long seed = SEED * 1_000_003L + i;
            long liveBefore = liveBytes.getAsLong();
            Outcome o;
            String description;
            try (Arena arena = Arena.ofConfined()) {
                // scrambled: java.util.Random's first draws from consecutive seeds are correlated
                Random rnd = new Random(new java.util.SplittableRandom(seed).nextLong());
                Case c = draw(rnd, arena);
                description = c.description();
                hostile += c.hostile() ? 1 : 0;
                if (trace != null) { // a native crash leaves no report: this names the case that caused it
                    trace.println("fuzz case " + i + " (seed " + seed + "): " + c.description());
                }
                try {
                    o = run(cpu, nativeCalls, arena, rnd, c);
                } catch (AssertionError e) {
                    throw new AssertionError("fuzz case " + i + " (seed " + seed + "): " + c.description() + ": " + e.getMessage(), e);
                } catch (RuntimeException e) {
                    throw new AssertionError("fuzz case " + i + " (seed " + seed + "): " + c.description() + " threw " + e, e);
                }
                if (c.description().contains("[hostile: input ") && o.ordinal() < 2) {
                    fail("fuzz case " + i + " (seed " + seed + "): mixed dtypes were accepted: " + c.description());
                }
                families.computeIfAbsent(c.family(), k -> new int[2])[o.ordinal() >= 2 ? 1 : 0]++;
            }
            outcomes.merge(o, 1, Integer::sum);
            assertEquals(liveBefore, liveBytes.getAsLong(), "memory still live after case " + i + ": " + description);
        }
        System.out.printf("fuzz: %d cases (seed %d, %d with a hostile change): %s; per family [matched, rejected]: %s%n", CASES, SEED,
                hostile, outcomes, families.entrySet().stream().map(e -> e.getKey() + Arrays.toString(e.getValue())).toList());
        // the generator must exercise both ways out, and mostly the valid one
        int matched = outcomes.getOrDefault(Outcome.MATCHED, 0) + outcomes.getOrDefault(Outcome.MATCHED_WITH_DERIVATIVES, 0);
        int rejected = CASES - matched;
        assertTrue(matched > CASES / 2, "only " + matched + " of " + CASES + " cases were valid: " + outcomes);
        assertTrue(rejected > CASES / 10, "only " + rejected + " of " + CASES + " cases were rejected: " + outcomes);
        assertTrue(outcomes.getOrDefault(Outcome.MATCHED_WITH_DERIVATIVES, 0) > CASES / 10, "too few derivative checks: " + outcomes);
        for (var e : families.entrySet()) {
            assertTrue(e.getValue()[0] > 0, "no valid " + e.getKey() + " case was drawn: " + Arrays.toString(e.getValue()));
        }
    }

    /** Runs one case; returns how it ended or throws an assertion naming what went wrong. */
    private static Outcome run(org.lipa.backend.Backend cpu, java.util.function.LongSupplier nativeCalls, Arena arena, Random rnd, Case c) {
        if (c.op() == null) {
            return Outcome.REJECTED_BY_CONSTRUCTOR;
        }
        List<TensorSpec> specs = c.inputs().stream().map(Tensor::spec).toList();
        IllegalArgumentException rule = null;
        try {
            c.op().infer(specs);
        } catch (IllegalArgumentException e) {
            rule = e;
        }
        long downcalls = nativeCalls.getAsLong();
        List<Tensor> out;
        try {
            out = new Eager(cpu, arena).apply(c.op(), c.inputs());
        } catch (IllegalArgumentException e) {
            assertEquals(downcalls, nativeCalls.getAsLong(), "rejected after reaching native code: " + e.getMessage());
            String message = String.valueOf(e.getMessage());
            String opName = c.op().name().replaceAll("\\(.*", "");
            assertTrue(message.contains(opName), "the message does not name the op " + opName + ": " + message);
            if (rule == null) {
                // the one documented refusal beyond the shape rule: oneDNN computes in f32 and bf16, not f64
                boolean f64 = c.inputs().stream().anyMatch(t -> t.dtype() == DType.F64) || c.op() instanceof Cast cast && cast.to() == DType.F64;
                assertTrue(f64 && message.contains("f64"), "the backend refused what the shape rule accepts: " + message);
                return Outcome.REJECTED_F64_BY_ONEDNN;
            }
            return Outcome.REJECTED_BY_SHAPE_RULE;
        }
        if (rule != null) {
            fail("accepted although the shape rule refuses it: " + rule.getMessage());
        }
        List<Tensor> refIn = c.inputs().stream().map(t -> t.to(arena, DType.F64)).toList();
        List<Tensor> ref = new Eager(new RefBackend(), arena).apply(c.op(), refIn);
        assertEquals(ref.size(), out.size(), "output count");
        DType dtype = c.inputs().get(0).dtype();
        Conformance.Tolerance tol = tolerance(c, dtype);
        for (int k = 0; k < out.size(); k++) {
            Conformance.assertClose(c.op().name() + " output " + k, ref.get(k).toDoubleArray(), out.get(k).toDoubleArray(), tol, true);
        }
        if (dtype == DType.BF16 || !differentiable(c) || rnd.nextInt(3) != 0) {
            return Outcome.MATCHED;
        }
        checkGraphAndDerivatives(cpu, arena, rnd, c, ref, tol);
        return Outcome.MATCHED_WITH_DERIVATIVES;
    }

    /**
     * Traces the op, runs it as a graph, and checks its JVP and VJP on the CPU against the reference
     * backend's (same point, same directions) and against each other.
     */
    private static void checkGraphAndDerivatives(org.lipa.backend.Backend cpu, Arena arena, Random rnd, Case c, List<Tensor> ref,
            Conformance.Tolerance tol) {
        List<TensorSpec> specs = c.inputs().stream().map(Tensor::spec).toList();
        Graph g = Graph.trace(specs, (ops, in) -> ops.apply(c.op(), in));
        List<Tensor> graphOut = g.compile(cpu).run(arena, c.inputs());
        for (int k = 0; k < graphOut.size(); k++) {
            Conformance.assertClose(c.op().name() + " graph output " + k, ref.get(k).toDoubleArray(), graphOut.get(k).toDoubleArray(), tol,
                    true);
        }
        Differentiable onCpu = Differentiable.of(g, cpu);
        List<Tensor> v = new ArrayList<>();
        for (TensorSpec s : specs) {
            v.add(Conformance.normal(arena, rnd, s.dtype(), s.shape().toArray()));
        }
        List<Tensor> u = new ArrayList<>();
        for (Tensor o : graphOut) {
            u.add(Conformance.normal(arena, rnd, o.dtype(), o.shape().toArray()));
        }
        List<Tensor> jv = onCpu.jvp(arena, c.inputs(), v).tangents();
        List<Tensor> jtu = onCpu.vjp(arena, c.inputs()).apply(arena, u);

        List<TensorSpec> refSpecs = specs.stream().map(s -> new TensorSpec(s.shape(), DType.F64)).toList();
        Graph refGraph = Graph.trace(refSpecs, (ops, in) -> ops.apply(c.op(), in));
        try (RefBackend refBackend = new RefBackend()) {
            Differentiable onRef = Differentiable.of(refGraph, refBackend);
            List<Tensor> x64 = c.inputs().stream().map(t -> t.to(arena, DType.F64)).toList();
            List<Tensor> jvRef = onRef.jvp(arena, x64, v.stream().map(t -> t.to(arena, DType.F64)).toList()).tangents();
            List<Tensor> jtuRef = onRef.vjp(arena, x64).apply(arena, u.stream().map(t -> t.to(arena, DType.F64)).toList());
            Conformance.Tolerance gradTol = tol.scaled(20);
            double uJv = 0;
            double jtuV = 0;
            for (int k = 0; k < jv.size(); k++) {
                Conformance.assertClose(c.op().name() + " JVP " + k, jvRef.get(k).toDoubleArray(), jv.get(k).toDoubleArray(), gradTol, true);
                uJv += dot(u.get(k).toDoubleArray(), jvRef.get(k).toDoubleArray());
            }
            for (int k = 0; k < jtu.size(); k++) {
                Conformance.assertClose(c.op().name() + " VJP " + k, jtuRef.get(k).toDoubleArray(), jtu.get(k).toDoubleArray(), gradTol, true);
                jtuV += dot(jtuRef.get(k).toDoubleArray(), v.get(k).toDoubleArray());
            }
            // the reference's two derivatives are transposes of each other
            assertEquals(uJv, jtuV, 1e-8 * (1 + Math.abs(uJv)), "<u, Jv> != <J^T u, v> on the reference backend");
        }
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /**
     * Ops whose derivatives the fuzz compares: all but casts and inference batch norm, and not a maximum
     * over a broadcast input, whose ties make the derivative a choice (each backend may pick its own).
     */
    private static boolean differentiable(Case c) {
        boolean maximum = c.op() instanceof Pool2d p && p.kind() == Pool2d.Kind.MAX
                || c.op() instanceof Reduce r && (r.kind() == Reduce.Kind.MAX || r.kind() == Reduce.Kind.MIN);
        boolean broadcast = c.inputs().stream().anyMatch(t -> Arrays.stream(t.strides()).anyMatch(st -> st == 0));
        return !(c.op() instanceof Cast) && !(c.op() instanceof BatchNorm bn && !bn.training()) && !(maximum && broadcast);
    }

    /**
     * The conformance tolerances of the dtype, times 10 for f32 (transcendental functions) or 2 for bf16,
     * times the square root of the reduction length for the ops that sum.
     */
    private static Conformance.Tolerance tolerance(Case c, DType dtype) {
        if (dtype == DType.F64) {
            return new Conformance.Tolerance(1e-10, 1e-10);
        }
        Shape x = c.inputs().get(0).shape();
        Shape w = c.inputs().size() > 1 ? c.inputs().get(1).shape() : x;
        long k = switch (c.op()) {
            case MatMul _ -> x.rank() == 0 ? 1 : x.dim(x.rank() - 1);
            case Conv2d _ -> w.size() / Math.max(1, w.dim(0));
            case ConvTranspose2d _ -> w.size() / Math.max(1, w.dim(1));
            case Reduce _, Softmax _, LayerNorm _, GroupNorm _, BatchNorm _, Pool2d _ -> x.size();
            default -> 1;
        };
        return Conformance.Tolerance.of(dtype).scaled((dtype == DType.BF16 ? 2 : 10) * Math.sqrt(Math.max(1, k)));
    }

    // ------------------------------------------------------------------------------------ drawing cases

    private static Case draw(Random rnd, Arena arena) {
        boolean hostile = rnd.nextInt(4) == 0;
        DType dtype = DTYPES[rnd.nextInt(DTYPES.length)];
        Draw d = new Draw(rnd, arena, dtype, hostile);
        String family = switch (rnd.nextInt(11)) {
            case 0 -> d.matmul();
            case 1 -> d.conv();
            case 2 -> d.convTranspose();
            case 3 -> d.eltwise();
            case 4 -> d.binary();
            case 5 -> d.reduce();
            case 6 -> d.softmax();
            case 7 -> d.norm();
            case 8 -> d.pool();
            case 9 -> d.concat();
            default -> d.cast();
        };
        return new Case(family, d.op, d.inputs, family + " " + d.text + " on " + d.inputs.stream().map(Draw::describe).toList()
                + (d.sabotage.isEmpty() ? "" : " [hostile: " + d.sabotage + "]"), !d.sabotage.isEmpty());
    }

    /** The drawing state of one case: the dtype, whether to sabotage it, and what was drawn so far. */
    private static final class Draw {
        final Random rnd;
        final Arena arena;
        final DType dtype;
        final boolean hostile;
        Op op;
        final List<Tensor> inputs = new ArrayList<>();
        String text = "";
        String sabotage = "";
        /** Which of the hostile changes this case makes (drawn once so each case makes at most one). */
        final int change;

        Draw(Random rnd, Arena arena, DType dtype, boolean hostile) {
            this.rnd = rnd;
            this.arena = arena;
            this.dtype = dtype;
            this.hostile = hostile;
            this.change = hostile ? rnd.nextInt(4) : -1;
        }

        static String describe(Tensor t) {
            return t.spec() + (t.isContiguous() ? "" : " strides " + Arrays.toString(t.strides()));
        }

        int between(int lo, int hi) {
            return lo + rnd.nextInt(hi - lo + 1);
        }

        /** A dimension: mostly 1 to 6, sometimes 0. */
        long dim() {
            return rnd.nextInt(20) == 0 ? 0 : between(1, 6);
        }

        long[] dims(int rank) {
            long[] d = new long[rank];
            for (int i = 0; i < rank; i++) {
                d[i] = dim();
            }
            return d;
        }

        /** When this case is the hostile one with change {@code which}, perturbs one dimension of {@code d}. */
        long[] maybeBreak(int which, long[] d, String what) {
            if (change != which || d.length == 0) {
                return d;
            }
            long[] b = d.clone();
            int i = rnd.nextInt(b.length);
            b[i] = b[i] + between(1, 3);
            sabotage = what + " dimension " + i + " " + d[i] + " -> " + b[i];
            return b;
        }

        /** The dtype of input {@code index}: the case's, or another one when this is the dtype sabotage. */
        DType dtypeOf(int index, int sabotagedIndex) {
            if (change == 3 && index == sabotagedIndex) {
                DType other = dtype == DType.F32 ? DType.F64 : DType.F32;
                sabotage = "input " + index + " is " + other.shortName();
                return other;
            }
            return dtype;
        }

        /** Adds an input of the given dims with normal values, laid out at random (see {@link #layout}). */
        Tensor input(DType t, long... d) {
            return add(layout(t, d, false));
        }

        /** Adds an input with values in [lo, hi). */
        Tensor positive(DType t, double lo, double hi, long... d) {
            Tensor x = layout(t, d, true);
            double[] v = new double[Math.toIntExact(x.size())];
            for (int i = 0; i < v.length; i++) {
                v[i] = lo + (hi - lo) * rnd.nextDouble();
            }
            Tensor c = Tensor.of(arena, t, v, d);
            if (!x.isContiguous()) {
                x.copyFrom(c);
                return add(x);
            }
            return add(c);
        }

        private Tensor add(Tensor t) {
            inputs.add(t);
            return t;
        }

        /**
         * A tensor of the dims: contiguous; or a permuted view of a tensor stored transposed; or every
         * other element of a larger one; or (for a size-1 axis) a broadcast view with stride 0. Views
         * that cannot be written (broadcast) are only drawn when {@code writable} is false.
         */
        Tensor layout(DType t, long[] d, boolean writable) {
            int kind = rnd.nextInt(6);
            if (kind == 3 && d.length >= 2) {
                long[] stored = d.clone();
                stored[0] = d[d.length - 1];
                stored[d.length - 1] = d[0];
                return Conformance.normal(arena, rnd, t, stored).transpose(0, d.length - 1);
            }
            if (kind == 4 && d.length >= 1) {
                int axis = rnd.nextInt(d.length);
                long[] stored = d.clone();
                stored[axis] = 2 * d[axis];
                return Conformance.normal(arena, rnd, t, stored).slice(axis, 0, stored[axis], 2);
            }
            if (kind == 5 && d.length >= 1 && !writable) {
                int axis = rnd.nextInt(d.length);
                long[] stored = d.clone();
                stored[axis] = 1;
                return Conformance.normal(arena, rnd, t, stored).broadcastTo(Shape.of(d));
            }
            return Conformance.normal(arena, rnd, t, d);
        }

        /** Builds the op, or leaves it null when its constructor refuses the parameters (a documented rejection). */
        void op(java.util.function.Supplier<Op> make) {
            try {
                op = make.get();
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "a constructor refused without a message");
                op = null;
                text += " (constructor: " + e.getMessage() + ")";
            }
        }

        String matmul() {
            int batchRank = between(0, 2);
            long m = dim();
            long k = dim();
            long n = dim();
            long[] batch = dims(batchRank);
            long[] aBatch = batch.clone();
            long[] bBatch = batch.clone();
            for (int i = 0; i < batchRank; i++) { // numpy broadcasting: either side may hold a 1
                if (rnd.nextInt(4) == 0) {
                    aBatch[i] = 1;
                } else if (rnd.nextInt(4) == 0) {
                    bBatch[i] = 1;
                }
            }
            long[] a = concat(aBatch, new long[] {m, k});
            long[] b = concat(rnd.nextInt(3) == 0 ? new long[0] : bBatch, new long[] {k, n});
            a = maybeBreak(0, a, "a");
            b = maybeBreak(1, b, "b");
            input(dtypeOf(0, 1), a);
            input(dtypeOf(1, 1), b);
            if (rnd.nextBoolean()) {
                long[] bias = rnd.nextBoolean() ? new long[] {n} : new long[] {m, n};
                input(dtypeOf(2, 1), maybeBreak(2, bias, "bias"));
            }
            op(MatMul::new);
            return "matmul";
        }

        String conv() {
            int groups = rnd.nextInt(3) == 0 ? 2 : 1;
            long cin = groups * between(1, 3);
            long cout = groups * between(1, 3);
            int kh = between(1, 3);
            int kw = between(1, 3);
            Hw stride = new Hw(between(1, 2), between(1, 2));
            Hw pad = new Hw(between(0, 1), between(0, 1));
            Hw dil = new Hw(between(1, 2), between(1, 2));
            if (change == 2) {
                int which = rnd.nextInt(3);
                stride = which == 0 ? new Hw(0, 1) : stride;
                pad = which == 1 ? new Hw(-1, 0) : pad;
                groups = which == 2 ? 0 : groups;
                sabotage = which == 0 ? "stride 0" : which == 1 ? "padding -1" : "groups 0";
            }
            long[] x = {between(1, 3), cin, between(1, 7), between(1, 7)};
            long[] w = {cout, cin / Math.max(1, groups), kh, kw};
            input(dtypeOf(0, 1), maybeBreak(0, x, "x"));
            input(dtypeOf(1, 1), maybeBreak(1, w, "weight"));
            if (rnd.nextBoolean()) {
                input(dtype, cout);
            }
            Hw s = stride;
            Hw p = pad;
            int g = groups;
            text = "stride " + s + " padding " + p + " dilation " + dil + " groups " + g;
            op(() -> new Conv2d(s, p, dil, g));
            return "conv2d";
        }

        String convTranspose() {
            int groups = rnd.nextInt(3) == 0 ? 2 : 1;
            long cin = groups * between(1, 3);
            long coutPerGroup = between(1, 3);
            int kh = between(1, 3);
            int kw = between(1, 3);
            Hw stride = new Hw(between(1, 2), between(1, 2));
            Hw pad = new Hw(between(0, 1), between(0, 1));
            Hw dil = new Hw(1, between(1, 2));
            Hw outPad = new Hw(stride.h() > 1 ? between(0, 1) : 0, 0);
            if (change == 2) {
                outPad = new Hw(stride.h() + dil.h(), 0); // output padding must stay below stride or dilation
                sabotage = "output padding " + outPad;
            }
            long[] x = {between(1, 2), cin, between(1, 5), between(1, 5)};
            long[] w = {cin, coutPerGroup, kh, kw};
            input(dtypeOf(0, 1), maybeBreak(0, x, "x"));
            input(dtypeOf(1, 1), maybeBreak(1, w, "weight"));
            if (rnd.nextBoolean()) {
                input(dtype, coutPerGroup * groups);
            }
            Hw op2 = outPad;
            int g = groups;
            text = "stride " + stride + " padding " + pad + " output padding " + outPad + " dilation " + dil + " groups " + g;
            op(() -> new ConvTranspose2d(stride, pad, op2, dil, g));
            return "conv_transpose2d";
        }

        String eltwise() {
            Eltwise.Kind kind = Eltwise.Kind.values()[rnd.nextInt(Eltwise.Kind.values().length)];
            double alpha = switch (kind) {
                case RELU -> rnd.nextBoolean() ? 0 : 0.1;
                case ELU -> 1.0;
                case SOFTPLUS -> 0.5 + rnd.nextDouble() * 2;
                case SWISH -> 1.0;
                case CLIP -> -0.5;
                case LINEAR -> 1.5;
                default -> 0;
            };
            double beta = switch (kind) {
                case CLIP -> 0.7;
                case LINEAR -> -0.25;
                default -> 0;
            };
            if (change == 2) {
                alpha = kind == Eltwise.Kind.CLIP ? 2 : kind == Eltwise.Kind.SOFTPLUS ? 0 : Double.NaN;
                sabotage = "alpha " + alpha;
            }
            long[] d = maybeBreak(-1, dims(between(0, 4)), "");
            if (kind == Eltwise.Kind.LOG || kind == Eltwise.Kind.SQRT) {
                positive(dtype, 0.1, 3, d);
            } else {
                input(dtype, d);
            }
            if (change == 1) {
                input(dtype, d);
                sabotage = "a second input";
            }
            double a = alpha;
            double b = beta;
            text = kind + " alpha " + a + " beta " + b;
            op(() -> new Eltwise(kind, a, b));
            return "eltwise";
        }

        String binary() {
            Binary.Kind kind = Binary.Kind.values()[rnd.nextInt(Binary.Kind.values().length)];
            int rank = between(0, 4);
            long[] full = dims(rank);
            long[] a = full.clone();
            long[] b = Arrays.copyOfRange(full, rnd.nextInt(rank + 1), rank); // a suffix: numpy aligns on the right
            for (int i = 0; i < a.length; i++) {
                if (rnd.nextInt(4) == 0) {
                    a[i] = 1;
                }
            }
            for (int i = 0; i < b.length; i++) {
                if (rnd.nextInt(4) == 0) {
                    b[i] = 1;
                }
            }
            if (rnd.nextBoolean()) {
                long[] t = a;
                a = b;
                b = t;
            }
            a = maybeBreak(0, a, "a");
            input(dtypeOf(0, 1), a);
            if (kind == Binary.Kind.DIV) {
                positive(dtypeOf(1, 1), 0.5, 2, b);
            } else {
                input(dtypeOf(1, 1), b);
            }
            text = kind.toString();
            op(() -> new Binary(kind));
            return "binary";
        }

        String reduce() {
            Reduce.Kind kind = Reduce.Kind.values()[rnd.nextInt(Reduce.Kind.values().length)];
            int rank = between(1, 4);
            long[] d = dims(rank);
            List<Integer> axes = new ArrayList<>();
            for (int i = 0; i < rank; i++) {
                if (rnd.nextBoolean()) {
                    axes.add(rnd.nextBoolean() ? i : i - rank);
                }
            }
            if (change == 2) {
                axes.add(rnd.nextBoolean() ? rank : axes.isEmpty() ? 0 : axes.get(0));
                sabotage = "axes " + axes;
            }
            if (kind == Reduce.Kind.MAX || kind == Reduce.Kind.MIN) { // no max of nothing
                for (int i = 0; i < rank; i++) {
                    d[i] = Math.max(1, d[i]);
                }
            }
            input(dtype, d);
            boolean keep = rnd.nextBoolean();
            text = kind + " axes " + axes + " keepDims " + keep;
            op(() -> new Reduce(kind, List.copyOf(axes), keep));
            return "reduce";
        }

        String softmax() {
            int rank = between(1, 4);
            long[] d = dims(rank);
            int axis = between(-rank, rank - 1);
            if (change == 2) {
                axis = rnd.nextBoolean() ? rank : -rank - 1;
                sabotage = "axis " + axis;
            }
            input(dtype, d);
            boolean log = rnd.nextBoolean();
            int a = axis;
            text = (log ? "log " : "") + "axis " + a;
            op(() -> new Softmax(a, log));
            return "softmax";
        }

        String norm() {
            int which = rnd.nextInt(4);
            double eps = change == 2 ? -1e-5 : 1e-5;
            if (change == 2) {
                sabotage = "eps " + eps;
            }
            long n = between(1, 4);
            long c = between(1, 4);
            long[] x = rnd.nextBoolean() ? new long[] {n, c, between(1, 4), between(1, 4)} : new long[] {n, c};
            switch (which) {
                case 0 -> {
                    int normalizedRank = between(1, 2);
                    long[] xd = dims(between(normalizedRank, 3));
                    for (int i = 0; i < xd.length; i++) {
                        xd[i] = Math.max(1, xd[i]);
                    }
                    long[] g = Arrays.copyOfRange(xd, xd.length - normalizedRank, xd.length);
                    input(dtypeOf(0, 1), xd);
                    input(dtypeOf(1, 1), maybeBreak(1, g, "gamma"));
                    input(dtype, g);
                    text = "layer_norm over the last " + normalizedRank;
                    op(() -> new LayerNorm(normalizedRank, eps));
                    return "layer_norm";
                }
                case 1 -> {
                    int groups = (int) c;
                    long[] xd = x.clone();
                    xd[1] = groups * between(1, 2);
                    input(dtypeOf(0, 1), xd);
                    input(dtypeOf(1, 1), maybeBreak(1, new long[] {xd[1]}, "gamma"));
                    input(dtype, xd[1]);
                    int g = change == 0 ? groups + 1 : groups;
                    if (change == 0) {
                        sabotage = "groups " + g + " for " + xd[1] + " channels";
                    }
                    text = "group_norm groups " + g;
                    op(() -> new GroupNorm(g, eps));
                    return "group_norm";
                }
                default -> {
                    boolean training = which == 2;
                    if (training) {
                        x[0] = Math.max(2, x[0]); // a batch of one has no variance
                    }
                    input(dtypeOf(0, 1), x);
                    input(dtypeOf(1, 1), maybeBreak(1, new long[] {c}, "gamma"));
                    input(dtype, c);
                    if (!training) {
                        input(dtype, c);
                        positive(dtype, 0.5, 2, c);
                    }
                    text = training ? "batch_norm training" : "batch_norm inference";
                    op(() -> new BatchNorm(eps, training));
                    return "batch_norm";
                }
            }
        }

        String pool() {
            Pool2d.Kind kind = Pool2d.Kind.values()[rnd.nextInt(Pool2d.Kind.values().length)];
            int kh = between(1, 3);
            int kw = between(1, 3);
            Hw kernel = new Hw(kh, kw);
            Hw stride = new Hw(between(1, 3), between(1, 3));
            Hw pad = new Hw(between(0, kh / 2), between(0, kw / 2));
            if (change == 2) {
                pad = new Hw(kh / 2 + 1, 0); // padding above half the kernel
                sabotage = "padding " + pad + " for kernel " + kernel;
            }
            long[] x = {between(1, 3), between(1, 3), between(1, 7), between(1, 7)};
            input(dtype, maybeBreak(0, x, "x"));
            Hw p = pad;
            text = kind + " kernel " + kernel + " stride " + stride + " padding " + p;
            op(() -> new Pool2d(kind, kernel, stride, p));
            return "pool2d";
        }

        String concat() {
            int rank = between(1, 3);
            int axis = rnd.nextInt(rank);
            long[] d = dims(rank);
            int parts = between(1, 4);
            for (int i = 0; i < parts; i++) {
                long[] p = d.clone();
                p[axis] = dim();
                if (i == parts - 1) {
                    p = maybeBreak(0, p, "part");
                }
                input(dtypeOf(i, parts > 1 ? parts - 1 : -1), p);
            }
            if (change == 2 && !inputs.isEmpty()) {
                sabotage = "a part of rank " + (rank + 1);
                inputs.set(0, Conformance.normal(arena, rnd, dtype, concat(d, new long[] {2})));
            }
            int a = rnd.nextBoolean() ? axis : axis - rank;
            text = "axis " + a + ", " + parts + " parts";
            op(() -> new Concat(a));
            return "concat";
        }

        String cast() {
            DType to = DTYPES[rnd.nextInt(DTYPES.length)];
            input(dtype, dims(between(0, 4)));
            if (change == 1) {
                input(dtype, 2);
                sabotage = "a second input";
            }
            text = "to " + to.shortName();
            op(() -> new Cast(to));
            return "cast";
        }

        static long[] concat(long[] a, long[] b) {
            long[] r = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, r, a.length, b.length);
            return r;
        }
    }
}

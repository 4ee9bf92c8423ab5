package org.lipa.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.cpu.DnnlLibrary;
import org.lipa.bindings.dnnl.dnnl_exec_arg_t;
import org.lipa.ops.Eltwise;
import org.lipa.ops.MatMul;
import org.lipa.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Downcall overhead, in ns per call. Figures: {@code noop} (an empty C function, no oneDNN), {@code matmul8}
 * (a prebuilt 8x8x8 matmul primitive), {@code relu16} (a prebuilt relu eltwise primitive on 16 floats) and
 * {@code sgemm8} ({@code dnnl_sgemm} at 8x8x8, the kernel Lipa runs for a plain f32 matmul). Each figure
 * is driven several ways, the method name being figure + way:
 * <ul>
 * <li>{@code Panama}: what Lipa's {@code Primitive.execute} does, through the jextract bindings: one
 *     downcall per {@code dnnl_memory_set_data_handle}, then {@code dnnl_primitive_execute} and
 *     {@code dnnl_stream_wait};
 * <li>{@code Critical}: the same calls through handles made with {@code Linker.Option.critical(false)};
 * <li>{@code OneCall}: one Panama downcall to {@code lipa_bench_exec}, a C function making those calls;
 * <li>{@code Jni}: one JNI call to the same C function ({@link JniBaseline});
 * <li>{@code Lipa}: {@code CpuBackend.execute} of the Lipa op (shape checks, primitive cache lookup, locks).
 * </ul>
 * The C floor, {@code native/bench/downcall.c}, calls the same C functions from a C loop.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DowncallBench {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    private Arena arena;
    private CpuBackend cpu;
    private MemorySegment engine;
    private MemorySegment stream;


    private Tiny matmul;
    private Tiny relu;
    private Tensor a;
    private Tensor b;
    private Tensor c;
    private Tensor x;
    private Tensor y;
    private final MatMul matmulOp = new MatMul();
    private final Eltwise reluOp = Eltwise.of(Eltwise.Kind.RELU);

    /**
     * The downcall handles made here, in static finals: the JIT treats only those as constants and inlines the
     * call (a handle in an instance field costs some 20 ns more per call). Initialized on first use, after
     * setup has loaded oneDNN and found the benchmark library; the lookups live as long as the JVM (global arena).
     */
    private static final class Handles {
        static final MethodHandle NOOP;
        static final MethodHandle NOOP_CRITICAL;
        static final MethodHandle EXEC;
        static final MethodHandle SET_HANDLE_CRITICAL;
        static final MethodHandle EXECUTE_CRITICAL;
        static final MethodHandle WAIT_CRITICAL;
        static final MethodHandle SGEMM_CRITICAL;

        static {
            SymbolLookup bench = SymbolLookup.libraryLookup(JniBaseline.library(), Arena.global());
            SymbolLookup dnnl = SymbolLookup.libraryLookup(DnnlLibrary.path(), Arena.global());
            NOOP = LINKER.downcallHandle(bench.findOrThrow("lipa_bench_noop"), FunctionDescriptor.ofVoid());
            NOOP_CRITICAL = LINKER.downcallHandle(bench.findOrThrow("lipa_bench_noop"), FunctionDescriptor.ofVoid(), CRITICAL);
            EXEC = LINKER.downcallHandle(bench.findOrThrow("lipa_bench_exec"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS));
            SET_HANDLE_CRITICAL = LINKER.downcallHandle(dnnl.findOrThrow("dnnl_memory_set_data_handle"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS), CRITICAL);
            EXECUTE_CRITICAL = LINKER.downcallHandle(dnnl.findOrThrow("dnnl_primitive_execute"),
                    FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS), CRITICAL);
            WAIT_CRITICAL = LINKER.downcallHandle(dnnl.findOrThrow("dnnl_stream_wait"), FunctionDescriptor.of(JAVA_INT, ADDRESS),
                    CRITICAL);
            SGEMM_CRITICAL = LINKER.downcallHandle(dnnl.findOrThrow("dnnl_sgemm"), FunctionDescriptor.of(JAVA_INT, JAVA_BYTE,
                    JAVA_BYTE, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_FLOAT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_FLOAT,
                    ADDRESS, JAVA_LONG), CRITICAL);
        }

        private Handles() {
        }
    }

    /**
     * A prebuilt primitive: its memories (the first {@code nuser} re-pointed each call at {@code pointers},
     * then the scratchpad, if any) and its argument array of {@code nargs} entries.
     */
    private record Tiny(MemorySegment primitive, MemorySegment[] memories, MemorySegment[] pointers, MemorySegment memArray,
                        MemorySegment ptrArray, MemorySegment args, int nuser, int nargs) {
    }

    @Setup(Level.Trial)
    public void setUp() {
        DnnlLibrary.ensureLoaded();
        JniBaseline.load();
        arena = Arena.ofShared();
        cpu = CpuBackend.open();
        Handles.NOOP.type(); // creates the handles now, not in the first measured call
        MemorySegment out = arena.allocate(ADDRESS);
        check(dnnl_engine_create(out, dnnl_cpu(), 0), "dnnl_engine_create");
        engine = out.get(ADDRESS, 0);
        check(dnnl_stream_create(out, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
        stream = out.get(ADDRESS, 0);

        Random r = new Random(1);
        a = OpCase.random(arena, r, 8, 8);
        b = OpCase.random(arena, r, 8, 8);
        c = OpCase.random(arena, r, 8, 8);
        x = OpCase.random(arena, r, 16);
        y = OpCase.random(arena, r, 16);
        MemorySegment attr = userScratchpad();
        MemorySegment m88 = plain(8, 8);
        check(dnnl_matmul_primitive_desc_create(out, engine, m88, m88, MemorySegment.NULL, m88, attr), "dnnl_matmul_primitive_desc_create");
        matmul = tiny(out.get(ADDRESS, 0), new int[] {DNNL_ARG_SRC(), DNNL_ARG_WEIGHTS(), DNNL_ARG_DST()}, m88,
                a.data(), b.data(), c.data());
        MemorySegment m16 = plain(16);
        check(dnnl_eltwise_forward_primitive_desc_create(out, engine, dnnl_forward_inference(), dnnl_eltwise_relu(), m16, m16, 0f, 0f,
                attr), "dnnl_eltwise_forward_primitive_desc_create");
        relu = tiny(out.get(ADDRESS, 0), new int[] {DNNL_ARG_SRC(), DNNL_ARG_DST()}, m16, x.data(), y.data());
        dnnl_memory_desc_destroy(m88);
        dnnl_memory_desc_destroy(m16);
        dnnl_primitive_attr_destroy(attr);
        // Lipa's path creates its primitives here, not in the measurement
        cpu.execute(matmulOp, List.of(a, b), List.of(c));
        cpu.execute(reluOp, List.of(x), List.of(y));
    }

    private MemorySegment userScratchpad() {
        MemorySegment out = arena.allocate(ADDRESS);
        check(dnnl_primitive_attr_create(out), "dnnl_primitive_attr_create");
        MemorySegment attr = out.get(ADDRESS, 0);
        check(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user()), "dnnl_primitive_attr_set_scratchpad_mode");
        return attr;
    }

    /** A row-major f32 descriptor with explicit strides, as Lipa's MemoryDesc makes them. */
    private MemorySegment plain(long... dims) {
        long[] strides = new long[dims.length];
        long s = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= dims[i];
        }
        MemorySegment out = arena.allocate(ADDRESS);
        check(dnnl_memory_desc_create_with_strides(out, dims.length, arena.allocateFrom(JAVA_LONG, dims), dnnl_f32(),
                arena.allocateFrom(JAVA_LONG, strides)), "dnnl_memory_desc_create_with_strides");
        return out.get(ADDRESS, 0);
    }

    /**
     * Creates the primitive and one memory per argument, plus a user-managed scratchpad when the primitive
     * wants one (as Lipa's Primitive.create): bound once, never re-pointed.
     */
    private Tiny tiny(MemorySegment pd, int[] kinds, MemorySegment md, MemorySegment... data) {
        MemorySegment out = arena.allocate(ADDRESS);
        MemorySegment scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md(), 0);
        long scratchBytes = scratch.equals(MemorySegment.NULL) ? 0 : dnnl_memory_desc_get_size(scratch);
        int n = kinds.length;
        int nargs = n + (scratchBytes > 0 ? 1 : 0);
        MemorySegment[] mems = new MemorySegment[nargs];
        if (scratchBytes > 0) {
            check(dnnl_memory_create(out, scratch, engine, arena.allocate(scratchBytes, 64)), "dnnl_memory_create");
            mems[n] = out.get(ADDRESS, 0);
        }
        check(dnnl_primitive_create(out, pd), "dnnl_primitive_create");
        MemorySegment prim = out.get(ADDRESS, 0);
        dnnl_primitive_desc_destroy(pd);
        MemorySegment args = dnnl_exec_arg_t.allocateArray(nargs, arena);
        MemorySegment memArray = arena.allocate(ADDRESS, n);
        MemorySegment ptrArray = arena.allocate(ADDRESS, n);
        for (int i = 0; i < nargs; i++) {
            if (i < n) {
                check(dnnl_memory_create(out, md, engine, data[i]), "dnnl_memory_create");
                mems[i] = out.get(ADDRESS, 0);
                memArray.setAtIndex(ADDRESS, i, mems[i]);
                ptrArray.setAtIndex(ADDRESS, i, data[i]);
            }
            MemorySegment e = dnnl_exec_arg_t.asSlice(args, i);
            dnnl_exec_arg_t.arg(e, i < n ? kinds[i] : DNNL_ARG_SCRATCHPAD());
            dnnl_exec_arg_t.memory(e, mems[i]);
        }
        return new Tiny(prim, mems, data, memArray, ptrArray, args, n, nargs);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        for (Tiny t : List.of(matmul, relu)) {
            for (MemorySegment m : t.memories()) {
                dnnl_memory_destroy(m);
            }
            dnnl_primitive_destroy(t.primitive());
        }
        dnnl_stream_destroy(stream);
        dnnl_engine_destroy(engine);
        cpu.close();
        arena.close();
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new IllegalStateException(call + " failed with status " + status);
        }
    }

    // ---------------------------------------------------------------- noop

    @Benchmark
    public void noopPanama() throws Throwable {
        Handles.NOOP.invokeExact();
    }

    @Benchmark
    public void noopCritical() throws Throwable {
        Handles.NOOP_CRITICAL.invokeExact();
    }

    @Benchmark
    public void noopJni() {
        JniBaseline.noop();
    }

    // ---------------------------------------------------------------- prebuilt primitives

    private int panama(Tiny t) {
        for (int i = 0; i < t.nuser(); i++) {
            check(dnnl_memory_set_data_handle(t.memories()[i], t.pointers()[i]), "dnnl_memory_set_data_handle");
        }
        check(dnnl_primitive_execute(t.primitive(), stream, t.nargs(), t.args()), "dnnl_primitive_execute");
        check(dnnl_stream_wait(stream), "dnnl_stream_wait");
        return 0;
    }

    private int critical(Tiny t) throws Throwable {
        for (int i = 0; i < t.nuser(); i++) {
            check((int) Handles.SET_HANDLE_CRITICAL.invokeExact(t.memories()[i], t.pointers()[i]), "dnnl_memory_set_data_handle");
        }
        check((int) Handles.EXECUTE_CRITICAL.invokeExact(t.primitive(), stream, t.nargs(), t.args()), "dnnl_primitive_execute");
        check((int) Handles.WAIT_CRITICAL.invokeExact(stream), "dnnl_stream_wait");
        return 0;
    }

    private int oneCall(Tiny t) throws Throwable {
        return (int) Handles.EXEC.invokeExact(t.primitive(), stream, t.nuser(), t.memArray(), t.ptrArray(), t.nargs(), t.args());
    }

    private int jni(Tiny t) {
        return JniBaseline.exec(t.primitive().address(), stream.address(), t.nuser(), t.memArray().address(),
                t.ptrArray().address(), t.nargs(), t.args().address());
    }

    @Benchmark
    public int matmul8Panama() {
        return panama(matmul);
    }

    @Benchmark
    public int matmul8Critical() throws Throwable {
        return critical(matmul);
    }

    @Benchmark
    public int matmul8OneCall() throws Throwable {
        return oneCall(matmul);
    }

    @Benchmark
    public int matmul8Jni() {
        return jni(matmul);
    }

    @Benchmark
    public int relu16Panama() {
        return panama(relu);
    }

    @Benchmark
    public int relu16Critical() throws Throwable {
        return critical(relu);
    }

    @Benchmark
    public int relu16OneCall() throws Throwable {
        return oneCall(relu);
    }

    @Benchmark
    public int relu16Jni() {
        return jni(relu);
    }

    @Benchmark
    public void relu16Lipa() {
        cpu.execute(reluOp, List.of(x), List.of(y));
    }

    // ---------------------------------------------------------------- dnnl_sgemm 8x8x8

    @Benchmark
    public int sgemm8Panama() {
        return dnnl_sgemm((byte) 'N', (byte) 'N', 8, 8, 8, 1f, a.data(), 8, b.data(), 8, 0f, c.data(), 8);
    }

    @Benchmark
    public int sgemm8Critical() throws Throwable {
        return (int) Handles.SGEMM_CRITICAL.invokeExact((byte) 'N', (byte) 'N', 8L, 8L, 8L, 1f, a.data(), 8L, b.data(), 8L, 0f, c.data(), 8L);
    }

    @Benchmark
    public int sgemm8Jni() {
        return JniBaseline.sgemm(8, 8, 8, a.data().address(), b.data().address(), c.data().address());
    }

    /** Lipa's whole path for an 8x8x8 matmul, which runs on dnnl_sgemm. */
    @Benchmark
    public void sgemm8Lipa() {
        cpu.execute(matmulOp, List.of(a, b), List.of(c));
    }
}

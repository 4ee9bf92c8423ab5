package org.lipa.bench;

import static org.lipa.bindings.dnnl.dnnl_h.dnnl_set_primitive_cache_capacity;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.cpu.DnnlLibrary;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Primitive creation: the first execution of an op on a fresh backend (empty primitive cache, and oneDNN's
 * own primitive cache turned off so that its JIT really runs), timed one shot at a time. The results
 * writer reports creation as this time minus {@link OpBench}'s steady execution of the same figure, beside
 * the creation time {@code native/bench/ops.c} measures directly. Matmuls are absent: plain f32 matmuls run
 * on {@code dnnl_sgemm}, which creates nothing.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
// A warm JVM, as in a long-running service: creation paths compiled by C2, not interpreted. 50 shots were not
// enough: a small primitive's first execution took 0.45 to 1 ms after 60 shots and 0.30 ms (as from C) after 800.
@Warmup(iterations = 1000)
@Measurement(iterations = 20)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class PrimitiveCreationBench {
    @Param({"conv_fwd", "conv_bwd_data", "conv_bwd_weights", "layer_norm", "softmax"})
    public String figure;

    private Arena arena;
    private OpCase c;
    private CpuBackend cpu;

    @Setup(Level.Trial)
    public void setUp() {
        DnnlLibrary.ensureLoaded();
        dnnl_set_primitive_cache_capacity(0);
        arena = Arena.ofShared();
        c = OpCase.create(figure, arena);
    }

    /** A fresh backend per shot: its primitive cache is empty (the engine's creation is not timed). */
    @Setup(Level.Invocation)
    public void freshBackend() {
        cpu = CpuBackend.open();
    }

    @TearDown(Level.Invocation)
    public void closeBackend() {
        cpu.close();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void firstExecute() {
        cpu.execute(c.op(), c.inputs(), c.outputs());
    }
}

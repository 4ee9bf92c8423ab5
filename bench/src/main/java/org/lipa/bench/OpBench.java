package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;
import org.lipa.backend.cpu.CpuBackend;
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
 * Op throughput: one execution of a Lipa op through the public backend API ({@code CpuBackend.execute}),
 * its primitive already created (the first call, made in setup, creates it; {@link PrimitiveCreationBench}
 * times creation apart). {@code native/bench/ops.c} runs the same oneDNN calls from C; the results writer
 * turns both times into GFLOP/s or GB/s with {@link OpCase#flop()} and {@link OpCase#bytes()}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class OpBench {
    @Param({"matmul64", "matmul256", "matmul1024", "matmul2048", "matmul128x784x512", "conv_fwd", "conv_bwd_data",
            "conv_bwd_weights", "layer_norm", "softmax"})
    public String figure;

    private CpuBackend cpu;
    private Arena arena;
    private OpCase c;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = CpuBackend.open();
        arena = Arena.ofShared();
        c = OpCase.create(figure, arena);
        cpu.execute(c.op(), c.inputs(), c.outputs());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cpu.close();
        arena.close();
    }

    @Benchmark
    public void execute() {
        cpu.execute(c.op(), c.inputs(), c.outputs());
    }
}

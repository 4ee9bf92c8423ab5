package org.lipa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.PowerIteration;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.memory.HostMemory;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A service's life in a minute: four threads evaluate, push JVPs through and power-iterate on networks of
 * ever-changing shapes (so primitives are created and evicted all along) for {@code -Dlipa.soak.seconds}
 * (45 by default; run longer on demand). Afterwards the runtime's live host memory is back at its baseline
 * to the byte, the primitive cache is within its capacity, and the process's resident memory has not
 * grown beyond allocator noise since the warm-up.
 */
@Tag("cpu")
class SoakTest {
    private static final long SECONDS = Long.getLong("lipa.soak.seconds", 45);
    private static final int THREADS = 4;
    private static final int CAPACITY = 48;

    @Test
    void thousandsOfVaryingCallsLeaveNoMemoryBehind() throws Exception {
        long liveBefore = HostMemory.liveBytes();
        AtomicLong evaluations = new AtomicLong();
        AtomicLong jvps = new AtomicLong();
        AtomicLong powerIterations = new AtomicLong();
        long rssWarm;
        long rssEnd;
        try (CpuBackend cpu = CpuBackend.open(CAPACITY)) {
            // warm-up: a fifth of the time, so that the allocator's and oneDNN's one-time growth is behind us
            run(cpu, Math.max(2, SECONDS / 5), 1, evaluations, jvps, powerIterations);
            System.gc();
            rssWarm = rss();
            long warmCalls = evaluations.get() + jvps.get() + powerIterations.get();
            run(cpu, SECONDS, 2, evaluations, jvps, powerIterations);
            System.gc();
            rssEnd = rss();
            assertTrue(cpu.cachedPrimitives() <= CAPACITY, "cache " + cpu.cachedPrimitives());
            assertTrue(cpu.primitiveEvictions() > 0, "varying shapes must have evicted primitives");
            long calls = evaluations.get() + jvps.get() + powerIterations.get() - warmCalls;
            System.out.printf("soak: %d s, %d threads: %d evaluations, %d JVPs, %d power iterations (%d calls after warm-up); "
                            + "%d primitives created, %d evicted, %d streams; RSS %.1f MiB after warm-up, %.1f MiB at the end; "
                            + "live host bytes %d before, %d after%n", SECONDS, THREADS, evaluations.get(), jvps.get(),
                    powerIterations.get(), calls, cpu.primitiveCreations(), cpu.primitiveEvictions(), cpu.streams(), rssWarm / 1048576.0,
                    rssEnd / 1048576.0, liveBefore, HostMemory.liveBytes());
            assertTrue(calls > 1000, "thousands of calls: " + calls);
        }
        assertEquals(liveBefore, HostMemory.liveBytes(), "every byte the runtime allocated was freed with its arena");
        // glibc keeps freed blocks in its arenas, so RSS is noisy; a leak of even one plan buffer per call would be
        // hundreds of MiB here
        assertTrue(rssEnd - rssWarm < 96L << 20, "RSS grew from " + rssWarm + " to " + rssEnd);
    }

    private static void run(CpuBackend cpu, long seconds, long seed, AtomicLong evaluations, AtomicLong jvps, AtomicLong powerIterations)
            throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                long s = seed * 100 + t;
                done.add(pool.submit(() -> {
                    Random r = new Random(s);
                    while (System.nanoTime() < end) {
                        work(cpu, r, evaluations, jvps, powerIterations);
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
    }

    /** One request: a small conv net or MLP of a random shape, evaluated, differentiated and power-iterated. */
    private static void work(CpuBackend cpu, Random r, AtomicLong evaluations, AtomicLong jvps, AtomicLong powerIterations) {
        try (Arena model = Arena.ofConfined()) {
            boolean conv = r.nextBoolean();
            int batch = 1 + r.nextInt(8);
            TensorSpec in;
            Differentiable f;
            if (conv) {
                int size = 6 + r.nextInt(10);
                int channels = 1 + r.nextInt(4);
                Tensor w = random(model, r, 4, channels, 3, 3);
                in = new TensorSpec(Shape.of(batch, channels, size, size), DType.F32);
                f = Differentiable.trace(cpu, List.of(in), (ops, x) -> List.of(ops.tanh(ops.conv2d(x.get(0), ops.constant(w), null,
                        Hw.of(1 + r.nextInt(2)), Hw.of(1), Hw.of(1), 1))));
            } else {
                int width = 8 + r.nextInt(120);
                Tensor w1 = random(model, r, width, 16);
                Tensor w2 = random(model, r, 10, width);
                in = new TensorSpec(Shape.of(batch, 16), DType.F32);
                f = Differentiable.trace(cpu, List.of(in), (ops, x) -> List.of(ops.softmax(ops.linear(ops.relu(ops.linear(x.get(0),
                        ops.constant(w1), null)), ops.constant(w2), null), 1)));
            }
            Tensor x = random(model, r, in.shape().toArray());
            for (int k = 0; k < 5; k++) {
                try (Arena step = Arena.ofConfined()) {
                    f.apply(step, List.of(x));
                    evaluations.incrementAndGet();
                    f.jvp(step, List.of(x), List.of(random(step, r, in.shape().toArray())));
                    jvps.incrementAndGet();
                }
            }
            try (Arena point = Arena.ofConfined()) {
                PowerIteration.run(LinearOperator.jacobian(f, point, List.of(x), 0, 0), 1e-3, 10, r.nextLong());
                powerIterations.incrementAndGet();
            }
        }
    }

    private static Tensor random(Arena a, Random r, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * 0.3f;
        }
        return Tensor.of(a, v, dims);
    }

    /** The process's resident set size in bytes, from /proc (Linux). */
    private static long rss() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }
}

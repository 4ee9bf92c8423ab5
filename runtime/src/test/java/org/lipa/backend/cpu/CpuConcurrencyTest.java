package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Autodiff;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Many threads on one backend: the same traced graph (convolutions with reorders, matmuls, layer norm,
 * softmax) and its JVP evaluated concurrently on different inputs give the sequential results bit for
 * bit; the bounded primitive cache evicts under load without losing a result.
 */
@Tag("cpu")
class CpuConcurrencyTest {
    private static final int THREADS = 8;
    private static final TensorSpec X = new TensorSpec(Shape.of(2, 3, 12, 12), DType.F32);

    private static Tensor random(Arena a, Random r, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian() * 0.5f;
        }
        return Tensor.of(a, v, dims);
    }

    /** conv -> relu -> conv -> flatten -> layer norm -> linear -> softmax. */
    private static Graph net(Arena a) {
        Random r = new Random(11);
        Tensor w1 = random(a, r, 8, 3, 3, 3);
        Tensor b1 = random(a, r, 8);
        Tensor w2 = random(a, r, 8, 8, 3, 3);
        Tensor gamma = random(a, r, 8 * 6 * 6);
        Tensor beta = random(a, r, 8 * 6 * 6);
        Tensor w3 = random(a, r, 10, 8 * 6 * 6);
        return Graph.trace(List.of(X), (ops, in) -> {
            Node h = ops.relu(ops.conv2d(in.get(0), ops.constant(w1), ops.constant(b1), Hw.of(1), Hw.of(1), Hw.of(1), 1));
            h = ops.conv2d(h, ops.constant(w2), null, Hw.of(2), Hw.of(1), Hw.of(1), 1);
            h = ops.layerNorm(ops.reshape(h, 2, -1), ops.constant(gamma), ops.constant(beta), 1e-5);
            return List.of(ops.softmax(ops.linear(h, ops.constant(w3), null), 1));
        });
    }

    @Test
    void eightThreadsOnOneGraphMatchTheSequentialRunsBitForBit() throws Exception {
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofShared()) {
            Graph g = net(model);
            Executable forward = g.compile(cpu);
            Executable jvp = Autodiff.jvp(g).compile(cpu);
            int perThread = 12;
            List<Tensor> inputs = new ArrayList<>();
            List<Tensor> tangents = new ArrayList<>();
            Random r = new Random(5);
            for (int i = 0; i < THREADS * perThread; i++) {
                inputs.add(random(model, r, X.shape().toArray()));
                tangents.add(random(model, r, X.shape().toArray()));
            }
            List<float[]> expected = new ArrayList<>();
            List<float[]> expectedTangent = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                try (Arena a = Arena.ofConfined()) {
                    expected.add(forward.run(a, List.of(inputs.get(i))).get(0).toFloatArray());
                    expectedTangent.add(jvp.run(a, List.of(inputs.get(i), tangents.get(i))).get(1).toFloatArray());
                }
            }
            AtomicLong calls = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int first = t * perThread;
                    done.add(pool.submit(() -> {
                        for (int k = 0; k < perThread; k++) {
                            // each thread walks its own inputs in a different order from the others
                            int i = first + (k * 7) % perThread;
                            try (Arena a = Arena.ofConfined()) {
                                assertArrayEquals(expected.get(i), forward.run(a, List.of(inputs.get(i))).get(0).toFloatArray(), 0f,
                                        "forward, input " + i);
                                assertArrayEquals(expectedTangent.get(i), jvp.run(a, List.of(inputs.get(i), tangents.get(i))).get(1)
                                        .toFloatArray(), 0f, "jvp, input " + i);
                            }
                            calls.addAndGet(2);
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
            assertEquals(2L * THREADS * perThread, calls.get());
            assertTrue(cpu.streams() >= 1 && cpu.streams() <= THREADS, "streams: " + cpu.streams());
            System.out.printf("concurrency: %d threads, %d graph runs, %d streams%n", THREADS, calls.get(), cpu.streams());
        }
    }

    @Test
    void theCacheStaysWithinItsCapacityAndEvictedShapesStillComputeRight() throws Exception {
        try (CpuBackend cpu = CpuBackend.open(3); Arena a = Arena.ofShared()) {
            Random r = new Random(3);
            RefBackend ref = new RefBackend();
            List<Tensor> xs = new ArrayList<>();
            List<Tensor> ws = new ArrayList<>();
            for (int s = 0; s < 10; s++) {
                xs.add(random(a, r, 2, 3, 6 + s, 6 + s));
                ws.add(random(a, r, 4, 3, 3, 3));
            }
            // ten convolution shapes, twice, from eight threads: at most three primitives alive at any time
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int offset = t;
                    done.add(pool.submit(() -> {
                        for (int k = 0; k < 20; k++) {
                            int s = (k + offset) % 10;
                            try (Arena step = Arena.ofConfined()) {
                                Tensor got = new Eager(cpu, step).conv2d(xs.get(s), ws.get(s), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
                                Tensor want = new Eager(ref, step).conv2d(xs.get(s), ws.get(s), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
                                assertArrayEquals(want.toFloatArray(), got.toFloatArray(), 1e-4f, "shape " + s);
                            }
                            assertTrue(cpu.cachedPrimitives() <= 3, "cached: " + cpu.cachedPrimitives());
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
            assertTrue(cpu.primitiveEvictions() > 0, "evictions: " + cpu.primitiveEvictions());
            assertEquals(cpu.primitiveCreations() - cpu.primitiveEvictions(), cpu.cachedPrimitives(),
                    "every created primitive is either cached or was evicted (and destroyed)");
            long before = cpu.primitiveCreations();
            try (Arena step = Arena.ofConfined()) {
                new Eager(cpu, step).conv2d(xs.get(9), ws.get(9), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
                new Eager(cpu, step).conv2d(xs.get(9), ws.get(9), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
            }
            assertTrue(cpu.primitiveCreations() - before <= 1, "a repeated shape is served from the cache");
        }
    }

    @Test
    void aCapacityBelowOneIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuBackend.open(0));
        assertTrue(e.getMessage().contains("cacheCapacity"), e.getMessage());
    }
}

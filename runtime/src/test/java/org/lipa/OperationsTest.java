package org.lipa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.PowerIteration;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.cpu.Dnnl;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.eval.FiniteCheck;
import org.lipa.eval.NonFiniteException;
import org.lipa.memory.HostMemory;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * What an operator of a service sees and can do: memory and downcall counters, JFR events, the NaN/Inf
 * detection mode naming the first bad op in forward and backward passes, and cancellation of a long
 * computation from another thread with its memory released.
 */
class OperationsTest {
    @Test
    void liveHostBytesReturnToTheirBaselineWhenArenasClose() {
        long base = HostMemory.liveBytes();
        long count = HostMemory.allocations();
        try (Arena a = Arena.ofConfined()) {
            Tensor.zeros(a, DType.F32, 1000);
            Tensor.zeros(a, DType.F64, 10, 10);
            assertEquals(base + 4000 + 800, HostMemory.liveBytes());
            assertEquals(count + 2, HostMemory.allocations());
        }
        assertEquals(base, HostMemory.liveBytes());
    }

    @Test
    @Tag("cpu")
    void downcallsAndJfrEventsShowWhatTheRuntimeDoes(@TempDir Path dir) throws Exception {
        try (CpuBackend cpu = CpuBackend.open(); Arena a = Arena.ofConfined(); Recording rec = new Recording()) {
            rec.enable("org.lipa.GraphRun").withThreshold(java.time.Duration.ZERO);
            rec.enable("org.lipa.PrimitiveCreation");
            rec.enable("org.lipa.Analysis");
            rec.start();
            long calls = Dnnl.downcalls();
            Tensor w = Tensor.of(a, new float[] {2, 0, 0, 1}, 2, 2);
            Differentiable f = Differentiable.trace(cpu, List.of(w.spec()), (ops, in) -> List.of(ops.relu(ops.matmul(in.get(0),
                    ops.constant(w)))));
            f.apply(a, List.of(w));
            double sigma = PowerIteration.run(LinearOperator.matrix(cpu, w), 1e-9, 100, 1).sigma();
            assertEquals(2, sigma, 1e-6);
            assertTrue(Dnnl.downcalls() > calls, "oneDNN calls are counted");
            rec.stop();
            Path file = dir.resolve("lipa.jfr");
            rec.dump(file);
            Map<String, List<RecordedEvent>> byName = RecordingFile.readAllEvents(file).stream()
                    .collect(Collectors.groupingBy(e -> e.getEventType().getName()));
            assertTrue(byName.containsKey("org.lipa.GraphRun"), "events: " + byName.keySet());
            assertTrue(byName.get("org.lipa.GraphRun").stream().anyMatch(e -> e.getInt("applies") >= 2));
            assertTrue(byName.containsKey("org.lipa.PrimitiveCreation"), "events: " + byName.keySet());
            RecordedEvent analysis = byName.get("org.lipa.Analysis").get(0);
            assertEquals("power iteration", analysis.getString("method"));
            assertTrue(analysis.getBoolean("converged"));
        }
    }

    @Test
    void theFiniteCheckNamesTheFirstOpThatWentNonFiniteForwardAndBackward() {
        RefBackend ref = new RefBackend();
        FiniteCheck.enable(true);
        try (Arena a = Arena.ofConfined()) {
            Tensor x = Tensor.of(a, new double[] {1, -1, 4}, 3);
            // forward: log of a negative number, inside a planned graph, after a finite exp
            Differentiable f = Differentiable.trace(ref, List.of(x.spec()), (ops, in) -> List.of(ops.sum(ops.log(ops.mul(ops.exp(
                    in.get(0)), in.get(0))), false)));
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> f.apply(a, List.of(x)));
            assertEquals("log", e.op().name(), e.getMessage());
            assertTrue(e.getMessage().contains("NaN") && e.getMessage().contains("element 1"), e.getMessage());
            // backward: sqrt is finite at 0, its derivative 1 / (2 sqrt 0) is not
            Tensor z = Tensor.of(a, new double[] {0, 1}, 2);
            Differentiable g = Differentiable.trace(ref, List.of(z.spec()), (ops, in) -> List.of(ops.sum(ops.sqrt(in.get(0)), false)));
            assertEquals(1, g.apply(a, List.of(z)).get(0).item(), 1e-12, "the forward pass is finite");
            NonFiniteException back = assertThrows(NonFiniteException.class, () -> g.grad(a, List.of(z)));
            assertTrue(back.getMessage().contains("Infinity"), back.getMessage());
            assertFalse(back.op().name().equals("sqrt"), "the backward op is named, not the forward sqrt: " + back.getMessage());
            // eagerly too
            assertThrows(NonFiniteException.class, () -> new Eager(ref, a).log(Tensor.of(a, new double[] {-2}, 1)));
        } finally {
            FiniteCheck.enable(false);
        }
        try (Arena a = Arena.ofConfined()) {
            assertTrue(Double.isNaN(new Eager(ref, a).log(Tensor.of(a, new double[] {-2}, 1)).item()), "off: NaN flows through");
        }
    }

    @Test
    @Tag("cpu")
    void aLongComputationIsCancelledFromAnotherThreadAndReleasesItsMemory() throws Exception {
        long base = HostMemory.liveBytes();
        AtomicLong runs = new AtomicLong();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (CpuBackend cpu = CpuBackend.open(); Arena weights = Arena.ofShared()) {
            Tensor w = Tensor.zeros(weights, DType.F32, 256, 256);
            w.copyFrom(new float[256 * 256]);
            Differentiable f = Differentiable.trace(cpu, List.of(new org.lipa.tensor.TensorSpec(org.lipa.tensor.Shape.of(64, 256),
                    DType.F32)), (ops, in) -> List.of(ops.tanh(ops.matmul(ops.tanh(ops.matmul(in.get(0), ops.constant(w))),
                    ops.constant(w)))));
            long withWeights = HostMemory.liveBytes();
            Future<?> job = pool.submit(() -> {
                while (true) {
                    try (Arena step = Arena.ofConfined()) {
                        f.apply(step, List.of(Tensor.zeros(step, DType.F32, 64, 256)));
                    }
                    runs.incrementAndGet();
                }
            });
            while (runs.get() < 20) {
                Thread.sleep(5);
            }
            job.cancel(true);
            ExecutionException stopped = null;
            try {
                job.get();
            } catch (CancellationException expected) {
                // the future reports the cancel; what matters is that the worker stopped and freed its buffers
            } catch (ExecutionException e) {
                stopped = e;
            }
            pool.shutdown();
            assertTrue(pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS), "the worker thread stopped");
            assertTrue(stopped == null || stopped.getCause() instanceof CancellationException, String.valueOf(stopped));
            assertEquals(withWeights, HostMemory.liveBytes(), "every run's arena was closed");
        } finally {
            pool.shutdownNow();
        }
        assertEquals(base, HostMemory.liveBytes());
    }
}

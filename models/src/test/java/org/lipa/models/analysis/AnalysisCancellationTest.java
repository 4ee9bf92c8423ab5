package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.memory.HostMemory;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;

/**
 * A long analysis started on a worker thread (a Hessian density, a 2-D loss landscape) stops soon after
 * its future is cancelled, and every byte its steps allocated is freed.
 */
@Tag("cpu")
class AnalysisCancellationTest {
    /** Runs {@code job}, cancels it once {@code started} has counted a few steps, and checks it stopped and freed its memory. */
    private static void cancelMidway(AtomicInteger started, Consumer<AtomicInteger> job) throws Exception {
        long base = HostMemory.liveBytes();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try {
            Future<?> f = pool.submit(() -> job.accept(started));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (started.get() < 3 && !f.isDone() && System.nanoTime() < deadline) {
                Thread.sleep(2);
            }
            assertTrue(!f.isDone(), "the analysis must still be running when cancelled");
            f.cancel(true);
            pool.shutdown();
            assertTrue(pool.awaitTermination(20, TimeUnit.SECONDS), "the worker stopped");
            try {
                f.get();
            } catch (CancellationException expected) {
                // what a cancelled future reports
            } catch (ExecutionException e) {
                throw new AssertionError("the analysis failed instead of stopping", e);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(base, HostMemory.liveBytes(), "the cancelled analysis freed everything it allocated");
    }

    @Test
    void aHessianDensityAndATwoDimensionalLandscapeCanBeCancelled() throws Exception {
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofShared()) {
            Sequential mlp = Sequential.mlp(model, new Random(1), Activation.TANH, 2, 64, 64, 2);
            Dataset data = Synthetic.twoSpirals(512, 1.5, 0.02, 3);
            List<Tensor2> batches = List.of(Tensor2.of(model, data, 0), Tensor2.of(model, data, 1));
            ParameterLoss loss = ParameterLoss.of(cpu, mlp, batches.get(0).x().spec(), batches.get(0).y().spec(),
                    (ops, p, t) -> ops.crossEntropy(p, t));
            Hessian h = Hessian.of(loss, loss.current(), batches.stream().map(b -> new Hessian.Batch(b.x(), b.y())).toList());
            cancelMidway(new AtomicInteger(), started -> h.density(Hessian.Options.defaults().withSlq(50, 100)
                    .withProgress(s -> started.incrementAndGet())));

            Evaluation eval = Evaluation.classifier(cpu, model, mlp, data, 128, 2, 2);
            Weights at = eval.current();
            Random r = new Random(2);
            Weights d1 = Directions.filterNormalized(at, Directions.BiasPolicy.IGNORE, r);
            Weights d2 = Directions.filterNormalized(at, Directions.BiasPolicy.IGNORE, r);
            double[] grid = Landscape.grid(-1, 1, 201);
            cancelMidway(new AtomicInteger(), started -> Landscape.surface(eval, at, d1, d2, grid, grid,
                    (stage, done, total) -> started.incrementAndGet()));
        }
    }

    /** A batch of the spirals, owned by the model arena. */
    private record Tensor2(org.lipa.tensor.Tensor x, org.lipa.tensor.Tensor y) {
        static Tensor2 of(Arena arena, Dataset d, int b) {
            int[] order = new int[d.size()];
            for (int i = 0; i < order.length; i++) {
                order[i] = i;
            }
            org.lipa.tensor.Tensor[] xy = d.batch(arena, order, b * 128, 128);
            return new Tensor2(xy[0], xy[1]);
        }
    }
}

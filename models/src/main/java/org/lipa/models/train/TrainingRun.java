package org.lipa.models.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lipa.backend.Backend;
import org.lipa.models.data.Dataset;
import org.lipa.models.nn.Module;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Epochs of minibatch training of a classifier with cross-entropy, evaluation after each epoch, and
 * checkpoints that make a killed run resumable with nothing lost: epoch {@code e} visits the examples in
 * the order {@code train.shuffled(seed + e)}, the learning rate is {@code schedule.lr(step)}, and a
 * checkpoint holds the parameters, the buffers (running statistics, random keys), the optimizer's state
 * and step, and the position in the epoch; so a run resumed from a checkpoint repeats the uninterrupted
 * run bit for bit on the same backend. A last partial batch of each epoch is dropped (the step is traced
 * for one batch shape).
 *
 * <pre>{@code
 * var run = new TrainingRun(cpu, mlp, optimizer, Schedule.constant(1e-3), data.train(), data.test(), 128, 784);
 * List<TrainingRun.Epoch> history = run.fit(3, 0, Path.of("run.ckpt"), 100, TrainingRun.Listener.NONE);
 * }</pre>
 *
 * <p>Thread safety: not thread-safe; use one instance per thread.
 */
public final class TrainingRun {
    /** What one epoch gave. */
    public record Epoch(int epoch, double trainLoss, double testAccuracy, double seconds) {
    }

    /** Progress callbacks; throwing from one stops the run (the last checkpoint stays). */
    public interface Listener {
        Listener NONE = new Listener() {
        };

        default void step(int epoch, int batch, int batches, double loss) {
        }

        default void epoch(Epoch e) {
        }
    }

    private final Module module;
    private final Optimizer optimizer;
    private final Schedule schedule;
    private final Dataset train;
    private final Dataset test;
    private final int batch;
    private final long[] exampleDims;
    private final Trainer trainer;
    private final Evaluator evaluator;

    /**
     * @param exampleDims the shape one example is viewed as ({@code 784} for an MLP, {@code 1, 28, 28} for
     *                    a CNN); its size must be the data set's width
     */
    public TrainingRun(Backend backend, Module module, Optimizer optimizer, Schedule schedule, Dataset train, Dataset test,
            int batch, long... exampleDims) {
        if (batch <= 0 || batch > train.size()) {
            throw new IllegalArgumentException("batch must be in [1, " + train.size() + "], got " + batch);
        }
        long width = 1;
        for (long d : exampleDims) {
            width *= d;
        }
        if (width != train.width()) {
            throw new IllegalArgumentException("exampleDims " + java.util.Arrays.toString(exampleDims) + " hold " + width
                    + " values but the data's examples have " + train.width());
        }
        this.module = module;
        this.optimizer = optimizer;
        this.schedule = schedule;
        this.train = train;
        this.test = test;
        this.batch = batch;
        this.exampleDims = exampleDims;
        TensorSpec x = new TensorSpec(inputShape(), DType.F32);
        TensorSpec y = new TensorSpec(Shape.of(batch, train.classes()), DType.F32);
        this.trainer = new Trainer(backend, module, x, y, (ops, p, t) -> ops.crossEntropy(p, t), optimizer);
        this.evaluator = new Evaluator(backend, module, x);
    }

    private Shape inputShape() {
        long[] dims = new long[exampleDims.length + 1];
        dims[0] = batch;
        System.arraycopy(exampleDims, 0, dims, 1, exampleDims.length);
        return Shape.of(dims);
    }

    public Evaluator evaluator() {
        return evaluator;
    }

    /**
     * Trains until {@code epochs} epochs are done, starting from {@code checkpoint} when it exists and
     * saving it every {@code every} steps and at each epoch's end ({@code checkpoint} may be null: no
     * checkpoints). Returns the epochs run by this call.
     */
    public List<Epoch> fit(int epochs, long seed, Path checkpoint, int every, Listener listener) throws IOException {
        int startEpoch = 0;
        int startBatch = 0;
        if (checkpoint != null && Files.exists(checkpoint)) {
            Map<String, String> pos = Checkpoint.restore(checkpoint, module.state(), optimizer);
            if (!String.valueOf(seed).equals(pos.get("seed"))) {
                throw new IllegalArgumentException("checkpoint " + checkpoint + " was written with seed " + pos.get("seed")
                        + ", not " + seed);
            }
            startEpoch = Integer.parseInt(pos.get("epoch"));
            startBatch = Integer.parseInt(pos.get("batch"));
        }
        int batches = train.size() / batch;
        List<Epoch> history = new ArrayList<>();
        for (int e = startEpoch; e < epochs; e++) {
            long t0 = System.nanoTime();
            int[] order = train.shuffled(seed + e);
            double sum = 0;
            int n = 0;
            for (int b = e == startEpoch ? startBatch : 0; b < batches; b++) {
                optimizer.setLearningRate(schedule.lr(optimizer.steps()));
                double loss;
                try (Arena arena = Arena.ofConfined()) {
                    Tensor[] xy = train.batch(arena, order, b * batch, batch);
                    loss = trainer.step(xy[0].reshape(inputShape().toArray()), xy[1]);
                }
                sum += loss;
                n++;
                if (checkpoint != null && every > 0 && (optimizer.steps() % every == 0) && b + 1 < batches) {
                    save(checkpoint, seed, e, b + 1);
                }
                listener.step(e, b, batches, loss);
            }
            if (checkpoint != null) {
                save(checkpoint, seed, e + 1, 0);
            }
            Epoch done = new Epoch(e + 1, n == 0 ? Double.NaN : sum / n, test == null ? Double.NaN : evaluator.accuracy(test),
                    (System.nanoTime() - t0) / 1e9);
            history.add(done);
            listener.epoch(done);
        }
        return history;
    }

    private void save(Path checkpoint, long seed, int epoch, int batchIndex) throws IOException {
        Checkpoint.save(checkpoint, module.state(), optimizer,
                Map.of("seed", Long.toString(seed), "epoch", Integer.toString(epoch), "batch", Integer.toString(batchIndex)));
    }
}

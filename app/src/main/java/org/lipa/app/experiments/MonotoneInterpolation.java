package org.lipa.app.experiments;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.lipa.models.analysis.Evaluation;
import org.lipa.models.analysis.Landscape;
import org.lipa.models.analysis.Weights;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Mnist;
import org.lipa.models.data.Synthetic;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.optim.Schedule;
import org.lipa.app.report.Charts;
import org.lipa.models.train.TrainingRun;

/**
 * Goodfellow, Vinyals and Saxe (2015), "Qualitatively characterizing neural network optimization
 * problems": on the straight line {@code theta(alpha) = (1 - alpha) theta0 + alpha theta1} from the initial
 * weights {@code theta0} to the trained weights {@code theta1}, the training loss of an MNIST MLP falls
 * monotonically. The loss is sampled on a grid of alpha in [-0.5, 1.5] (step 0.05 in FULL, 0.1 in SMALL) on
 * a fixed set of training examples, and the claim holds when {@code L(1) < L(0)} and no step between
 * neighboring grid points in [0, 1] rises by more than 0.1% of the total fall {@code L(0) - L(1)} (float32
 * evaluation noise is far below that).
 *
 * <p>FULL: MLP 784-256-256-10 (ReLU), SGD with momentum 0.9 at learning rate 0.02, batch 128, 2 epochs on
 * the 60000 MNIST images, loss on 4096 training examples. SMALL: MLP 784-64-10 for one epoch on the first
 * 2048 images, loss on 512; when MNIST is not in the cache, SMALL uses two spirals (MLP 2-64-64-2, 20
 * epochs) and says so.
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class MonotoneInterpolation implements Experiment {
    /** A rise of at most this fraction of {@code L(0) - L(1)} between grid neighbors still counts as monotone. */
    public static final double TOLERANCE = 1e-3;

    @Override
    public String name() {
        return "monotone-interpolation";
    }

    @Override
    public String claim() {
        return "The loss of an MNIST MLP along the straight line from its initial to its trained weights decreases monotonically "
                + "(Goodfellow et al., 2015).";
    }

    @Override
    public Result run(Context context) {
        boolean full = context.size() == Size.FULL;
        Dataset train;
        Dataset test;
        String task;
        int[] widths;
        int epochs;
        long[] dims;
        try {
            Path cache = Mnist.cacheDirectory();
            if (full || Mnist.present(cache)) {
                Mnist.Split s = Mnist.load(full ? Mnist.obtain(cache) : cache);
                train = full ? s.train() : s.train().subset(first(2048));
                test = full ? s.test() : s.test().subset(first(1024));
                task = full ? "MNIST (60000 images)" : "MNIST (first 2048 images)";
                widths = full ? new int[] {784, 256, 256, 10} : new int[] {784, 64, 10};
                epochs = full ? 2 : 1;
                dims = new long[] {784};
            } else {
                train = Synthetic.twoSpirals(1000, 1.5, 0.02, context.seed());
                test = Synthetic.twoSpirals(500, 1.5, 0.02, context.seed() + 1);
                task = "two spirals (MNIST is not in " + cache + ")";
                widths = new int[] {2, 64, 64, 2};
                epochs = 20;
                dims = new long[] {2};
            }
        } catch (IOException e) {
            throw new UncheckedIOException("monotone-interpolation: cannot read MNIST", e);
        }
        int batch = dims[0] == 2 ? 64 : 128;
        double lr = dims[0] == 2 ? 0.1 : 0.02;
        int evalBatch = 256;
        int evalBatches = full ? 16 : 2;
        long t0 = System.nanoTime();
        try (Arena arena = Arena.ofShared()) {
            Module net = Sequential.mlp(arena, new Random(context.seed()), Activation.RELU, widths);
            // fixed evaluation sets drawn at random (the spirals are stored class by class)
            Evaluation onTrain = Evaluation.classifier(context.backend(), arena, net, train.subset(train.shuffled(context.seed() + 7)),
                    evalBatch, evalBatches, dims);
            Evaluation onTest = Evaluation.classifier(context.backend(), arena, net, test.subset(test.shuffled(context.seed() + 8)),
                    evalBatch, evalBatches, dims);
            Weights theta0 = onTrain.current();
            Optimizer opt = Optimizer.sgd(List.copyOf(net.parameters().values()), arena, lr, 0.9, false, 0);
            TrainingRun run = new TrainingRun(context.backend(), net, opt, Schedule.constant(lr), train, test, batch, dims);
            List<TrainingRun.Epoch> history = run.fit(epochs, context.seed(), null, 0, new TrainingRun.Listener() {
                @Override
                public void epoch(TrainingRun.Epoch e) {
                    context.progress().accept(String.format(Locale.ROOT, "epoch %d: train loss %.4f, test accuracy %.2f%%", e.epoch(),
                            e.trainLoss(), 100 * e.testAccuracy()));
                }
            });
            double trainSeconds = (System.nanoTime() - t0) / 1e9;
            Weights theta1 = onTrain.current();
            double[] alphas = Landscape.grid(-0.5, 1.5, full ? 41 : 21);
            Landscape.Progress progress = (stage, done, total) -> {
                if (done == total) {
                    context.progress().accept("interpolation: " + total + " points");
                }
            };
            Landscape.Curve trainCurve = Landscape.line(onTrain, theta0, theta1, alphas, progress);
            Landscape.Curve testCurve = Landscape.line(onTest, theta0, theta1, alphas, progress);
            Landscape.Curve inside = Landscape.restrict(trainCurve, 0, 1);
            double l0 = inside.loss()[0];
            double l1 = inside.loss()[inside.loss().length - 1];
            double rise = Landscape.largestRise(inside.loss());
            double tol = TOLERANCE * (l0 - l1);
            boolean holds = l1 < l0 && rise <= tol;
            Path png = context.outputDir().resolve("monotone-interpolation.png");
            Charts.line(png, "Loss from initial (alpha 0) to trained (alpha 1) weights, " + task, "alpha", "cross-entropy",
                    Charts.Scale.LINEAR, List.of(new Charts.Series("training examples", alphas, trainCurve.loss()),
                            new Charts.Series("test examples", alphas, testCurve.loss())));
            Map<String, Object> figures = new LinkedHashMap<>();
            figures.put("task", task);
            figures.put("widths", widths);
            figures.put("epochs", epochs);
            figures.put("optimizer", "SGD, momentum 0.9, lr " + lr + ", batch " + batch);
            figures.put("evalExamples", evalBatch * evalBatches);
            figures.put("alpha", alphas);
            figures.put("trainLoss", trainCurve.loss());
            figures.put("trainAccuracy", trainCurve.accuracy());
            figures.put("testLoss", testCurve.loss());
            figures.put("testAccuracy", testCurve.accuracy());
            figures.put("loss0", l0);
            figures.put("loss1", l1);
            figures.put("largestRiseOn01", rise);
            figures.put("tolerance", tol);
            figures.put("finalTestAccuracy", history.get(history.size() - 1).testAccuracy());
            figures.put("trainSeconds", trainSeconds);
            figures.put("seconds", (System.nanoTime() - t0) / 1e9);
            String evidence = String.format(Locale.ROOT,
                    "%s, MLP %s: training loss on the line falls from %.4f at alpha 0 to %.4f at alpha 1 (test accuracy %.1f%%); "
                            + "largest rise between neighbors on [0, 1] %.2e against a tolerance of %.2e (0.1%% of the fall): %s.",
                    task, join(widths), l0, l1, 100 * history.get(history.size() - 1).testAccuracy(), rise, tol,
                    holds ? "monotone" : "not monotone");
            return new Result(name(), claim(), holds, evidence, figures, List.of(png));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[] first(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }

    private static String join(int[] widths) {
        StringBuilder b = new StringBuilder();
        for (int w : widths) {
            b.append(b.isEmpty() ? "" : "-").append(w);
        }
        return b.toString();
    }
}

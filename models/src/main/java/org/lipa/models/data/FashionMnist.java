package org.lipa.models.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Fashion-MNIST (Zalando's 28x28 grey images of clothing in 10 classes, 60000 for training and 10000 for
 * testing) from local IDX files, with no network access in code. Debian's package
 * {@code dataset-fashion-mnist} installs the four files, gzipped, in {@link #defaultDirectory()}; any
 * other folder holding them, plain or gzipped, works too. The files have the same names and layout as
 * MNIST's ({@link Mnist#FILES}).
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class FashionMnist {
    /** The Debian package that carries the files. */
    public static final String PACKAGE = "dataset-fashion-mnist";
    /** Pixel mean of the training set, after scaling to [0, 1]. */
    public static final double MEAN = 0.2860;
    /** Pixel standard deviation of the training set, after scaling to [0, 1]. */
    public static final double STD = 0.3530;
    /** The names of the classes, indexed by label. */
    public static final List<String> CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
            "Shirt", "Sneaker", "Bag", "Ankle boot");

    private FashionMnist() {
    }

    /** Where {@code apt-get install dataset-fashion-mnist} puts the files: {@code /usr/share/datasets/fashion-mnist}. */
    public static Path defaultDirectory() {
        return Path.of("/usr/share/datasets/fashion-mnist");
    }

    /** Whether {@code dir} holds the four IDX files, each plain or with a {@code .gz} suffix. */
    public static boolean present(Path dir) {
        return Mnist.FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)) || Files.isRegularFile(dir.resolve(f + ".gz")));
    }

    /**
     * Reads the train and test sets from {@code dir}, pixels scaled to [0, 1] and standardized with
     * Fashion-MNIST's {@link #MEAN} 0.2860 and {@link #STD} 0.3530; 10 classes named by {@link #CLASSES}.
     *
     * @throws IOException saying how to get the files when {@code dir} does not hold them, or naming the file
     *                     that is malformed
     */
    public static Mnist.Split load(Path dir) throws IOException {
        if (!present(dir)) {
            throw new IOException(missing(dir));
        }
        return Mnist.read(dir, MEAN, STD);
    }

    /** What to do when {@code dir} lacks the files (for messages such as {@code lipa data}'s). */
    public static String missing(Path dir) {
        List<String> absent = Mnist.FILES.stream()
                .filter(f -> !Files.isRegularFile(dir.resolve(f)) && !Files.isRegularFile(dir.resolve(f + ".gz"))).toList();
        return "Fashion-MNIST is not in " + dir + " (missing " + absent + ", plain or .gz): install it with 'apt-get install "
                + PACKAGE + "' (which puts it in " + defaultDirectory() + "), or pass a folder that holds " + Mnist.FILES;
    }
}

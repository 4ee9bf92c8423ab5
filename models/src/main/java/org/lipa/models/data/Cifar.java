package org.lipa.models.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The CIFAR binary format: fixed-size records of label byte(s) followed by 3072 pixel bytes (1024 red,
 * 1024 green, 1024 blue, each 32x32 row-major). CIFAR-10 has one label byte; CIFAR-100 two (coarse,
 * fine; the fine label is used). Pixels are scaled to [0, 1] and standardized per channel.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Cifar {
    /** Pixel bytes per record: 3 channels of 32x32. */
    public static final int PIXELS = 3 * 32 * 32;

    private Cifar() {
    }

    /** CIFAR-10's per-channel means (of the training set, as commonly used). */
    public static final double[] MEAN10 = {0.4914, 0.4822, 0.4465};
    /** CIFAR-10's per-channel standard deviations (of the training set, as commonly used). */
    public static final double[] STD10 = {0.2470, 0.2435, 0.2616};

    /**
     * Reads the records of one or more batch files.
     *
     * @param labelBytes 1 for CIFAR-10, 2 for CIFAR-100
     * @throws IOException naming the file if its size is not a whole number of records or a label is out of range
     */
    public static Dataset read(List<Path> files, int labelBytes, int classes, double[] mean, double[] std) throws IOException {
        if (labelBytes != 1 && labelBytes != 2) {
            throw new IllegalArgumentException("labelBytes must be 1 (CIFAR-10) or 2 (CIFAR-100), got " + labelBytes);
        }
        int record = labelBytes + PIXELS;
        long total = 0;
        for (Path f : files) {
            long size = Files.size(f);
            if (size % record != 0) {
                throw new IOException(f + ": " + size + " bytes is not a whole number of " + record + "-byte records");
            }
            total += size / record;
        }
        if (total * PIXELS > Integer.MAX_VALUE - 8) {
            throw new IOException("too many records: " + total);
        }
        float[] x = new float[(int) total * PIXELS];
        int[] y = new int[(int) total];
        int n = 0;
        for (Path f : files) {
            byte[] all = Files.readAllBytes(f);
            for (int off = 0; off < all.length; off += record, n++) {
                int label = all[off + labelBytes - 1] & 0xff;
                if (label >= classes) {
                    throw new IOException(f + ": record " + (off / record) + " has label " + label + ", outside [0, " + classes + ")");
                }
                y[n] = label;
                for (int i = 0; i < PIXELS; i++) {
                    int c = i / 1024;
                    x[n * PIXELS + i] = (float) (((all[off + labelBytes + i] & 0xff) / 255.0 - mean[c]) / std[c]);
                }
            }
        }
        return new Dataset(x, PIXELS, y, classes);
    }
}

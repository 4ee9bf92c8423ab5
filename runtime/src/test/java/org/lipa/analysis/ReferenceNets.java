package org.lipa.analysis;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import us.hebi.matlab.mat.format.Mat5;
import us.hebi.matlab.mat.format.Mat5File;
import us.hebi.matlab.mat.types.Cell;
import us.hebi.matlab.mat.types.Matrix;

/** The networks the Lipschitz tests use: LipSDP's two published examples and seeded random nets. */
final class ReferenceNets {
    private ReferenceNets() {
    }

    /** LipSDP's MNIST 784-50-10 ReLU network, no biases. */
    static FeedForward lipSdpMnist() {
        return lipSdp("mnist_weights.mat");
    }

    /** LipSDP's random 2-10-30-20-2 ReLU network (positive weights), no biases. */
    static FeedForward lipSdpRandom() {
        return lipSdp("random_weights.mat");
    }

    private static FeedForward lipSdp(String name) {
        try (InputStream in = ReferenceNets.class.getResourceAsStream("/lipsdp/" + name)) {
            if (in == null) {
                throw new IllegalStateException("test resource /lipsdp/" + name + " is missing");
            }
            Path tmp = Files.createTempFile("lipsdp", ".mat");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                try (Mat5File mat = Mat5.readFromFile(tmp.toFile())) {
                    Cell cell = mat.getCell("weights");
                    List<double[][]> weights = new ArrayList<>();
                    for (int l = 0; l < cell.getNumElements(); l++) {
                        Matrix m = cell.getMatrix(l);
                        double[][] w = new double[m.getNumRows()][m.getNumCols()];
                        for (int i = 0; i < w.length; i++) {
                            for (int j = 0; j < w[i].length; j++) {
                                w[i][j] = m.getDouble(i, j);
                            }
                        }
                        weights.add(w);
                    }
                    return FeedForward.of(weights, null, Nonlinearity.RELU);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A seeded random network: Gaussian weights with variance {@code gain^2 / fanIn} and Gaussian biases of
     * standard deviation {@code biasScale}.
     */
    static FeedForward random(long seed, Nonlinearity activation, double gain, double biasScale, int... widths) {
        Random rnd = new Random(seed);
        List<double[][]> w = new ArrayList<>();
        List<double[]> b = new ArrayList<>();
        for (int l = 0; l + 1 < widths.length; l++) {
            double[][] m = new double[widths[l + 1]][widths[l]];
            double scale = gain / Math.sqrt(widths[l]);
            for (double[] row : m) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = scale * rnd.nextGaussian();
                }
            }
            double[] bias = new double[widths[l + 1]];
            for (int i = 0; i < bias.length; i++) {
                bias[i] = biasScale * rnd.nextGaussian();
            }
            w.add(m);
            b.add(bias);
        }
        return FeedForward.of(w, b, activation);
    }
}

package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FashionMnistTest {
    @TempDir
    Path dir;

    private static byte[] idx(int[] dims, byte[] data) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeInt(0x0800 | dims.length);
        for (int dim : dims) {
            d.writeInt(dim);
        }
        d.write(data);
        return b.toByteArray();
    }

    private static void write(Path file, byte[] content, boolean gzip) throws IOException {
        if (gzip) {
            try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(file.resolveSibling(file.getFileName() + ".gz")))) {
                o.write(content);
            }
        } else {
            Files.write(file, content);
        }
    }

    /** Three 2x2 training images (gzipped, as Debian ships them) and two test images (plain). */
    private Path smallSet(Path folder) throws IOException {
        Files.createDirectories(folder);
        write(folder.resolve("train-images-idx3-ubyte"), idx(new int[] {3, 2, 2}, new byte[] {
                (byte) 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 128}), true);
        write(folder.resolve("train-labels-idx1-ubyte"), idx(new int[] {3}, new byte[] {9, 0, 4}), true);
        write(folder.resolve("t10k-images-idx3-ubyte"), idx(new int[] {2, 2, 2}, new byte[8]), false);
        write(folder.resolve("t10k-labels-idx1-ubyte"), idx(new int[] {2}, new byte[] {1, 8}), false);
        return folder;
    }

    @Test
    void readsGzippedAndPlainIdxFilesStandardized() throws IOException {
        Path f = smallSet(dir.resolve("fashion"));
        assertTrue(FashionMnist.present(f));
        Mnist.Split s = FashionMnist.load(f);
        assertEquals(3, s.train().size());
        assertEquals(2, s.test().size());
        assertEquals(4, s.train().width());
        assertEquals(10, s.train().classes());
        assertArrayEquals(new int[] {9, 0, 4}, s.train().labels());
        assertArrayEquals(new int[] {1, 8}, s.test().labels());
        assertEquals((1 - 0.2860) / 0.3530, s.train().features()[0], 1e-6);
        assertEquals((0 - 0.2860) / 0.3530, s.train().features()[1], 1e-6);
        assertEquals((128 / 255.0 - 0.2860) / 0.3530, s.train().features()[11], 1e-6);
        assertEquals("Ankle boot", FashionMnist.CLASSES.get(s.train().labels()[0]));
    }

    @Test
    void missingFilesSayHowToGetThem() throws IOException {
        assertFalse(FashionMnist.present(dir));
        String m = assertThrows(IOException.class, () -> FashionMnist.load(dir)).getMessage();
        assertTrue(m.contains("apt-get install dataset-fashion-mnist") && m.contains(dir.toString()), m);
        Path f = smallSet(dir.resolve("partial"));
        Files.delete(f.resolve("t10k-labels-idx1-ubyte"));
        assertFalse(FashionMnist.present(f));
        m = assertThrows(IOException.class, () -> FashionMnist.load(f)).getMessage();
        assertTrue(m.contains("missing [t10k-labels-idx1-ubyte]"), m);
    }

    @Test
    void malformedFilesAreNamed() throws IOException {
        Path f = smallSet(dir.resolve("bad"));
        Files.write(f.resolve("t10k-images-idx3-ubyte"), idx(new int[] {2, 2, 2}, new byte[7]));
        String m = assertThrows(IOException.class, () -> FashionMnist.load(f)).getMessage();
        assertTrue(m.contains("t10k-images-idx3-ubyte"), m);
    }

    @Test
    void readsTheDebianPackageWhenInstalled() throws IOException {
        Path d = FashionMnist.defaultDirectory();
        Assumptions.assumeTrue(FashionMnist.present(d), "apt-get install dataset-fashion-mnist to run this test");
        Mnist.Split s = FashionMnist.load(d);
        assertEquals(60000, s.train().size());
        assertEquals(10000, s.test().size());
        assertEquals(28 * 28, s.train().width());
        int[] train = new int[10];
        int[] test = new int[10];
        for (int l : s.train().labels()) {
            train[l]++;
        }
        for (int l : s.test().labels()) {
            test[l]++;
        }
        for (int c = 0; c < 10; c++) {
            assertEquals(6000, train[c], "training images of class " + c);
            assertEquals(1000, test[c], "test images of class " + c);
        }
        // the constants standardize the training set: mean 0 and standard deviation 1, to the digits given
        double sum = 0;
        double sumSq = 0;
        for (float v : s.train().features()) {
            sum += v;
            sumSq += (double) v * v;
        }
        int n = s.train().features().length;
        double mean = sum / n;
        double std = Math.sqrt(sumSq / n - mean * mean);
        assertEquals(0, mean, 1e-3);
        assertEquals(1, std, 1e-3);
    }
}

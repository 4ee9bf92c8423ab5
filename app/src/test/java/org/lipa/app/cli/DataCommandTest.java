package org.lipa.app.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code lipa data} (moved from the models' FashionMnistTest, which keeps the reader; the small IDX set is copied from it). */
class DataCommandTest {
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

    private static String[] capture(Runnable r) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
        try {
            r.run();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8)};
    }

    @Test
    void lipaDataReportsFashionMnist() throws IOException {
        Path f = smallSet(dir.resolve("cli"));
        int[] code = new int[1];
        String[] io = capture(() -> code[0] = Main.run("data", "fashion-mnist", "--dir", f.toString()));
        assertEquals(0, code[0], io[1]);
        assertTrue(io[0].contains("Fashion-MNIST in " + f + ": 3 training and 2 test images of 4 pixels"), io[0]);
        Path empty = Files.createDirectories(dir.resolve("empty"));
        io = capture(() -> code[0] = Main.run("data", "fashion-mnist", "--dir", empty.toString()));
        assertEquals(1, code[0]);
        assertTrue(io[1].contains("apt-get install dataset-fashion-mnist"), io[1]);
        io = capture(() -> code[0] = Main.run("data", "cifar"));
        assertEquals(2, code[0]);
        assertTrue(io[1].contains("known: mnist, fashion-mnist"), io[1]);
    }
}

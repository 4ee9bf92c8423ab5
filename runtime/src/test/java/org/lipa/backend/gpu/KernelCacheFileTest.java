package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cubin cache's file format, which needs no GPU: what is written reads back whole, and a file that is missing,
 * short, cut, extended or changed in any byte reads as absent, so it is compiled again and never given to the driver.
 */
class KernelCacheFileTest {
    @Test
    void onlyWholeFilesReadBack(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("sub/k.cubin");
        assertNull(Kernels.readCache(file), "missing");
        byte[] cubin = new byte[5000];
        new Random(1).nextBytes(cubin);
        Kernels.writeCache(file, cubin);
        assertArrayEquals(cubin, Kernels.readCache(file));
        byte[] whole = Files.readAllBytes(file);
        try (var files = Files.list(file.getParent())) {
            assertArrayEquals(new Object[] {file}, files.toArray(), "no temporary file is left behind");
        }
        for (int cut : new int[] {0, 1, 32, 33, whole.length / 3, whole.length - 1}) {
            Files.write(file, Arrays.copyOf(whole, cut));
            assertNull(Kernels.readCache(file), "cut to " + cut + " bytes");
        }
        Files.write(file, Arrays.copyOf(whole, whole.length + 1));
        assertNull(Kernels.readCache(file), "one byte added");
        Random r = new Random(2);
        for (int trial = 0; trial < 50; trial++) {
            byte[] changed = whole.clone();
            int at = r.nextInt(changed.length);
            changed[at] ^= (byte) (1 << r.nextInt(8));
            Files.write(file, changed);
            assertNull(Kernels.readCache(file), "bit flipped at byte " + at);
        }
        Kernels.writeCache(file, cubin);
        assertArrayEquals(cubin, Kernels.readCache(file), "rewritten whole");
    }
}

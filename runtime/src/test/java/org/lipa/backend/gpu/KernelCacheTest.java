package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.ops.Eager;
import org.lipa.tensor.Tensor;

/** The on-disk cubin cache: a file the driver refuses is deleted, compiled again and rewritten, and the backend works. */
@Tag("gpu")
@EnabledIf("gpuPresent")
class KernelCacheTest {
    static boolean gpuPresent() {
        return GpuBackend.isAvailable();
    }

    @Test
    void aDamagedCacheFileIsCompiledAgain(@TempDir Path dir) throws Exception {
        String before = System.getProperty("lipa.cache.dir");
        System.setProperty("lipa.cache.dir", dir.toString());
        try {
            Path file;
            try (GpuBackend gpu = GpuBackend.open()) {
                file = Kernels.cacheFile(Kernels.source(), Kernels.options(gpu.kernels().arch()));
            }
            byte[] good = Files.readAllBytes(file);
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(good, 4), "the first open cached a cubin");
            // damaged two ways: not an image at all, then a cubin cut short
            for (byte[] damaged : new byte[][] {"not a cubin".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(good, good.length / 3)}) {
                Files.write(file, damaged);
                try (GpuBackend gpu = GpuBackend.open(); Arena a = Arena.ofConfined()) {
                    Tensor x = gpu.toDevice(Tensor.of(a, new float[] {-1, 2, -3, 4}, 2, 2), a);
                    assertArrayEquals(new float[] {0, 2, 0, 4}, new Eager(gpu, a).relu(x).toFloatArray());
                }
                byte[] now = Files.readAllBytes(file);
                assertFalse(Arrays.equals(damaged, now), "the damaged file was replaced");
                assertEquals(good.length, now.length, "by a fresh compile of the same source");
            }
        } finally {
            if (before == null) {
                System.clearProperty("lipa.cache.dir");
            } else {
                System.setProperty("lipa.cache.dir", before);
            }
        }
    }
}

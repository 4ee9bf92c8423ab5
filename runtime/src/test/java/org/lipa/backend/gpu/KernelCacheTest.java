package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.eval.Eager;
import org.lipa.tensor.Tensor;

/**
 * The on-disk cubin cache on a GPU: a damaged file is compiled again and rewritten, and the backend works. Files whose
 * digest is wrong never reach the driver ({@link KernelCacheFileTest}); one with a right digest but bytes the driver
 * refuses is deleted after the driver says so.
 */
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
            byte[] good = Kernels.readCache(file);
            assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, Arrays.copyOf(good, 4), "the first open cached a cubin");
            byte[] garbage = "not a cubin".getBytes(StandardCharsets.US_ASCII);
            Runnable[] damage = {
                () -> write(file, garbage), // no digest
                () -> write(file, Arrays.copyOf(Files.exists(file) ? read(file) : good, good.length / 3)), // cut short
                () -> {
                    try {
                        Kernels.writeCache(file, garbage); // a right digest over bytes the driver refuses
                    } catch (java.io.IOException e) {
                        throw new java.io.UncheckedIOException(e);
                    }
                },
            };
            for (Runnable d : damage) {
                d.run();
                try (GpuBackend gpu = GpuBackend.open(); Arena a = Arena.ofConfined()) {
                    Tensor x = gpu.toDevice(Tensor.of(a, new float[] {-1, 2, -3, 4}, 2, 2), a);
                    assertArrayEquals(new float[] {0, 2, 0, 4}, new Eager(gpu, a).relu(x).toFloatArray());
                }
                assertArrayEquals(good, Kernels.readCache(file), "the damaged file was replaced by a fresh compile");
            }
        } finally {
            if (before == null) {
                System.clearProperty("lipa.cache.dir");
            } else {
                System.setProperty("lipa.cache.dir", before);
            }
        }
    }

    private static void write(Path file, byte[] bytes) {
        try {
            Files.write(file, bytes);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static byte[] read(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIf;

/**
 * Where there is no usable GPU (CI), opening the GPU backend fails with a Java exception that says what
 * is missing: never a crash, never an UnsatisfiedLinkError. The library search honours the configured
 * folder first.
 */
class GpuAbsentTest {
    static boolean gpuPresent() {
        return GpuBackend.isAvailable();
    }

    @Test
    @DisabledIf("gpuPresent")
    void openingWithoutAGpuThrowsAClearException() {
        RuntimeException e = assertThrows(RuntimeException.class, GpuBackend::open);
        assertTrue(e instanceof CudaException || e instanceof IllegalArgumentException, e.toString());
        String m = e.getMessage();
        assertTrue(m.contains("cannot find") || m.contains("CUDA devices") || m.contains("failed"), m);
        assertFalse(GpuBackend.isAvailable());
    }

    @Test
    void theConfiguredFolderIsSearchedFirst() {
        String before = System.getProperty(CudaLibraries.PATH_PROPERTY);
        try {
            System.setProperty(CudaLibraries.PATH_PROPERTY, System.getProperty("java.io.tmpdir"));
            assertTrue(CudaLibraries.searchPath().get(0).equals(Path.of(System.getProperty("java.io.tmpdir"))),
                    CudaLibraries.searchPath().toString());
        } finally {
            if (before == null) {
                System.clearProperty(CudaLibraries.PATH_PROPERTY);
            } else {
                System.setProperty(CudaLibraries.PATH_PROPERTY, before);
            }
        }
    }
}

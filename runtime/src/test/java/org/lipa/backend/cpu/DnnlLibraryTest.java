package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading oneDNN, rejecting broken libraries with a message instead of a crash, the status check, and a
 * smoke test of the bindings. Tests that only inspect files need no loaded library and run everywhere
 * the dnnl jar is on the class path; those that load it are tagged {@code cpu}.
 */
class DnnlLibraryTest {
    @TempDir
    Path tmp;

    @Test
    @Tag("cpu")
    void loadsOneDnn3AndIsIdempotent() {
        DnnlLibrary.ensureLoaded();
        DnnlLibrary.ensureLoaded();
        assertTrue(DnnlLibrary.version().matches("3\\.\\d+\\.\\d+( \\(.+\\))?"), DnnlLibrary.version());
        assertTrue(Files.isRegularFile(DnnlLibrary.path()), DnnlLibrary.path().toString());
    }

    @Test
    @Tag("cpu")
    void createsAndDestroysAnEngineAndStream() {
        DnnlLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Dnnl.check(dnnl_engine_create(out, dnnl_cpu(), 0), "dnnl_engine_create");
            MemorySegment engine = out.get(ValueLayout.ADDRESS, 0);
            Dnnl.check(dnnl_stream_create(out, engine, dnnl_stream_default_flags()), "dnnl_stream_create");
            MemorySegment stream = out.get(ValueLayout.ADDRESS, 0);
            Dnnl.check(dnnl_stream_wait(stream), "dnnl_stream_wait");
            Dnnl.check(dnnl_stream_destroy(stream), "dnnl_stream_destroy");
            Dnnl.check(dnnl_engine_destroy(engine), "dnnl_engine_destroy");
        }
    }

    @Test
    @Tag("cpu")
    void sgemmMultipliesRowMajorMatrices() {
        DnnlLibrary.ensureLoaded();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment a = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 2, 3, 4, 5, 6); // 2x3
            MemorySegment b = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 1, 0, 0, 1, 1, 1); // 3x2
            MemorySegment c = arena.allocate(ValueLayout.JAVA_FLOAT, 4);
            Dnnl.check(dnnl_sgemm((byte) 'N', (byte) 'N', 2, 2, 3, 1f, a, 3, b, 2, 0f, c, 2), "dnnl_sgemm");
            assertArrayEquals(new float[] {4, 5, 10, 11}, c.toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    @Tag("cpu")
    void aFailingCallNamesTheCallAndTheStatus() {
        DnnlLibrary.ensureLoaded();
        DnnlException e = assertThrows(DnnlException.class, () -> Dnnl.check(
                dnnl_engine_create(MemorySegment.NULL, dnnl_cpu(), 0), "dnnl_engine_create"));
        assertEquals(dnnl_invalid_arguments(), e.status());
        assertTrue(e.getMessage().startsWith("dnnl_engine_create failed: dnnl_invalid_arguments"), e.getMessage());
    }

    @Test
    void checkMapsStatusesToNamesAndMeanings() {
        assertDoesNotThrow(() -> Dnnl.check(dnnl_success(), "dnnl_sgemm"));
        DnnlException oom = assertThrows(DnnlException.class,
                () -> Dnnl.check(dnnl_out_of_memory(), "dnnl_primitive_create"));
        assertEquals("dnnl_primitive_create failed: dnnl_out_of_memory (oneDNN could not allocate memory"
                + " (scratchpad, workspace or a JIT kernel))", oom.getMessage());
        assertEquals(dnnl_out_of_memory(), oom.status());
        assertMessage(() -> Dnnl.check(dnnl_unimplemented(), "dnnl_matmul_primitive_desc_create"),
                "dnnl_matmul_primitive_desc_create failed: dnnl_unimplemented (no implementation");
        assertMessage(() -> Dnnl.check(12345, "dnnl_sum_primitive_desc_create"), "unknown oneDNN status 12345");
        assertEquals("dnnl_invalid_arguments", Dnnl.statusName(dnnl_invalid_arguments()));
        assertEquals("dnnl_runtime_error", Dnnl.statusName(5));
    }

    @Test
    void rejectsAMissingFile() {
        Path missing = tmp.resolve("nope/libdnnl.so.3");
        assertRejected(missing, "does not exist");
        assertRejected(tmp, "not a readable regular file");
    }

    @Test
    void rejectsGarbageAndNonElfFiles() throws IOException {
        byte[] noise = new byte[8192];
        new Random(7).nextBytes(noise);
        noise[0] = 0; // never the ELF magic by chance
        assertRejected(Files.write(tmp.resolve("garbage.so"), noise), "is not an ELF file");
        // A linker script is what some distributions install as lib*.so: text, not a library.
        assertRejected(Files.writeString(tmp.resolve("libdnnl.so"), "INPUT(libdnnl.so.3)\n"), "is not an ELF file");
        assertRejected(Files.write(tmp.resolve("empty.so"), new byte[0]), "is not an ELF file");
        assertRejected(Files.write(tmp.resolve("stub.so"), new byte[] {0x7f, 'E', 'L', 'F', 2, 1}), "truncated");
    }

    @Test
    void rejectsTruncatedCopiesOfTheLibrary() throws IOException {
        byte[] whole;
        try (InputStream in = bundled(DnnlLibrary.DNNL)) {
            whole = in.readAllBytes();
        }
        for (int keep : new int[] {whole.length - 1, whole.length / 2, 4096, 100}) {
            Path cut = tmp.resolve("cut-" + keep + ".so");
            try (var out = Files.newOutputStream(cut)) {
                out.write(whole, 0, keep);
            }
            assertRejected(cut, "is truncated or corrupt");
        }
    }

    @Test
    @Tag("cpu")
    void rejectsAnElfLibraryThatIsNotOneDnn() {
        // libjava is already mapped by this JVM, so opening it again has no side effect.
        Path libjava = Path.of(System.getProperty("java.home"), "lib", "libjava.so");
        assertRejected(libjava, "does not export dnnl_version");
    }

    @Test
    void extractsOnceThenReusesAndRepairsTheCache() throws Exception {
        Path dir = tmp.resolve("cache");
        Path gomp = DnnlLibrary.extract(dir, DnnlLibrary.GOMP);
        long size = bundledSize(DnnlLibrary.GOMP);
        assertEquals(size, Files.size(gomp));
        String record = Files.readString(dir.resolve(DnnlLibrary.GOMP + ".sha256"));
        assertTrue(record.matches("(?s).*sha256=[0-9a-f]{64}\nsize=" + size + "\n"), record);

        FileTime old = FileTime.fromMillis(0);
        Files.setLastModifiedTime(gomp, old);
        assertEquals(gomp, DnnlLibrary.extract(dir, DnnlLibrary.GOMP));
        assertEquals(old, Files.getLastModifiedTime(gomp), "a good cached copy is reused, not rewritten");

        Files.write(gomp, new byte[] {0x7f, 'E', 'L', 'F'}); // corrupted: size no longer matches
        DnnlLibrary.extract(dir, DnnlLibrary.GOMP);
        assertEquals(size, Files.size(gomp));
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "no temporary files left behind");
        }
    }

    @Test
    void racingExtractionsAllSeeAWholeFile() throws Exception {
        Path dir = tmp.resolve("race");
        long expected = bundledSize(DnnlLibrary.GOMP);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            Callable<Long> job = () -> Files.size(DnnlLibrary.extract(dir, DnnlLibrary.GOMP));
            List<Future<Long>> futures = Stream.generate(() -> pool.submit(job)).limit(8).toList();
            for (Future<Long> f : futures) {
                assertEquals(expected, f.get());
            }
        } finally {
            pool.shutdown();
        }
        try (var files = Files.list(dir)) {
            assertEquals(2, files.count(), "the library and its record, no temporary files");
        }
    }

    @Test
    void cacheDirectoryIsVersionedAndOverridable() {
        assertEquals(Path.of("/c/native/dnnl-1.2"), DnnlLibrary.cacheDirectory("/c", "/x", "/h", "1.2"));
        assertEquals(Path.of("/x/lipa/native/dnnl-1.2"), DnnlLibrary.cacheDirectory(null, "/x", "/h", "1.2"));
        assertEquals(Path.of("/h/.cache/lipa/native/dnnl-1.2"), DnnlLibrary.cacheDirectory("", null, "/h", "1.2"));
        assertTrue(DnnlLibrary.artifactVersion().startsWith("3."), DnnlLibrary.artifactVersion());
    }

    private static InputStream bundled(String name) {
        InputStream in = DnnlLibrary.class.getClassLoader().getResourceAsStream(DnnlLibrary.RESOURCE_DIR + name);
        assertTrue(in != null, "the dnnl jar is on the test class path");
        return in;
    }

    private static long bundledSize(String name) throws IOException {
        try (InputStream in = bundled(name)) {
            return in.transferTo(OutputStream.nullOutputStream());
        }
    }

    private static void assertRejected(Path library, String why) {
        for (Consumer<Path> attempt : List.<Consumer<Path>>of(DnnlLibrary::verify,
                p -> DnnlLibrary.load(p, null))) {
            DnnlException e = assertThrows(DnnlException.class, () -> attempt.accept(library));
            assertTrue(e.getMessage().contains(library.toString()), e.getMessage());
            assertTrue(e.getMessage().contains(why), e.getMessage());
            assertEquals(DnnlException.NO_STATUS, e.status());
        }
    }

    private static void assertMessage(Executable call, String start) {
        DnnlException e = assertThrows(DnnlException.class, call);
        assertTrue(e.getMessage().contains(start), e.getMessage());
    }
}

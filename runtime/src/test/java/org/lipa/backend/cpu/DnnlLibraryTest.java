package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding, extracting and verifying the oneDNN library; a bad library is an exception, never a crash. */
@Tag("cpu")
class DnnlLibraryTest {
    @TempDir
    Path dir;

    @Test
    void loadsVersion3() {
        assertTrue(DnnlLibrary.version().startsWith("3."), DnnlLibrary.version());
    }

    @Test
    void extractionIsReusedAndRepairedWhenTruncated() throws IOException {
        Path lib = DnnlLibrary.extract(dir, "libgomp.so.1");
        long size = Files.size(lib);
        assertTrue(size > 1000);
        String record = Files.readString(dir.resolve("libgomp.so.1.sha256"));
        assertTrue(record.matches("[0-9a-f]{64} " + size + "\\s*"), record);
        long modified = Files.getLastModifiedTime(lib).toMillis();
        assertEquals(lib, DnnlLibrary.extract(dir, "libgomp.so.1"));
        assertEquals(modified, Files.getLastModifiedTime(lib).toMillis(), "an intact copy is reused");
        Files.write(lib, new byte[] {0x7f, 'E', 'L', 'F'}); // truncated
        DnnlLibrary.extract(dir, "libgomp.so.1");
        assertEquals(size, Files.size(lib), "a truncated copy is extracted again");
    }

    @Test
    void missingFile() {
        Path p = dir.resolve("libdnnl.so.3");
        DnnlException e = assertThrows(DnnlException.class, () -> DnnlLibrary.verify(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void notAnElfFile() throws IOException {
        Path p = Files.writeString(dir.resolve("libdnnl.so.3"), "this is not a library");
        DnnlException e = assertThrows(DnnlException.class, () -> DnnlLibrary.verify(p));
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("ELF"), e.getMessage());
    }

    @Test
    void truncatedLibrary() throws IOException {
        Path p = dir.resolve("libdnnl.so.3");
        try (InputStream in = getClass().getClassLoader().getResourceAsStream("org/bytedeco/dnnl/linux-x86_64/libdnnl.so.3")) {
            Files.write(p, in.readNBytes(64 * 1024));
        }
        DnnlException e = assertThrows(DnnlException.class, () -> DnnlLibrary.verify(p));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @Test
    void aLibraryThatIsNotOneDnn() {
        // a real shared library without dnnl_version: libgomp, extracted beside it
        Path gomp = DnnlLibrary.extract(dir, "libgomp.so.1");
        DnnlException e = assertThrows(DnnlException.class, () -> DnnlLibrary.verify(gomp));
        assertTrue(e.getMessage().contains("dnnl_version"), e.getMessage());
    }
}

package org.lipa.backend.cpu;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.lipa.bindings.dnnl.dnnl_h;
import org.lipa.bindings.dnnl.dnnl_version_t;

/**
 * Finds, verifies and loads oneDNN ({@code libdnnl.so.3}) without JNI.
 *
 * <p>By default the library and the {@code libgomp.so.1} it links against are extracted from the
 * {@code org.bytedeco:dnnl} jar on the class path into a versioned cache directory
 * ({@code $XDG_CACHE_HOME/lipa/native/dnnl-<version>}, else {@code ~/.cache/...}; the system property
 * {@code lipa.cache.dir} replaces {@code .../lipa}). Extraction writes a temporary file, records its
 * size and SHA-256 beside it, and moves it into place atomically, so two JVMs racing on a cold cache
 * both end up with a whole file. A cached file is reused when its size matches the record and it
 * starts with the ELF magic.
 *
 * <p>Another oneDNN 3.x build can be used instead: the system property {@code lipa.dnnl.library} or
 * the environment variable {@code LIPA_DNNL_LIBRARY} names its {@code libdnnl.so.3}.
 *
 * <p>Loading first opens the file with {@link SymbolLookup#libraryLookup(Path, Arena)} to check it is a
 * loadable library exporting {@code dnnl_version} with major version 3, and only then
 * {@code System.load}s it, which is what the jextract bindings (generated without {@code --library})
 * resolve their symbols through. Every failure is a {@link DnnlException} naming the path.
 */
public final class DnnlLibrary {
    /** The bytedeco artifact version the library is extracted from. */
    public static final String ARTIFACT_VERSION = "3.13-1.5.14";

    private static final String RESOURCE_DIR = "org/bytedeco/dnnl/linux-x86_64/";
    private static final List<String> FILES = List.of("libgomp.so.1", "libdnnl.so.3");
    private static final byte[] ELF_MAGIC = {0x7f, 'E', 'L', 'F'};

    private static volatile String loadedVersion;

    private DnnlLibrary() {
    }

    /**
     * Loads oneDNN once per JVM; later calls return at once.
     *
     * @throws DnnlException if the library cannot be found, extracted, verified or loaded
     */
    public static void ensureLoaded() {
        if (loadedVersion == null) {
            synchronized (DnnlLibrary.class) {
                if (loadedVersion == null) {
                    loadedVersion = load();
                }
            }
        }
    }

    /** The loaded oneDNN version, like {@code 3.13.0 (abc1234)}; loads the library if needed. */
    public static String version() {
        ensureLoaded();
        return loadedVersion;
    }

    private static String load() {
        String override = System.getProperty("lipa.dnnl.library", System.getenv("LIPA_DNNL_LIBRARY"));
        Path dnnl;
        if (override != null && !override.isBlank()) {
            dnnl = Path.of(override);
            verify(dnnl);
        } else {
            Path dir = cacheDirectory();
            Path gomp = extract(dir, FILES.get(0));
            dnnl = extract(dir, FILES.get(1));
            verify(dnnl);
            systemLoad(gomp);
        }
        systemLoad(dnnl);
        MemorySegment v = dnnl_h.dnnl_version().reinterpret(dnnl_version_t.layout().byteSize());
        MemorySegment hash = dnnl_version_t.hash(v);
        String h = hash.equals(MemorySegment.NULL) ? "" : hash.reinterpret(64).getString(0);
        return dnnl_version_t.major(v) + "." + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v)
                + (h.isEmpty() || h.equals("N/A") ? "" : " (" + h + ")");
    }

    private static void systemLoad(Path lib) {
        try {
            System.load(lib.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            throw new DnnlException("cannot load " + lib + ": " + e.getMessage(), e);
        }
    }

    /** The directory the bundled libraries are extracted to. */
    static Path cacheDirectory() {
        String base = System.getProperty("lipa.cache.dir");
        Path root;
        if (base != null && !base.isBlank()) {
            root = Path.of(base);
        } else {
            String xdg = System.getenv("XDG_CACHE_HOME");
            root = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache"))
                    .resolve("lipa");
        }
        return root.resolve("native").resolve("dnnl-" + ARTIFACT_VERSION);
    }

    /**
     * Checks that {@code library} is a readable ELF file that opens as a shared library and exports
     * {@code dnnl_version} reporting major version 3. Opening it maps it into the process for good
     * (the global arena): a library that passed is the one that gets loaded.
     *
     * @throws DnnlException naming the path and what is wrong
     */
    public static void verify(Path library) {
        if (!Files.isRegularFile(library)) {
            throw new DnnlException("oneDNN library " + library + " does not exist or is not a file", Integer.MIN_VALUE);
        }
        if (!Files.isReadable(library)) {
            throw new DnnlException("oneDNN library " + library + " is not readable", Integer.MIN_VALUE);
        }
        checkElf(library);
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(library.toAbsolutePath(), Arena.global());
        } catch (IllegalArgumentException e) {
            throw new DnnlException("cannot open oneDNN library " + library + ": " + e.getMessage(), e);
        }
        MemorySegment fn = lookup.find("dnnl_version").orElseThrow(() -> new DnnlException(
                "library " + library + " does not export dnnl_version: not a oneDNN library", Integer.MIN_VALUE));
        MethodHandle h = Linker.nativeLinker().downcallHandle(fn, FunctionDescriptor.of(ValueLayout.ADDRESS));
        int major;
        try {
            MemorySegment v = ((MemorySegment) h.invokeExact()).reinterpret(dnnl_version_t.layout().byteSize());
            major = dnnl_version_t.major(v);
        } catch (Throwable t) {
            throw new DnnlException("calling dnnl_version in " + library + " failed: " + t, t);
        }
        if (major != 3) {
            throw new DnnlException("library " + library + " is oneDNN " + major + ".x; Lipa needs oneDNN 3.x", Integer.MIN_VALUE);
        }
    }

    /**
     * Checks the ELF headers before the dynamic loader sees the file: the loader maps the segments the
     * program headers describe and touches them, so a truncated library would kill the JVM with SIGBUS
     * instead of failing. Requires a 64-bit little-endian x86-64 shared object whose header tables and
     * loadable segments all lie inside the file.
     */
    static void checkElf(Path library) {
        java.nio.ByteBuffer h;
        long size;
        try (var ch = java.nio.channels.FileChannel.open(library)) {
            size = ch.size();
            h = java.nio.ByteBuffer.allocate(64).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            h.flip();
            if (h.remaining() < 64 || h.getInt(0) != 0x464c457f) {
                throw bad(library, "is not an ELF shared library (bad magic bytes)");
            }
            if (h.get(4) != 2 || h.get(5) != 1 || h.getShort(16) != 3 || h.getShort(18) != 62) {
                throw bad(library, "is not a 64-bit little-endian x86-64 shared object");
            }
            long phoff = h.getLong(0x20);
            long shoff = h.getLong(0x28);
            int phentsize = Short.toUnsignedInt(h.getShort(0x36));
            int phnum = Short.toUnsignedInt(h.getShort(0x38));
            int shentsize = Short.toUnsignedInt(h.getShort(0x3A));
            int shnum = Short.toUnsignedInt(h.getShort(0x3C));
            if (phoff < 0 || phoff + (long) phentsize * phnum > size || shoff < 0 || shoff + (long) shentsize * shnum > size) {
                throw bad(library, "is truncated or corrupt: its header tables end past the file's " + size + " bytes");
            }
            java.nio.ByteBuffer ph = java.nio.ByteBuffer.allocate(phentsize * phnum).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            ch.read(ph, phoff);
            for (int i = 0; i < phnum; i++) {
                int base = i * phentsize;
                long offset = ph.getLong(base + 0x08);
                long fileSize = ph.getLong(base + 0x20);
                if (ph.getInt(base) == 1 && (offset < 0 || fileSize < 0 || offset + fileSize > size)) { // PT_LOAD
                    throw bad(library, "is truncated or corrupt: segment " + i + " ends at byte " + (offset + fileSize)
                            + " of a " + size + "-byte file");
                }
            }
        } catch (IOException e) {
            throw new DnnlException("cannot read oneDNN library " + library + ": " + e.getMessage(), e);
        }
    }

    private static DnnlException bad(Path library, String what) {
        return new DnnlException("oneDNN library " + library + " " + what, Integer.MIN_VALUE);
    }

    /** Extracts {@code name} from the class path into {@code dir} unless a verified copy is there. */
    static Path extract(Path dir, String name) {
        Path target = dir.resolve(name);
        Path record = dir.resolve(name + ".sha256");
        try {
            if (Files.isRegularFile(target) && Files.isRegularFile(record) && matchesRecord(target, record)) {
                return target;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, name, ".part");
            try {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long size;
                try (InputStream in = resource(name);
                     OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
                    size = in.transferTo(out);
                }
                Path tmpRecord = Files.createTempFile(dir, name, ".sha256.part");
                Files.writeString(tmpRecord, HexFormat.of().formatHex(sha.digest()) + " " + size + "\n");
                move(tmp, target);
                move(tmpRecord, record);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return target;
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new DnnlException("cannot extract " + name + " to " + dir + ": " + e.getMessage(), e);
        }
    }

    private static boolean matchesRecord(Path file, Path record) throws IOException {
        String[] parts = Files.readString(record).trim().split(" ");
        if (parts.length != 2 || Files.size(file) != Long.parseLong(parts[1])) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return java.util.Arrays.equals(in.readNBytes(4), ELF_MAGIC);
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = DnnlLibrary.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + name);
        if (in == null) {
            throw new IOException("resource " + RESOURCE_DIR + name + " is not on the class path (is org.bytedeco:dnnl:"
                    + ARTIFACT_VERSION + ":linux-x86_64 a dependency?)");
        }
        return in;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

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
import java.net.URI;
import java.net.URL;
import java.net.URLConnection;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import org.lipa.bindings.dnnl.dnnl_h;
import org.lipa.bindings.dnnl.dnnl_version_t;

/**
 * Finds, verifies and loads oneDNN ({@code libdnnl.so.3}) for the jextract bindings, without JNI.
 *
 * <p><b>Where the library comes from.</b> By default {@code libdnnl.so.3} and the {@code libgomp.so.1}
 * it links against are extracted from the {@code org.bytedeco:dnnl:<version>:linux-x86_64} jar on the
 * class path (only those two files are used, never JavaCPP) into
 * {@code ${XDG_CACHE_HOME:-~/.cache}/lipa/native/dnnl-<version>/}; the system property
 * {@value #CACHE_DIR_PROPERTY} replaces the {@code ${XDG_CACHE_HOME:-~/.cache}/lipa} part. Each file is
 * written to a temporary file, hashed (SHA-256) while it is written and moved into place atomically, and
 * its size and hash are recorded beside it in {@code <name>.sha256}; so JVMs racing on a cold cache each
 * end up with a whole file. A cached file is reused when its size matches the record and it starts with
 * the ELF magic; anything else is extracted again.
 *
 * <p>The system property {@value #LIBRARY_PROPERTY} or the environment variable {@value #LIBRARY_ENV}
 * names another oneDNN 3.x {@code libdnnl.so.3} to use instead; then nothing is extracted, and that
 * library finds its own OpenMP runtime.
 *
 * <p><b>How it is loaded.</b> {@link #verify(Path)} checks the file before the dynamic linker sees it
 * (a truncated shared object can crash the process inside {@code dlopen}), then opens it with
 * {@link SymbolLookup#libraryLookup(Path, Arena)}, checks that it exports the core oneDNN symbols and that
 * {@code dnnl_version} reports major version 3. Only then are {@code libgomp.so.1} and
 * {@code libdnnl.so.3} passed to {@link System#load}: the bindings were generated without
 * {@code --library} and resolve every symbol through {@link SymbolLookup#loaderLookup()}, that is, through
 * the libraries this class loader has loaded. Every failure is a {@link DnnlException} naming the path.
 *
 * <p>Thread safety: loading is synchronized and happens once; safe from any thread.
 */
public final class DnnlLibrary {
    /** System property naming a {@code libdnnl.so.3} to load instead of the bundled one. */
    public static final String LIBRARY_PROPERTY = "lipa.dnnl.library";
    /** Environment variable naming a {@code libdnnl.so.3}; the system property wins. */
    public static final String LIBRARY_ENV = "LIPA_DNNL_LIBRARY";
    /** System property naming Lipa's cache root (default {@code ${XDG_CACHE_HOME:-~/.cache}/lipa}). */
    public static final String CACHE_DIR_PROPERTY = "lipa.cache.dir";

    static final String DNNL = "libdnnl.so.3";
    static final String GOMP = "libgomp.so.1";
    static final String RESOURCE_DIR = "org/bytedeco/dnnl/linux-x86_64/";
    /** Used for the cache directory name only when the jar's pom.properties cannot be read. */
    static final String FALLBACK_ARTIFACT_VERSION = "3.13-1.5.14";
    private static final String POM_PROPERTIES = "META-INF/maven/org.bytedeco/dnnl/pom.properties";
    /** What every Lipa CPU kernel needs; checked up front so a stripped or foreign build fails here. */
    private static final List<String> REQUIRED_SYMBOLS = List.of("dnnl_version", "dnnl_engine_create",
            "dnnl_stream_create", "dnnl_memory_desc_create_with_strides", "dnnl_memory_create",
            "dnnl_primitive_create", "dnnl_primitive_execute", "dnnl_matmul_primitive_desc_create");

    private record Loaded(Path path, String version) {
    }

    private static volatile Loaded loaded;
    /** The first failure, rethrown by later calls: loading is not retried once half done. */
    private static DnnlException failure;

    private DnnlLibrary() {
    }

    /**
     * Loads oneDNN once per JVM, extracting it on first use; later calls only read a volatile field.
     * Call it before the first use of the {@code org.lipa.bindings.dnnl} bindings.
     *
     * @throws DnnlException if the library cannot be found, extracted, verified or loaded
     */
    public static void ensureLoaded() {
        loaded();
    }

    /** The loaded oneDNN's version, like {@code 3.13.0}: major.minor.patch, and the git hash when the build reports one. */
    public static String version() {
        return loaded().version();
    }

    /** The path of the loaded {@code libdnnl.so.3}. */
    public static Path path() {
        return loaded().path();
    }

    private static Loaded loaded() {
        Loaded l = loaded;
        if (l != null) {
            return l;
        }
        synchronized (DnnlLibrary.class) {
            if (loaded == null) {
                if (failure != null) {
                    throw new DnnlException(failure.getMessage(), failure);
                }
                try {
                    loaded = locateAndLoad();
                } catch (DnnlException e) {
                    failure = e;
                    throw e;
                }
            }
            return loaded;
        }
    }

    private static Loaded locateAndLoad() {
        String override = System.getProperty(LIBRARY_PROPERTY);
        String source = "-D" + LIBRARY_PROPERTY;
        if (override == null || override.isBlank()) {
            override = System.getenv(LIBRARY_ENV);
            source = "$" + LIBRARY_ENV;
        }
        if (override != null && !override.isBlank()) {
            Path dnnl = Path.of(override).toAbsolutePath();
            try {
                return new Loaded(dnnl, load(dnnl, null));
            } catch (DnnlException e) {
                throw new DnnlException(e.getMessage() + " (library chosen by " + source + ")", e);
            }
        }
        Path dir = cacheDirectory(System.getProperty(CACHE_DIR_PROPERTY), System.getenv("XDG_CACHE_HOME"),
                System.getProperty("user.home"), artifactVersion());
        Path gomp = extract(dir, GOMP);
        Path dnnl = extract(dir, DNNL);
        return new Loaded(dnnl, load(dnnl, gomp));
    }

    /**
     * Verifies {@code dnnl}, then {@code System.load}s {@code gomp} (if not null) and {@code dnnl} so the
     * bindings can resolve symbols, and checks that they do. Returns the version string.
     */
    static String load(Path dnnl, Path gomp) {
        OpenMp.shortSpinUnlessConfigured(); // before verify(): opening libdnnl loads libgomp, which reads its settings once
        String version = verify(dnnl);
        if (dnnl_h.class.getClassLoader() != DnnlLibrary.class.getClassLoader()) {
            // System.load binds a library to the caller's class loader, and loaderLookup() in the
            // bindings only sees libraries of theirs: they must share one.
            throw new DnnlException("the oneDNN bindings and " + DnnlLibrary.class.getName()
                    + " are in different class loaders; put lipa-bindings and lipa-runtime on the same class path");
        }
        if (gomp != null) {
            systemLoad(gomp);
        }
        systemLoad(dnnl);
        try {
            dnnl_h.dnnl_version(); // first binding call: proves loaderLookup() sees the library
        } catch (RuntimeException | LinkageError e) {
            throw new DnnlException("loaded " + dnnl + " but the bindings cannot resolve dnnl_version: " + e, e);
        }
        return version;
    }

    private static void systemLoad(Path lib) {
        try {
            System.load(lib.toAbsolutePath().toString());
        } catch (UnsatisfiedLinkError e) {
            throw new DnnlException("cannot load " + lib + ": " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code library} is a oneDNN 3.x shared library and returns its version, like
     * {@code 3.13.0}. The file is checked as an ELF shared object for this machine, whole (not
     * truncated), before it is opened; opening it maps it into the process for good (the global arena),
     * so a library that passed is the one that {@code System.load} later finds already mapped.
     *
     * @throws DnnlException naming the path and what is wrong with it
     */
    public static String verify(Path library) {
        if (!Files.exists(library)) {
            throw new DnnlException("oneDNN library " + library + " does not exist");
        }
        if (!Files.isRegularFile(library) || !Files.isReadable(library)) {
            throw new DnnlException("oneDNN library " + library + " is not a readable regular file");
        }
        checkElf(library);
        SymbolLookup lookup;
        try {
            lookup = SymbolLookup.libraryLookup(library.toAbsolutePath(), Arena.global());
        } catch (IllegalArgumentException e) {
            throw new DnnlException("the dynamic linker cannot open oneDNN library " + library + " (" + e.getMessage()
                    + "); is a dependency such as libgomp.so.1 or libstdc++.so.6 missing?", e);
        }
        for (String symbol : REQUIRED_SYMBOLS) {
            if (lookup.find(symbol).isEmpty()) {
                throw new DnnlException("library " + library + " does not export " + symbol
                        + ": it is not a oneDNN 3.x library with the C API Lipa uses");
            }
        }
        MethodHandle h = Linker.nativeLinker().downcallHandle(lookup.findOrThrow("dnnl_version"),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        MemorySegment v;
        try {
            v = ((MemorySegment) h.invokeExact()).reinterpret(dnnl_version_t.layout().byteSize());
        } catch (Throwable t) {
            throw new DnnlException("calling dnnl_version in " + library + " failed: " + t, t);
        }
        if (v.equals(MemorySegment.NULL) || dnnl_version_t.major(v) != 3) {
            throw new DnnlException("library " + library + " reports oneDNN "
                    + (v.equals(MemorySegment.NULL) ? "(no version)" : dnnl_version_t.major(v) + ".x")
                    + "; Lipa's bindings need oneDNN 3.x");
        }
        MemorySegment hash = dnnl_version_t.hash(v);
        String git = hash.equals(MemorySegment.NULL) ? "" : hash.reinterpret(256).getString(0);
        // builds without git metadata (like bytedeco's) report "N/A": say nothing rather than that
        return dnnl_version_t.major(v) + "." + dnnl_version_t.minor(v) + "." + dnnl_version_t.patch(v)
                + (git.isEmpty() || git.equals("N/A") ? "" : " (" + git + ")");
    }

    /**
     * Reads the ELF header and program headers: a 64-bit little-endian shared object for this CPU whose
     * loadable segments and section headers lie inside the file. This is what makes a truncated or
     * foreign file fail here with a message instead of crashing the JVM inside {@code dlopen}.
     */
    private static void checkElf(Path library) {
        try (FileChannel ch = FileChannel.open(library)) {
            long size = ch.size();
            ByteBuffer h = read(ch, 0, 64);
            if (h.limit() < 4 || h.getInt(0) != 0x464c457f) { // "\177ELF" read little-endian
                throw new DnnlException("oneDNN library " + library + " is not an ELF file (wrong magic bytes)");
            }
            if (h.limit() < 64) {
                throw truncated(library, 64, size);
            }
            if (h.get(4) != 2 || h.get(5) != 1) {
                throw new DnnlException("oneDNN library " + library + " is not a 64-bit little-endian ELF file");
            }
            int type = h.getShort(16);
            int machine = h.getShort(18) & 0xffff;
            int expected = switch (System.getProperty("os.arch")) {
                case "amd64", "x86_64" -> 62;
                case "aarch64" -> 183;
                default -> machine;
            };
            if (type != 3 || machine != expected) {
                throw new DnnlException("oneDNN library " + library + " is not a shared library for "
                        + System.getProperty("os.arch") + " (ELF type " + type + ", machine " + machine + ")");
            }
            long phoff = h.getLong(32);
            long shoff = h.getLong(40);
            int phentsize = h.getShort(54) & 0xffff;
            int phnum = h.getShort(56) & 0xffff;
            long shEnd = shoff + (long) (h.getShort(58) & 0xffff) * (h.getShort(60) & 0xffff);
            long phEnd = phoff + (long) phentsize * phnum;
            if (phentsize < 56 || phnum > 4096 || phEnd > size || shEnd > size) {
                throw truncated(library, Math.max(phEnd, shEnd), size);
            }
            ByteBuffer ph = read(ch, phoff, phentsize * phnum);
            for (int i = 0; i < phnum; i++) {
                int at = i * phentsize;
                long end = ph.getLong(at + 8) + ph.getLong(at + 32); // p_offset + p_filesz
                if (ph.getInt(at) == 1 && end > size) { // PT_LOAD
                    throw truncated(library, end, size);
                }
            }
        } catch (IOException e) {
            throw new DnnlException("cannot read oneDNN library " + library + ": " + e.getMessage(), e);
        }
    }

    private static ByteBuffer read(FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining() && ch.read(b, position + b.position()) > 0) {
            // keep reading until full or end of file
        }
        return b.flip();
    }

    private static DnnlException truncated(Path library, long needed, long size) {
        return new DnnlException("oneDNN library " + library + " is truncated or corrupt: its ELF headers need "
                + needed + " bytes but the file has " + size);
    }

    /** {@code <cache root>/native/dnnl-<version>}, the root being the property, else XDG, else ~/.cache/lipa. */
    static Path cacheDirectory(String cacheProperty, String xdgCacheHome, String userHome, String version) {
        Path root;
        if (cacheProperty != null && !cacheProperty.isBlank()) {
            root = Path.of(cacheProperty);
        } else if (xdgCacheHome != null && !xdgCacheHome.isBlank()) {
            root = Path.of(xdgCacheHome, "lipa");
        } else {
            root = Path.of(userHome, ".cache", "lipa");
        }
        return root.resolve("native").resolve("dnnl-" + version).toAbsolutePath();
    }

    /**
     * The version of the dnnl jar that actually holds the library, from its pom.properties, so the cache
     * directory changes whenever the dependency does.
     */
    static String artifactVersion() {
        URL lib = DnnlLibrary.class.getClassLoader().getResource(RESOURCE_DIR + DNNL);
        String s = lib == null ? "" : lib.toString();
        if (s.startsWith("jar:") && s.contains("!/")) {
            try {
                URLConnection c = URI.create(s.substring(0, s.indexOf("!/") + 2) + POM_PROPERTIES).toURL()
                        .openConnection();
                c.setUseCaches(false); // do not keep the jar open for the rest of the JVM's life
                Properties p = new Properties();
                try (InputStream in = c.getInputStream()) {
                    p.load(in);
                }
                String v = p.getProperty("version", "");
                if (v.matches("[A-Za-z0-9._-]+")) {
                    return v;
                }
            } catch (IOException | IllegalArgumentException e) {
                // fall back: the name only keys the cache, the recorded size guards its contents
            }
        }
        return FALLBACK_ARTIFACT_VERSION;
    }

    /** Extracts class path resource {@code RESOURCE_DIR + name} into {@code dir} unless a good copy is there. */
    static Path extract(Path dir, String name) {
        Path target = dir.resolve(name);
        Path record = dir.resolve(name + ".sha256");
        try {
            if (reusable(target, record)) {
                return target;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "." + name + "-", ".part");
            Path tmpRecord = Files.createTempFile(dir, "." + name + "-", ".sha256.part");
            try {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                long size;
                try (InputStream in = resource(name);
                     OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
                    size = in.transferTo(out);
                }
                Files.writeString(tmpRecord, "# " + name + " as extracted by " + DnnlLibrary.class.getName()
                        + " from the class path\nsha256=" + HexFormat.of().formatHex(sha.digest())
                        + "\nsize=" + size + "\n");
                // The library first, then its record: a reader that sees the new record sees the new file.
                move(tmp, target);
                move(tmpRecord, record);
            } finally {
                Files.deleteIfExists(tmp);
                Files.deleteIfExists(tmpRecord);
            }
            return target;
        } catch (IOException | NoSuchAlgorithmException e) {
            throw new DnnlException("cannot extract " + name + " into " + dir + ": " + e
                    + " (set -D" + CACHE_DIR_PROPERTY + " to a writable directory, or -D" + LIBRARY_PROPERTY
                    + " to an installed libdnnl.so.3)", e);
        }
    }

    /** The cheap checks on a cached copy: the recorded size and the ELF magic. */
    private static boolean reusable(Path file, Path record) throws IOException {
        if (!Files.isRegularFile(file) || !Files.isRegularFile(record)) {
            return false;
        }
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(record)) {
            p.load(in);
        }
        if (!String.valueOf(Files.size(file)).equals(p.getProperty("size"))) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F';
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = DnnlLibrary.class.getClassLoader().getResourceAsStream(RESOURCE_DIR + name);
        if (in == null) {
            throw new IOException("class path resource " + RESOURCE_DIR + name + " not found: is the jar"
                    + " org.bytedeco:dnnl:<version>:linux-x86_64 a runtime dependency (Linux x86-64 only)?");
        }
        return in;
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Same directory, so this only happens on odd file systems; a plain replace is the best left.
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}

package org.lipa.backend.gpu;

import static org.lipa.bindings.cudart.cudart_h.*;
import static org.lipa.bindings.nvrtc.nvrtc_h.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.ConcurrentHashMap;
import org.lipa.bindings.cudart.dim3;

/**
 * Lipa's own CUDA C kernels ({@code native/cuda/lipa_kernels.cu}): compiled at run time by NVRTC for the
 * device's architecture, loaded as a CUDA library, launched by name.
 *
 * <p>Compiling takes seconds, so the cubin is cached on disk under
 * {@code ${lipa.cache.dir:-${XDG_CACHE_HOME:-~/.cache}/lipa}/cuda/<sha256 of source, options and NVRTC
 * version>.cubin}, written atomically with the SHA-256 of its contents at the end. A cache file whose digest does
 * not match (truncated, damaged) is never given to the driver but compiled again; one the driver still refuses to
 * load is deleted and compiled again, once; a fresh compile that still fails to load throws.
 *
 * <p>Arguments are packed as the kernels' C signatures declare them: a {@link MemorySegment} is a device
 * pointer, {@link Long} a {@code long long}, {@link Integer} an {@code int}, {@link Float} a
 * {@code float}, {@link Double} a {@code double} and {@link View} the {@code struct View}.
 *
 * <p>Thread safety: launching is safe from any number of threads (each on its own stream).
 */
final class Kernels implements AutoCloseable {
    static final String SOURCE = "lipa_kernels.cu";
    /** Threads per block for the elementwise kernels. */
    static final int BLOCK = 256;
    /** A kernel every build of the source has, looked up right after loading to prove the image good. */
    static final String PROBE = "lipa_eltwise_f32";
    private static final int DIGEST_BYTES = 32;

    private final MemorySegment library;
    private final ConcurrentHashMap<String, MemorySegment> kernels = new ConcurrentHashMap<>();
    private final int maxBlocks;
    private final String arch;

    private Kernels(MemorySegment library, int maxBlocks, String arch) {
        this.library = library;
        this.maxBlocks = maxBlocks;
        this.arch = arch;
    }

    /** Compiles (or reads from the cache) and loads the kernels for device {@code ordinal}. */
    static Kernels load(int ordinal) {
        int major = Cuda.attribute(cudaDevAttrComputeCapabilityMajor(), ordinal);
        int minor = Cuda.attribute(cudaDevAttrComputeCapabilityMinor(), ordinal);
        int sms = Cuda.attribute(cudaDevAttrMultiProcessorCount(), ordinal);
        String arch = "sm_" + major + minor;
        String source = source();
        String[] options = options(arch);
        Path file = cacheFile(source, options);
        byte[] cached = readCache(file);
        byte[] cubin = cached != null ? cached : compileAndCache(source, options, file);
        MemorySegment library;
        try {
            library = loadLibrary(cubin, arch);
        } catch (CudaException e) {
            if (cached == null) {
                throw e;
            }
            // the cache file's bytes were refused: they are the damaged copy, not the source, so drop them and compile
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a file we cannot delete is rewritten by the compile below, or read-only: the compile still runs
            }
            library = loadLibrary(compileAndCache(source, options, file), arch);
        }
        // enough blocks to fill every multiprocessor several times; the kernels loop over the rest
        return new Kernels(library, sms * 16, arch);
    }

    private static MemorySegment loadLibrary(byte[] cubin, String arch) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment code = a.allocate(cubin.length + 1L, 128);
            MemorySegment.copy(cubin, 0, code, ValueLayout.JAVA_BYTE, 0, cubin.length);
            MemorySegment lib = a.allocate(ValueLayout.ADDRESS);
            Cuda.check(cudaLibraryLoadData(lib, code, MemorySegment.NULL, MemorySegment.NULL, 0,
                    MemorySegment.NULL, MemorySegment.NULL, 0), "cudaLibraryLoadData(" + SOURCE + ", " + arch + ")");
            MemorySegment library = lib.get(ValueLayout.ADDRESS, 0);
            // with lazy module loading (CUDA's default) a damaged image loads without complaint and fails at the first
            // kernel lookup: look one up now, so that load's caller can still compile again
            MemorySegment k = a.allocate(ValueLayout.ADDRESS);
            int status = cudaLibraryGetKernel(k, library, a.allocateFrom(PROBE));
            if (status != cudaSuccess()) {
                cudaLibraryUnload(library);
                Cuda.check(status, "cudaLibraryGetKernel(" + PROBE + ") after loading " + SOURCE);
            }
            return library;
        }
    }

    String arch() {
        return arch;
    }

    /**
     * Launches {@code name} with enough blocks of {@link #BLOCK} threads for {@code work} items (capped:
     * the kernels stride over the rest) on {@code stream}.
     */
    void launch(MemorySegment stream, String name, long work, Object... args) {
        launch(stream, name, work, BLOCK, args);
    }

    /** As {@link #launch(MemorySegment, String, long, Object...)} with {@code block} threads per block, one block per {@code blocksFor} items. */
    void launch(MemorySegment stream, String name, long work, int block, Object... args) {
        if (work <= 0) {
            return;
        }
        long blocks = Math.min((work + block - 1) / block, maxBlocks);
        launchBlocks(stream, name, blocks, block, args);
    }

    /** Launches exactly {@code blocks} blocks (at most the cap) of {@code block} threads. */
    void launchBlocks(MemorySegment stream, String name, long blocks, int block, Object... args) {
        if (blocks <= 0) {
            return;
        }
        MemorySegment kernel = kernels.computeIfAbsent(name, this::find);
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pointers = a.allocate(ValueLayout.ADDRESS, args.length);
            for (int i = 0; i < args.length; i++) {
                pointers.setAtIndex(ValueLayout.ADDRESS, i, pack(a, args[i], name, i));
            }
            MemorySegment grid = dim3.allocate(a);
            dim3.x(grid, (int) Math.min(blocks, maxBlocks));
            dim3.y(grid, 1);
            dim3.z(grid, 1);
            MemorySegment threads = dim3.allocate(a);
            dim3.x(threads, block);
            dim3.y(threads, 1);
            dim3.z(threads, 1);
            Cuda.check(cudaLaunchKernel(kernel, grid, threads, pointers, 0L, stream), "cudaLaunchKernel(" + name + ")");
        }
    }

    private static MemorySegment pack(Arena a, Object arg, String kernel, int index) {
        return switch (arg) {
            case MemorySegment p -> a.allocateFrom(ValueLayout.ADDRESS, p);
            case Long v -> a.allocateFrom(ValueLayout.JAVA_LONG, v);
            case Integer v -> a.allocateFrom(ValueLayout.JAVA_INT, v);
            case Float v -> a.allocateFrom(ValueLayout.JAVA_FLOAT, v);
            case Double v -> a.allocateFrom(ValueLayout.JAVA_DOUBLE, v);
            case View v -> {
                MemorySegment s = a.allocate(View.BYTES, 8);
                v.writeTo(s);
                yield s;
            }
            case null, default -> throw new IllegalArgumentException(kernel + ": argument " + index + " is a "
                    + (arg == null ? "null" : arg.getClass().getSimpleName()) + ", which no kernel takes");
        };
    }

    private MemorySegment find(String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment k = a.allocate(ValueLayout.ADDRESS);
            Cuda.check(cudaLibraryGetKernel(k, library, a.allocateFrom(name)), "cudaLibraryGetKernel(" + name + ")");
            return k.get(ValueLayout.ADDRESS, 0);
        }
    }

    @Override
    public void close() {
        Cuda.check(cudaLibraryUnload(library), "cudaLibraryUnload");
    }

    // ---------------------------------------------------------------- compiling

    static String source() {
        try (InputStream in = Kernels.class.getResourceAsStream(SOURCE)) {
            if (in == null) {
                throw new CudaException("the kernel source " + SOURCE + " is missing from the runtime jar", (Throwable) null);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new CudaException("cannot read " + SOURCE + ": " + e.getMessage(), e);
        }
    }

    /** Where the cubin of {@code source} compiled with {@code options} by this NVRTC is cached. */
    static Path cacheFile(String source, String[] options) {
        return cacheDir().resolve(sha256(source + "\n" + String.join(" ", options) + "\n" + nvrtcVersionText()) + ".cubin");
    }

    /** The options {@link #load} compiles with for an {@code sm_XY} architecture. */
    static String[] options(String arch) {
        return new String[] {"--gpu-architecture=" + arch, "-default-device", "--std=c++17"};
    }

    /**
     * The cached cubin, or null when there is no cache file or it is not one this class wrote whole: the file ends
     * with the SHA-256 of the bytes before it, checked here, because {@code cudaLibraryLoadData} takes no length and
     * trusts an image's own headers: on the H200 the JVM ended without a report when a test gave it a cubin cut to a
     * third of its length (the likeliest reading: the driver read past the end).
     */
    static byte[] readCache(Path file) {
        byte[] all;
        try {
            if (!Files.isRegularFile(file)) {
                return null;
            }
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            return null; // unreadable: compile again
        }
        if (all.length <= DIGEST_BYTES) {
            return null;
        }
        byte[] cubin = java.util.Arrays.copyOf(all, all.length - DIGEST_BYTES);
        byte[] stored = java.util.Arrays.copyOfRange(all, all.length - DIGEST_BYTES, all.length);
        return MessageDigest.isEqual(sha256(cubin), stored) ? cubin : null;
    }

    /** Writes {@code cubin} and its SHA-256 to {@code file} atomically (see {@link #readCache}). */
    static void writeCache(Path file, byte[] cubin) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = Files.createTempFile(file.getParent(), "kernels", ".tmp");
        try {
            byte[] all = java.util.Arrays.copyOf(cubin, cubin.length + DIGEST_BYTES);
            System.arraycopy(sha256(cubin), 0, all, cubin.length, DIGEST_BYTES);
            Files.write(tmp, all);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static byte[] compileAndCache(String source, String[] options, Path file) {
        byte[] cubin = compile(source, options);
        try {
            writeCache(file, cubin);
        } catch (IOException | UnsupportedOperationException e) {
            // a read-only cache only costs the next start a compile
        }
        return cubin;
    }

    /** NVRTC's compile of {@code source} to a cubin; a compile error throws with NVRTC's log. */
    static byte[] compile(String source, String[] options) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment prog = a.allocate(ValueLayout.ADDRESS);
            checkNvrtc(nvrtcCreateProgram(prog, a.allocateFrom(source), a.allocateFrom(SOURCE), 0, MemorySegment.NULL,
                    MemorySegment.NULL), "nvrtcCreateProgram");
            MemorySegment p = prog.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment opts = a.allocate(ValueLayout.ADDRESS, options.length);
                for (int i = 0; i < options.length; i++) {
                    opts.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(options[i]));
                }
                int status = nvrtcCompileProgram(p, options.length, opts);
                if (status != NVRTC_SUCCESS()) {
                    MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
                    checkNvrtc(nvrtcGetProgramLogSize(p, size), "nvrtcGetProgramLogSize");
                    MemorySegment log = a.allocate(Math.max(1, size.get(ValueLayout.JAVA_LONG, 0)));
                    checkNvrtc(nvrtcGetProgramLog(p, log), "nvrtcGetProgramLog");
                    throw new CudaException("nvrtcCompileProgram(" + SOURCE + ") failed: " + nvrtcText(status) + "\n"
                            + log.getString(0), status);
                }
                MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
                checkNvrtc(nvrtcGetCUBINSize(p, size), "nvrtcGetCUBINSize");
                MemorySegment cubin = a.allocate(size.get(ValueLayout.JAVA_LONG, 0));
                checkNvrtc(nvrtcGetCUBIN(p, cubin), "nvrtcGetCUBIN");
                return cubin.toArray(ValueLayout.JAVA_BYTE);
            } finally {
                nvrtcDestroyProgram(prog);
            }
        }
    }

    static void checkNvrtc(int status, String call) {
        if (status != NVRTC_SUCCESS()) {
            throw new CudaException(call + " failed: " + nvrtcText(status), status);
        }
    }

    private static String nvrtcText(int status) {
        return nvrtcGetErrorString(status).reinterpret(1024).getString(0);
    }

    static String nvrtcVersionText() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment major = a.allocate(ValueLayout.JAVA_INT);
            MemorySegment minor = a.allocate(ValueLayout.JAVA_INT);
            checkNvrtc(nvrtcVersion(major, minor), "nvrtcVersion");
            return major.get(ValueLayout.JAVA_INT, 0) + "." + minor.get(ValueLayout.JAVA_INT, 0);
        }
    }

    private static Path cacheDir() {
        String root = System.getProperty("lipa.cache.dir");
        if (root == null) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            root = (xdg != null && !xdg.isBlank() ? xdg : System.getProperty("user.home") + "/.cache") + "/lipa";
        }
        return Path.of(root, "cuda");
    }

    private static String sha256(String s) {
        return HexFormat.of().formatHex(sha256(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}

package org.lipa.backend.gpu;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds and loads the CUDA libraries the GPU backend calls: the CUDA runtime, cuBLAS (with cuBLASLt),
 * cuDNN and NVRTC, without JNI.
 *
 * <p><b>Where it looks</b>, in this order, for each library (by soname, for example
 * {@code libcublas.so.13}): the folders in the system property {@value #PATH_PROPERTY} or the
 * environment variable {@value #PATH_ENV} (colon-separated); {@code LD_LIBRARY_PATH}; {@code CUDA_HOME}
 * and {@code CUDA_PATH} ({@code lib64}, {@code lib}); {@code /usr/local/cuda/lib64} and every
 * {@code /usr/local/cuda-*}{@code /lib64}; the distribution's {@code /usr/lib/x86_64-linux-gnu} and
 * {@code /usr/lib64}; and the NVIDIA Python packages ({@code site-packages/nvidia/<pkg>/lib} under
 * {@code /opt}, {@code /usr/local/lib}, {@code /usr/lib} and {@code ~/.local}), where pip installs
 * {@code nvidia-cublas}, {@code nvidia-cudnn-cu13} and {@code nvidia-cuda-nvrtc}.
 *
 * <p><b>How it loads.</b> Each library's dependencies first (cuBLASLt before cuBLAS), each with
 * {@link System#load}: the bindings were generated without {@code --library} and resolve symbols through
 * {@link java.lang.foreign.SymbolLookup#loaderLookup()}. A library that is not found is a
 * {@link CudaException} listing the folders searched; {@link #available()} asks without throwing.
 *
 * <p>Thread safety: loading is synchronized and happens once; safe from any thread.
 */
public final class CudaLibraries {
    /** System property: folders (colon-separated) searched first for the CUDA libraries. */
    public static final String PATH_PROPERTY = "lipa.cuda.path";
    /** Environment variable with the same meaning; the system property wins. */
    public static final String PATH_ENV = "LIPA_CUDA_PATH";

    /** Sonames in load order: every library after those it links against. */
    static final List<List<String>> LIBRARIES = List.of(
            List.of("libcudart.so.13", "libcudart.so.12"),
            List.of("libcublasLt.so.13", "libcublasLt.so.12"),
            List.of("libcublas.so.13", "libcublas.so.12"),
            List.of("libnvrtc.so.13", "libnvrtc.so.12"),
            List.of("libcudnn.so.9"));

    private static Map<String, Path> loaded;
    private static CudaException failure;

    private CudaLibraries() {
    }

    /** Loads every library once; later calls return the same paths or throw the same failure. */
    static synchronized Map<String, Path> load() {
        if (loaded != null) {
            return loaded;
        }
        if (failure != null) {
            throw failure;
        }
        List<Path> dirs = searchPath();
        var found = new java.util.LinkedHashMap<String, Path>();
        try {
            for (List<String> names : LIBRARIES) {
                Path p = find(names, dirs);
                if (p == null) {
                    throw new CudaException("cannot find " + String.join(" or ", names) + " in " + dirs
                            + "; install the CUDA toolkit or the NVIDIA pip packages, or name the folder with -D"
                            + PATH_PROPERTY + " or " + PATH_ENV, (Throwable) null);
                }
                try {
                    for (Path companion : companions(p)) {
                        System.load(companion.toString());
                    }
                    System.load(p.toString());
                } catch (UnsatisfiedLinkError e) {
                    throw new CudaException("cannot load " + p + ": " + e.getMessage(), e);
                }
                found.put(names.get(0), p);
            }
        } catch (CudaException e) {
            failure = e;
            throw e;
        }
        loaded = Map.copyOf(found);
        return loaded;
    }

    /** Whether the libraries load and a CUDA device is present: what GPU tests check before they run. */
    public static boolean available() {
        try {
            load();
            return Cuda.deviceCount() > 0;
        } catch (CudaException | LinkageError e) {
            return false;
        }
    }

    /** The folders searched, in order, without duplicates and only those that exist. */
    static List<Path> searchPath() {
        Set<Path> dirs = new LinkedHashSet<>();
        String configured = System.getProperty(PATH_PROPERTY, System.getenv(PATH_ENV));
        addAll(dirs, configured);
        addAll(dirs, System.getenv("LD_LIBRARY_PATH"));
        for (String env : new String[] {"CUDA_HOME", "CUDA_PATH"}) {
            String home = System.getenv(env);
            if (home != null) {
                dirs.add(Path.of(home, "lib64"));
                dirs.add(Path.of(home, "lib"));
            }
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.addAll(children(Path.of("/usr/local"), "cuda-", "lib64"));
        dirs.add(Path.of("/usr/lib/x86_64-linux-gnu"));
        dirs.add(Path.of("/usr/lib64"));
        for (Path root : new Path[] {Path.of("/opt"), Path.of("/usr/local/lib"), Path.of("/usr/lib"),
                Path.of(System.getProperty("user.home"), ".local", "lib")}) {
            dirs.addAll(pythonNvidiaLibs(root));
        }
        return dirs.stream().filter(Files::isDirectory).toList();
    }

    private static void addAll(Set<Path> dirs, String pathList) {
        if (pathList != null) {
            for (String d : pathList.split(":")) {
                if (!d.isBlank()) {
                    dirs.add(Path.of(d));
                }
            }
        }
    }

    private static List<Path> children(Path parent, String prefix, String sub) {
        try (Stream<Path> s = Files.list(parent)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().map(p -> p.resolve(sub)).toList();
        } catch (IOException | SecurityException e) {
            return List.of();
        }
    }

    /** {@code <root>/**}{@code /site-packages/nvidia/<pkg>/lib}, found within a few levels (virtual environments under /opt). */
    private static List<Path> pythonNvidiaLibs(Path root) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.find(root, 6, (p, a) -> a.isDirectory() && p.getFileName() != null
                && p.getFileName().toString().equals("nvidia") && p.getParent() != null
                && p.getParent().getFileName().toString().endsWith("-packages"))) {
            for (Path nvidia : s.sorted().toList()) {
                try (Stream<Path> pkgs = Files.list(nvidia)) {
                    pkgs.sorted().map(p -> p.resolve("lib")).forEach(out::add);
                }
            }
        } catch (IOException | java.io.UncheckedIOException | SecurityException e) {
            // an unreadable folder is simply not searched
        }
        return out;
    }

    /**
     * Libraries that {@code lib} opens by name at run time and that must come from its own folder: NVRTC's
     * builtins ({@code libnvrtc-builtins.so.13.0}), which the dynamic linker would otherwise look for only
     * on the default path. Loading them first makes that lookup find them.
     */
    private static List<Path> companions(Path lib) {
        if (!lib.getFileName().toString().startsWith("libnvrtc.so.")) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(lib.getParent())) {
            return s.filter(p -> p.getFileName().toString().matches("libnvrtc-builtins\\.so\\.[0-9.]+")).sorted().limit(1).toList();
        } catch (IOException e) {
            return List.of();
        }
    }

    private static Path find(List<String> names, List<Path> dirs) {
        for (String name : names) {
            for (Path d : dirs) {
                Path p = d.resolve(name);
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        return null;
    }
}

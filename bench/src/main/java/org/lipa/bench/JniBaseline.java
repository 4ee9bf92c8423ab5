package org.lipa.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JNI baseline of {@link DowncallBench}: the functions of {@code native/bench/bench_native.c} behind
 * JNI, as a JNI-based JVM library would call oneDNN. Built only for the benchmark by
 * {@code native/bench/build.sh}; Lipa itself never uses JNI.
 */
public final class JniBaseline {
    private JniBaseline() {
    }

    /** The folder {@code native/bench/build.sh} writes to: {@code -Dlipa.bench.native=DIR}, else found from the working directory. */
    public static Path nativeDir() {
        String p = System.getProperty("lipa.bench.native");
        if (p != null) {
            return Path.of(p);
        }
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path candidate = d.resolve("native/bench/build");
            if (Files.isRegularFile(candidate.resolve("libbench_native.so"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("native/bench/build/libbench_native.so not found from " + Path.of("").toAbsolutePath()
                + "; run native/bench/build.sh (bench/suite.sh does) or pass -Dlipa.bench.native=DIR");
    }

    /** {@code libbench_native.so} in {@link #nativeDir()}. */
    public static Path library() {
        return nativeDir().resolve("libbench_native.so");
    }

    /** Loads the library (idempotent; oneDNN must be loaded first, see {@code DnnlLibrary.ensureLoaded}). */
    public static synchronized void load() {
        System.load(library().toString());
    }

    /** Calls {@code lipa_bench_noop}, an empty C function. */
    public static native void noop();

    /** Calls {@code lipa_bench_exec}: re-points {@code nmem} memories, executes the primitive, waits on the stream. */
    public static native int exec(long primitive, long stream, int nmem, long memories, long pointers, int nargs, long args);

    /** Calls {@code lipa_bench_sgemm}: row-major {@code c = a b} with {@code dnnl_sgemm}. */
    public static native int sgemm(long m, long n, long k, long a, long b, long c);
}

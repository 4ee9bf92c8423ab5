package org.lipa.backend.gpu;

import static org.lipa.bindings.cudart.cudart_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CUDA runtime calls the backend makes, each checked: a failing call throws {@link CudaException}
 * with the call's name and the runtime's own message ({@code cudaGetErrorString}).
 *
 * <p>Thread safety: stateless; the CUDA runtime is thread-safe.
 */
final class Cuda {
    private Cuda() {
    }

    /** Throws unless {@code status} is {@code cudaSuccess}. */
    static void check(int status, String call) {
        if (status != cudaSuccess()) {
            throw new CudaException(call + " failed: " + errorName(status) + " (" + status + "): " + errorString(status), status);
        }
    }

    static String errorString(int status) {
        return cudaGetErrorString(status).reinterpret(4096).getString(0);
    }

    static String errorName(int status) {
        return cudaGetErrorName(status).reinterpret(256).getString(0);
    }

    /** Devices visible to this process (0 when there are none or the driver is missing). */
    static int deviceCount() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = a.allocate(ValueLayout.JAVA_INT);
            int status = cudaGetDeviceCount(n);
            if (status == cudaErrorNoDevice() || status == cudaErrorInsufficientDriver()) {
                cudaGetLastError(); // these errors are sticky only until read
                return 0;
            }
            check(status, "cudaGetDeviceCount");
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static int attribute(int attribute, int device) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(cudaDeviceGetAttribute(v, attribute, device), "cudaDeviceGetAttribute");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static int runtimeVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(cudaRuntimeGetVersion(v), "cudaRuntimeGetVersion");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    static int driverVersion() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            check(cudaDriverGetVersion(v), "cudaDriverGetVersion");
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** A stream that synchronizes with the legacy default stream (so frees on it order after its work). */
    static MemorySegment createStream() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment p = a.allocate(ValueLayout.ADDRESS);
            check(cudaStreamCreateWithFlags(p, cudaStreamDefault()), "cudaStreamCreateWithFlags");
            return p.get(ValueLayout.ADDRESS, 0);
        }
    }

    static void synchronize(MemorySegment stream) {
        check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
    }

    /** "CUDA 13.0 (driver 13.0)" from the encoded versions (1000 * major + 10 * minor). */
    static String versionText(int v) {
        return v / 1000 + "." + (v % 1000) / 10;
    }
}

package org.lipa.backend.gpu;

import static org.lipa.bindings.cudart.cudart_h.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * What one thread computes with: its own CUDA stream, cuBLAS handle and cuDNN handle bound to that
 * stream, a workspace that grows to the largest request, and its cuBLASLt handle with its own fixed
 * workspace and matmul plans ({@link CublasLtMatmul.Context}). Made on a thread's first call and closed
 * with the backend, so concurrent threads never share a stream or a handle.
 *
 * <p>Thread safety: used by one thread at a time (its owner); closed by {@code GpuBackend.close}.
 */
final class Handles implements AutoCloseable {
    final MemorySegment stream;
    final MemorySegment cublas;
    final MemorySegment cudnn;
    final CublasLtMatmul.Context cublasLt;
    private MemorySegment workspace = MemorySegment.NULL;
    private long workspaceBytes;

    Handles(int ordinal) {
        Cuda.check(cudaSetDevice(ordinal), "cudaSetDevice(" + ordinal + ")");
        stream = Cuda.createStream();
        cublas = CublasMatmul.createHandle(stream);
        cudnn = CudnnConv.createHandle(stream);
        cublasLt = new CublasLtMatmul.Context();
    }

    /** Device scratch of at least {@code bytes}, valid until the next call on this thread. */
    MemorySegment workspace(long bytes) {
        if (bytes > workspaceBytes) {
            if (workspaceBytes > 0) {
                Cuda.check(cudaFreeAsync(workspace, stream), "cudaFreeAsync(workspace)");
            }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment p = a.allocate(ValueLayout.ADDRESS);
                long rounded = Math.max(bytes, workspaceBytes * 2);
                Cuda.check(cudaMallocAsync(p, rounded, stream), "cudaMallocAsync(workspace, " + rounded + ")");
                workspace = p.get(ValueLayout.ADDRESS, 0);
                workspaceBytes = rounded;
            }
        }
        return workspace;
    }

    @Override
    public void close() {
        Cuda.synchronize(stream);
        if (workspaceBytes > 0) {
            cudaFreeAsync(workspace, stream);
        }
        cublasLt.close();
        CudnnConv.destroyHandle(cudnn);
        CublasMatmul.destroyHandle(cublas);
        Cuda.synchronize(stream);
        cudaStreamDestroy(stream);
    }
}

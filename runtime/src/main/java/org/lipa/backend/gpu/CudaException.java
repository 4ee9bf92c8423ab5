package org.lipa.backend.gpu;

/**
 * The one exception type of the GPU backend: a CUDA runtime, cuBLAS, cuDNN or NVRTC call returned an
 * error (the message names the call and carries the library's own text), or a library could not be
 * found or loaded (the message says where it looked).
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class CudaException extends RuntimeException {
    /** {@link #status()} of an exception that is about finding or loading a library, not about a call. */
    public static final int NO_STATUS = Integer.MIN_VALUE;

    private final int status;

    CudaException(String message, int status) {
        super(message);
        this.status = status;
    }

    CudaException(String message, Throwable cause) {
        super(message, cause);
        this.status = NO_STATUS;
    }

    /** The status code the call returned (its library's enum), or {@link #NO_STATUS}. */
    public int status() {
        return status;
    }
}

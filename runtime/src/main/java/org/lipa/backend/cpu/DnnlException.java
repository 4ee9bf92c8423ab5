package org.lipa.backend.cpu;

/**
 * A oneDNN call returned an error status, or the oneDNN library could not be loaded. The message names
 * the call (or the library path) and what went wrong.
 */
public final class DnnlException extends RuntimeException {
    private final int status;

    DnnlException(String message, int status) {
        super(message);
        this.status = status;
    }

    DnnlException(String message, Throwable cause) {
        super(message, cause);
        this.status = Integer.MIN_VALUE;
    }

    /** The {@code dnnl_status_t} value, or {@link Integer#MIN_VALUE} when the library failed to load. */
    public int status() {
        return status;
    }
}

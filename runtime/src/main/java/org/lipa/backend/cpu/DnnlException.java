package org.lipa.backend.cpu;

/**
 * The one exception type of the oneDNN backend: a oneDNN call returned an error status, or the oneDNN
 * library could not be found, extracted, verified or loaded. The message names the call (or the
 * library's path) and what went wrong; {@link #status()} tells the two cases apart.
 *
 * <p>Loading problems surface as this exception rather than as {@link UnsatisfiedLinkError} or
 * {@link IllegalArgumentException} from the FFM API, so a caller can catch one type to fall back to
 * another backend.
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public final class DnnlException extends RuntimeException {
    /** {@link #status()} of an exception that is about loading the library, not about a call. */
    public static final int NO_STATUS = Integer.MIN_VALUE;

    private final int status;

    /** A failed oneDNN call; {@code status} is its {@code dnnl_status_t}. */
    DnnlException(String message, int status) {
        super(message);
        this.status = status;
    }

    /** A library loading problem, caused by {@code cause} (may be null). */
    DnnlException(String message, Throwable cause) {
        super(message, cause);
        this.status = NO_STATUS;
    }

    /** A library loading problem with no underlying exception. */
    DnnlException(String message) {
        this(message, (Throwable) null);
    }

    /** The {@code dnnl_status_t} value the call returned, or {@link #NO_STATUS} for a loading problem. */
    public int status() {
        return status;
    }
}

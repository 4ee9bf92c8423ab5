package org.lipa.memory;

/**
 * Where a tensor's bytes live.
 *
 * @param kind  the kind of memory
 * @param index the device ordinal; 0 for the host
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Device(Kind kind, int index) {
    /** Kinds of memory. */
    public enum Kind { CPU, CUDA }

    /** The host. */
    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        java.util.Objects.requireNonNull(kind, "kind");
        if (index < 0) {
            throw new IllegalArgumentException("device index must be >= 0, got " + index);
        }
    }

    @Override
    public String toString() {
        return kind == Kind.CPU ? "cpu" : "cuda:" + index;
    }
}

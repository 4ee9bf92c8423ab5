package org.lipa.ops;

/**
 * A pair of sizes for the two spatial dimensions of 2-D ops (kernel, stride, padding, dilation).
 *
 * @param h along the height
 * @param w along the width
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Hw(int h, int w) {
    /** The same size along both dimensions. */
    public static Hw of(int both) {
        return new Hw(both, both);
    }

    @Override
    public String toString() {
        return "(" + h + ", " + w + ")";
    }
}

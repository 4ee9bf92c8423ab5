package org.lipa.tensor;

/**
 * Element types a {@link Tensor} can hold.
 *
 * <p>{@code F32} is the working type of the native backends, {@code F64} the type of the reference
 * backend that serves as the test oracle, and {@code BF16} a storage type (16-bit brain float:
 * the upper half of an IEEE binary32, rounded to nearest even on the way in).
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public enum DType {
    F32(4),
    F64(8),
    BF16(2);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes one element takes. */
    public int byteSize() {
        return byteSize;
    }

    /** The lowercase short name used in messages and {@code toString}: {@code f32}, {@code f64}, {@code bf16}. */
    public String shortName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Rounds a float to bfloat16 bits, nearest even; NaN stays a (quiet) NaN. */
    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    /**
     * Rounds a double to bfloat16 bits, nearest even, in one rounding: converting to float first would round
     * twice and can land a value just off a bf16 tie exactly on it. NaN stays a (quiet) NaN.
     */
    public static short doubleToBf16(double d) {
        float f = (float) d;
        if ((double) f != d && !Double.isNaN(d)) {
            // round to odd at float precision (truncate, then set the last bit): float keeps 16 bits more than
            // bf16, so the following round to nearest even of the float is the correctly rounded result
            int bits = Float.floatToRawIntBits(f);
            if (Math.abs((double) f) > Math.abs(d)) {
                bits--; // one step toward zero in magnitude (sign-magnitude bits)
            }
            f = Float.intBitsToFloat(bits | 1);
        }
        return floatToBf16(f);
    }

    /** Widens bfloat16 bits to the float they denote (exact). */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}

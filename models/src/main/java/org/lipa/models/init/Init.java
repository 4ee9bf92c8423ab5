package org.lipa.models.init;

import java.util.Random;

/**
 * Weight initializers, each seeded and each with the variance it promises (tested). Shapes follow
 * PyTorch: a linear weight is {@code [out, in]}, a convolution weight {@code [out, in/groups, kh, kw]};
 * {@code fanIn = in * kh * kw} and {@code fanOut = out * kh * kw}.
 *
 * <pre>{@code
 * float[] w = Init.heNormal(new Random(0), 512, 784, Init.Fan.IN);   // variance 2 / 784
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Init {
    private Init() {
    }

    /** Which fan scales the variance. */
    public enum Fan { IN, OUT }

    /** A named initializer for weights of any shape, so analyses can sweep over them. */
    public enum Scheme {
        LECUN_NORMAL, XAVIER_UNIFORM, XAVIER_NORMAL, HE_NORMAL_IN, HE_NORMAL_OUT, HE_UNIFORM_IN, HE_UNIFORM_OUT,
        ORTHOGONAL, GEOMETRIC;

        /** Draws a weight of {@code dims}; orthogonal uses gain 1 and the geometric scheme c = 1. */
        public float[] sample(Random r, long... dims) {
            return switch (this) {
                case LECUN_NORMAL -> lecunNormal(r, dims);
                case XAVIER_UNIFORM -> xavierUniform(r, dims);
                case XAVIER_NORMAL -> xavierNormal(r, dims);
                case HE_NORMAL_IN -> heNormal(r, Fan.IN, dims);
                case HE_NORMAL_OUT -> heNormal(r, Fan.OUT, dims);
                case HE_UNIFORM_IN -> heUniform(r, Fan.IN, dims);
                case HE_UNIFORM_OUT -> heUniform(r, Fan.OUT, dims);
                case ORTHOGONAL -> orthogonal(r, 1, dims);
                case GEOMETRIC -> geometric(r, 1, dims);
            };
        }
    }

    /** Fan-in and fan-out of a weight of the given dims (out first, then in, then the receptive field). */
    public static long[] fans(long... dims) {
        if (dims.length < 2) {
            throw new IllegalArgumentException("a weight needs at least 2 dims [out, in, ...], got " + java.util.Arrays.toString(dims));
        }
        long field = 1;
        for (int i = 2; i < dims.length; i++) {
            field *= dims[i];
        }
        return new long[] {dims[1] * field, dims[0] * field};
    }

    private static int size(long... dims) {
        long n = 1;
        for (long d : dims) {
            n = Math.multiplyExact(n, d);
        }
        return Math.toIntExact(n);
    }

    /** Uniform on [-bound, bound): variance bound^2 / 3. */
    public static float[] uniform(Random r, double bound, long... dims) {
        float[] w = new float[size(dims)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) ((2 * r.nextDouble() - 1) * bound);
        }
        return w;
    }

    /** Normal with mean 0 and the given standard deviation. */
    public static float[] normal(Random r, double std, long... dims) {
        float[] w = new float[size(dims)];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (r.nextGaussian() * std);
        }
        return w;
    }

    /** Normal with the given standard deviation, redrawn outside {@code [-2 std, 2 std]} (timm's ViT embeddings). */
    public static float[] truncatedNormal(Random r, double std, long... dims) {
        float[] w = new float[size(dims)];
        for (int i = 0; i < w.length; i++) {
            double g;
            do {
                g = r.nextGaussian();
            } while (Math.abs(g) > 2);
            w[i] = (float) (g * std);
        }
        return w;
    }

    /** LeCun normal: variance 1 / fanIn. */
    public static float[] lecunNormal(Random r, long... dims) {
        return normal(r, Math.sqrt(1.0 / fans(dims)[0]), dims);
    }

    /** Xavier/Glorot uniform: variance 2 / (fanIn + fanOut). */
    public static float[] xavierUniform(Random r, long... dims) {
        long[] f = fans(dims);
        return uniform(r, Math.sqrt(6.0 / (f[0] + f[1])), dims);
    }

    /** Xavier/Glorot normal: variance 2 / (fanIn + fanOut). */
    public static float[] xavierNormal(Random r, long... dims) {
        long[] f = fans(dims);
        return normal(r, Math.sqrt(2.0 / (f[0] + f[1])), dims);
    }

    /** He/Kaiming normal for relu: variance 2 / fan. */
    public static float[] heNormal(Random r, Fan fan, long... dims) {
        return normal(r, Math.sqrt(2.0 / fans(dims)[fan.ordinal()]), dims);
    }

    /** He/Kaiming uniform for relu: variance 2 / fan. */
    public static float[] heUniform(Random r, Fan fan, long... dims) {
        return uniform(r, Math.sqrt(6.0 / fans(dims)[fan.ordinal()]), dims);
    }

    /** The geometric-mean scheme: variance c / sqrt(fanIn * fanOut). */
    public static float[] geometric(Random r, double c, long... dims) {
        long[] f = fans(dims);
        return normal(r, Math.sqrt(c / Math.sqrt((double) f[0] * f[1])), dims);
    }

    /**
     * Orthogonal: the weight viewed as {@code [out, fanIn]} has orthonormal rows (out <= fanIn) or columns
     * (out > fanIn), times {@code gain}; from Gram-Schmidt (twice, for stability) on a Gaussian matrix.
     */
    public static float[] orthogonal(Random r, double gain, long... dims) {
        int rows = Math.toIntExact(dims[0]);
        int cols = size(dims) / rows;
        boolean transpose = rows > cols;
        int m = transpose ? cols : rows; // vectors to orthonormalize
        int n = transpose ? rows : cols; // their length
        double[][] q = new double[m][n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                q[i][j] = r.nextGaussian();
            }
            for (int pass = 0; pass < 2; pass++) {
                for (int k = 0; k < i; k++) {
                    double d = 0;
                    for (int j = 0; j < n; j++) {
                        d += q[i][j] * q[k][j];
                    }
                    for (int j = 0; j < n; j++) {
                        q[i][j] -= d * q[k][j];
                    }
                }
            }
            double norm = 0;
            for (int j = 0; j < n; j++) {
                norm += q[i][j] * q[i][j];
            }
            norm = Math.sqrt(norm);
            for (int j = 0; j < n; j++) {
                q[i][j] /= norm;
            }
        }
        float[] w = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                w[i * cols + j] = (float) (gain * (transpose ? q[j][i] : q[i][j]));
            }
        }
        return w;
    }
}

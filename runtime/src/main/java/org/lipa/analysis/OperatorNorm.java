package org.lipa.analysis;

import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.lipa.ops.Conv2d;
import org.lipa.tensor.Shape;

/**
 * Certified upper bounds on spectral norms (largest singular values) of dense matrices and of 2-D
 * convolutions as the operators they are (zero padding, stride, dilation and groups included): numbers
 * that are at least the exact norm of the exact operator, floating-point error included.
 *
 * <p>Dense {@code A [m, n]}: the smaller Gram matrix {@code G} ({@code A A^T} or {@code A^T A}) is formed in
 * double precision, its largest eigenvalue {@code s^2} computed by EJML, and {@code t^2 I - G} for
 * {@code t^2} slightly above {@code s^2} is proven positive definite by {@link PsdCertificate} (the error of
 * forming G, {@code gamma_n ||A||_F^2}, included). Then {@code ||A|| < t}. The bound exceeds the exact norm
 * by a relative few 1e-9 or less.
 *
 * <p>Convolution: a zero-padded convolution of an {@code H x W} input is a restriction of the circular
 * convolution with the same kernel on an {@code N_h x N_w} torus with {@code N_h >= H + pad_h} (and at
 * least the stride-1 output height): the input embeds isometrically, no tap wraps onto the input's
 * support, and the outputs kept (every {@code stride}-th of the stride-1 ones) are a coordinate
 * projection. So {@code ||conv|| <= ||circular conv||}, and the circular convolution is block-diagonalized
 * by the 2-D DFT: its norm is the largest over the {@code N_h N_w} frequencies of the spectral norm of the
 * {@code c_out x c_in} matrix {@code K(w) = sum_ab kernel[:, :, a, b] exp(2 pi i (w_h a d_h / N_h + w_w b d_w / N_w))}
 * (per group; Sedghi, Gupta and Long 2019 for the circular case). A strided convolution is first rewritten
 * as a stride-1 convolution over the {@code s_h s_w} phases of its padded input (exactly the same operator),
 * since a projection onto every s-th output would lose little only for overlapping windows. Each frequency's matrix is certified
 * as a dense one (through its real {@code 2c_out x 2c_in} form); the rounding of the DFT sums (cosines and
 * sines to a few ulps) is bounded entrywise and added. When the operator is small ({@code C H W <=
 * }{@value #DENSE_LIMIT}), its dense matrix is written out instead and the bound is tight.
 *
 * <pre>{@code
 * OperatorNorm.Bound b = OperatorNorm.dense(w, 256, 784);          // b.upper() >= ||W||_2, certified
 * OperatorNorm.Bound c = OperatorNorm.conv2d(kernel, Shape.of(16, 1, 3, 3), Shape.of(1, 28, 28), conv);
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class OperatorNorm {
    /** Convolutions with at most this many inputs are written out as dense matrices. */
    public static final int DENSE_LIMIT = 1024;
    /** Gram matrices larger than this are not formed (memory: 8 k^2 bytes). */
    public static final int GRAM_LIMIT = 6000;

    private OperatorNorm() {
    }

    /**
     * A norm's certified upper bound.
     *
     * @param estimate the computed norm (largest singular value in double precision; for the torus bound,
     *                 the circular convolution's norm, itself an upper bound of the zero-padded one)
     * @param upper    a certified upper bound: at least the exact norm of the exact operator
     * @param method   how it was obtained
     */
    public record Bound(double estimate, double upper, String method) {
    }

    /** The spectral norm of the row-major {@code rows x cols} matrix {@code a}, with a certified upper bound. */
    public static Bound dense(double[] a, int rows, int cols) {
        DMatrixRMaj m = Dense.matrix(a, rows, cols);
        int k = Math.min(rows, cols);
        if (k > GRAM_LIMIT) {
            throw new IllegalArgumentException("a: a " + rows + " x " + cols + " matrix is too large for a dense certificate (smaller side "
                    + k + " > " + GRAM_LIMIT + ")");
        }
        for (double x : a) {
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException("a: entries must be finite, got " + x);
            }
        }
        DMatrixRMaj g = new DMatrixRMaj(k, k);
        if (rows <= cols) {
            CommonOps_DDRM.multTransB(m, m, g);
        } else {
            CommonOps_DDRM.multTransA(m, m, g);
        }
        double frob2 = PsdCertificate.sumSquares(m);
        // |fl(G) - G| <= gamma_n |A| |A|^T entrywise, whose spectral norm is at most ||A||_F^2
        double formingG = PsdCertificate.gamma(Math.max(rows, cols)) * frob2 * (1 + 1e-6);
        double s2 = largestEigenvalue(g);
        double upper = certifyGram(g, s2, formingG, frob2);
        return new Bound(Math.sqrt(Math.max(s2, 0)), upper, "dense: Gram matrix eigenvalue, Cholesky certificate");
    }

    /**
     * Proves {@code lambda_max(G_exact) < t^2} for t^2 just above the estimate s2, raising t^2 until the
     * certificate passes; returns an upper bound on {@code sqrt(lambda_max)}.
     */
    private static double certifyGram(DMatrixRMaj g, double s2, double formingG, double scale) {
        if (scale == 0) {
            return 0;
        }
        int k = g.numRows;
        double t2 = Math.max(s2, 0);
        DMatrixRMaj d = new DMatrixRMaj(k, k);
        double shift = 0;
        for (int attempt = 0; attempt < 40; attempt++) {
            if (attempt == 0) {
                form(d, g, t2);
                shift = PsdCertificate.suggestedShift(List.of(d), List.of(), formingG + subtractionRounding(g, t2));
                t2 = t2 + 2 * shift + 1e-15 * scale;
            } else {
                t2 = t2 + Math.max(2 * shift, 1e-12 * scale) * Math.pow(4, attempt);
            }
            form(d, g, t2);
            double forming = formingG + subtractionRounding(g, t2);
            PsdCertificate.Result r = PsdCertificate.certify(List.of(d), List.of(), forming, shift);
            if (r.certified()) {
                return Math.nextUp(Math.sqrt(t2));
            }
        }
        throw new ArithmeticException("operator norm: no certificate after 40 attempts (estimate " + Math.sqrt(s2) + ")");
    }

    /** d = t2 I - g. */
    private static void form(DMatrixRMaj d, DMatrixRMaj g, double t2) {
        for (int i = 0; i < g.getNumElements(); i++) {
            d.data[i] = -g.data[i];
        }
        for (int i = 0; i < g.numRows; i++) {
            d.set(i, i, t2 - g.get(i, i));
        }
    }

    /** The rounding of t2 - g_ii on the diagonal (a diagonal error matrix: its norm is its largest entry). */
    private static double subtractionRounding(DMatrixRMaj g, double t2) {
        double m = 0;
        for (int i = 0; i < g.numRows; i++) {
            m = Math.max(m, Math.abs(t2 - g.get(i, i)));
        }
        return PsdCertificate.U * m * (1 + 1e-6);
    }

    private static double largestEigenvalue(DMatrixRMaj g) {
        EigenDecomposition_F64<DMatrixRMaj> e = DecompositionFactory_DDRM.eig(g.numRows, false, true);
        if (!e.decompose(g.copy())) {
            throw new ArithmeticException("operator norm: EJML's symmetric eigensolver did not converge on a " + g.numRows + " x "
                    + g.numRows + " Gram matrix");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < e.getNumberOfEigenvalues(); i++) {
            max = Math.max(max, e.getEigenvalue(i).getReal());
        }
        return max;
    }

    /**
     * The spectral norm of a 2-D convolution without bias, as an operator on inputs of shape
     * {@code input} ({@code [C, H, W]} or {@code [1, C, H, W]}), with a certified upper bound.
     *
     * @param kernel      weights, row-major {@code [c_out, c_in / groups, kh, kw]}
     * @param kernelShape that shape
     * @param conv        stride, padding, dilation and groups
     * @throws IllegalArgumentException when the shapes do not fit
     */
    public static Bound conv2d(double[] kernel, Shape kernelShape, Shape input, Conv2d conv) {
        Geometry g = Geometry.of(kernelShape, input, conv);
        if (kernel.length != g.cOut * g.cInPerGroup * g.kh * g.kw) {
            throw new IllegalArgumentException("kernel: " + kernel.length + " values do not fill " + kernelShape);
        }
        for (double x : kernel) {
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException("kernel: entries must be finite, got " + x);
            }
        }
        if ((long) g.channels * g.h * g.w <= DENSE_LIMIT) {
            Bound b = dense(denseConvolution(kernel, g), g.cOut * g.outH * g.outW, g.channels * g.h * g.w);
            return new Bound(b.estimate(), b.upper(), "convolution written out as a dense matrix: " + b.method());
        }
        return ConvolutionSpectrum.bound(kernel, g);
    }

    /** The convolution's matrix, row-major {@code [c_out * outH * outW, c_in * H * W]}. */
    static double[] denseConvolution(double[] kernel, Geometry g) {
        int cols = g.channels * g.h * g.w;
        double[] m = new double[g.cOut * g.outH * g.outW * cols];
        int outPerGroup = g.cOut / g.groups;
        for (int o = 0; o < g.cOut; o++) {
            int group = o / outPerGroup;
            for (int i = 0; i < g.outH; i++) {
                for (int j = 0; j < g.outW; j++) {
                    int row = (o * g.outH + i) * g.outW + j;
                    for (int c = 0; c < g.cInPerGroup; c++) {
                        int channel = group * g.cInPerGroup + c;
                        for (int a = 0; a < g.kh; a++) {
                            int y = i * g.strideH + a * g.dilationH - g.padH;
                            if (y < 0 || y >= g.h) {
                                continue;
                            }
                            for (int b = 0; b < g.kw; b++) {
                                int x = j * g.strideW + b * g.dilationW - g.padW;
                                if (x < 0 || x >= g.w) {
                                    continue;
                                }
                                m[row * cols + (channel * g.h + y) * g.w + x] += kernel[((o * g.cInPerGroup + c) * g.kh + a) * g.kw + b];
                            }
                        }
                    }
                }
            }
        }
        return m;
    }

    /** A convolution's sizes, checked. */
    record Geometry(int cOut, int cInPerGroup, int kh, int kw, int groups, int channels, int h, int w, int strideH, int strideW,
                    int padH, int padW, int dilationH, int dilationW, int outH, int outW) {
        static Geometry of(Shape kernel, Shape input, Conv2d conv) {
            if (kernel.rank() != 4) {
                throw new IllegalArgumentException("kernelShape: expected [c_out, c_in / groups, kh, kw], got " + kernel);
            }
            if (input.rank() == 4 && input.dim(0) == 1) {
                input = Shape.of(input.dim(1), input.dim(2), input.dim(3));
            }
            if (input.rank() != 3) {
                throw new IllegalArgumentException("input: expected [C, H, W] or [1, C, H, W], got " + input);
            }
            int groups = conv.groups();
            int channels = Math.toIntExact(input.dim(0));
            int cOut = Math.toIntExact(kernel.dim(0));
            int cIn = Math.toIntExact(kernel.dim(1));
            if (cIn * groups != channels || cOut % groups != 0) {
                throw new IllegalArgumentException("kernelShape: " + kernel + " with " + groups + " groups does not take " + channels
                        + " input channels");
            }
            int h = Math.toIntExact(input.dim(1));
            int w = Math.toIntExact(input.dim(2));
            int kh = Math.toIntExact(kernel.dim(2));
            int kw = Math.toIntExact(kernel.dim(3));
            int sh = (int) conv.stride().h();
            int sw = (int) conv.stride().w();
            int ph = (int) conv.padding().h();
            int pw = (int) conv.padding().w();
            int dh = (int) conv.dilation().h();
            int dw = (int) conv.dilation().w();
            int outH = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
            int outW = (w + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
            if (outH < 1 || outW < 1) {
                throw new IllegalArgumentException("input: " + input + " is smaller than the dilated kernel " + kernel);
            }
            return new Geometry(cOut, cIn, kh, kw, groups, channels, h, w, sh, sw, ph, pw, dh, dw, outH, outW);
        }
    }
}

package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * The torus bound of {@link OperatorNorm#conv2d}: the largest spectral norm, over the frequencies of an
 * {@code N_h x N_w} torus, of the kernel's transfer matrix, certified frequency by frequency.
 *
 * <p>Most frequencies are certified by their Frobenius norm alone; the others by a Cholesky certificate
 * of {@code t^2 I - P^T P} with P the real form {@code [[Re K, -Im K], [Im K, Re K]]} of the transfer
 * matrix K (whose singular values are K's, each twice). Frequencies {@code w} and {@code -w} have
 * conjugate transfer matrices, so only half of them are visited.
 */
final class ConvolutionSpectrum {
    /** Error of one computed tap factor exp(i theta_h) exp(i theta_w), per real component, in units of u: the
     * angle 2 pi m / N to 4 u relative (|theta| <= 2 pi), cos and sin to an ulp, the complex product's roundings. */
    private static final double TAP_ERROR = 128 * PsdCertificate.U;

    private ConvolutionSpectrum() {
    }

    static OperatorNorm.Bound bound(double[] kernel, OperatorNorm.Geometry g) {
        if (g.strideH() > 1 || g.strideW() > 1) {
            return polyphase(kernel, g);
        }
        int nh = Math.max(g.h() + g.padH(), g.h() + 2 * g.padH() - g.dilationH() * (g.kh() - 1));
        int nw = Math.max(g.w() + g.padW(), g.w() + 2 * g.padW() - g.dilationW() * (g.kw() - 1));
        double[][] cosH = new double[nh][g.kh()];
        double[][] sinH = new double[nh][g.kh()];
        double[][] cosW = new double[nw][g.kw()];
        double[][] sinW = new double[nw][g.kw()];
        table(cosH, sinH, nh, g.dilationH());
        table(cosW, sinW, nw, g.dilationW());
        int outPerGroup = g.cOut() / g.groups();
        int in = g.cInPerGroup();
        // |K_computed - K_exact| entrywise <= sqrt 2 (gamma_{k^2} + TAP_ERROR) sum_ab |kernel[o, c, a, b]|
        double taps = g.kh() * g.kw();
        double perUnit = Math.sqrt(2) * (PsdCertificate.gamma((long) taps + 1) + TAP_ERROR);
        double dftError2 = 0;
        for (int oc = 0; oc < g.cOut() * in; oc++) {
            double s = 0;
            for (int t = 0; t < taps; t++) {
                s += Math.abs(kernel[oc * (int) taps + t]);
            }
            dftError2 += s * s;
        }
        double dftError = perUnit * Math.sqrt(dftError2) * (1 + 1e-6);

        List<int[]> frequencies = new ArrayList<>();
        for (int p = 0; p < nh; p++) {
            for (int q = 0; q <= nw / 2; q++) {
                for (int group = 0; group < g.groups(); group++) {
                    frequencies.add(new int[] {p, q, group});
                }
            }
        }
        int rows = 2 * outPerGroup;
        int cols = 2 * in;
        // pass 1: per frequency, a lower estimate (power iteration on the Gram matrix) and Gershgorin's upper bound
        double[] gershgorin = new double[frequencies.size()];
        double[] squares = new double[frequencies.size()]; // ||P||_F^2, for the rounding of forming the Gram matrix
        double best2 = 0;
        for (int f = 0; f < frequencies.size(); f++) {
            DMatrixRMaj p = transfer(kernel, g, frequencies.get(f), cosH, sinH, cosW, sinW);
            squares[f] = PsdCertificate.sumSquares(p);
            DMatrixRMaj gram = gram(p);
            gershgorin[f] = maxRowSum(gram);
            best2 = Math.max(best2, powerEstimate(gram, 300));
        }
        if (best2 == 0) {
            return new OperatorNorm.Bound(0, dftError == 0 ? 0 : Math.nextUp(dftError), "circular convolution on a " + nh + " x " + nw
                    + " torus (a zero kernel)");
        }
        // pass 2: certify t^2 I - P^T P at every frequency for one t just above the best, by Gershgorin where it suffices
        int k = Math.min(rows, cols);
        double gammaGram = PsdCertificate.gamma(Math.max(rows, cols));
        double shift = 8 * PsdCertificate.gamma(Math.max(rows, cols) + 1) * (k + Math.sqrt(k)) * best2 + Double.MIN_NORMAL;
        double t2 = best2 * (1 + 1e-12) + 2 * shift;
        boolean[] done = new boolean[frequencies.size()];
        for (int attempt = 0; attempt < 30; attempt++) {
            boolean all = true;
            for (int f = 0; f < frequencies.size(); f++) {
                if (done[f]) {
                    continue;
                }
                // lambda_max(G_exact) <= Gershgorin's bound on the computed G (its sums rounded up) + ||G_computed - G_exact||,
                // which is at most gamma ||P||_F^2
                double forming = gammaGram * squares[f] * (1 + 1e-6);
                if (gershgorin[f] * (1 + PsdCertificate.gamma(k) + 1e-12) + forming < t2) {
                    done[f] = true;
                    continue;
                }
                done[f] = certified(transfer(kernel, g, frequencies.get(f), cosH, sinH, cosW, sinW), t2);
                all &= done[f];
            }
            if (all) {
                double upper = Math.nextUp(Math.nextUp(Math.sqrt(t2)) + dftError);
                return new OperatorNorm.Bound(Math.sqrt(best2), upper, "circular convolution on a " + nh + " x " + nw + " torus, "
                        + frequencies.size() + " frequencies certified (Gershgorin or Cholesky)");
            }
            t2 += 2 * shift * Math.pow(4, attempt + 1) + 1e-10 * best2 * Math.pow(4, attempt);
        }
        throw new ArithmeticException("convolution norm: no certificate after 30 attempts (estimate " + Math.sqrt(best2) + ")");
    }

    /** The largest row sum of |G|: an upper bound on G's eigenvalues. */
    private static double maxRowSum(DMatrixRMaj g) {
        double max = 0;
        for (int i = 0; i < g.numRows; i++) {
            double s = 0;
            for (int j = 0; j < g.numCols; j++) {
                s += Math.abs(g.data[i * g.numCols + j]);
            }
            max = Math.max(max, s);
        }
        return max;
    }

    /**
     * A strided convolution as a stride-1 one: split the zero-padded input into its {@code s_h s_w} phases
     * ({@code x_r[c, i, j] = x_pad[c, s_h i + r_h, s_w j + r_w]}, an isometric embedding of the input), and a
     * tap at offset {@code a d_h = s_h q + r_h} becomes tap q of phase channel r. Every tap the outputs read
     * lies inside the padded phase grid, so the torus of that grid's size sees no wrap-around.
     */
    private static OperatorNorm.Bound polyphase(double[] kernel, OperatorNorm.Geometry g) {
        int sh = g.strideH();
        int sw = g.strideW();
        int qh = (g.kh() - 1) * g.dilationH() / sh + 1;
        int qw = (g.kw() - 1) * g.dilationW() / sw + 1;
        int phases = sh * sw;
        int inPerGroup = g.cInPerGroup() * phases;
        double[] k = new double[g.cOut() * inPerGroup * qh * qw];
        for (int o = 0; o < g.cOut(); o++) {
            for (int c = 0; c < g.cInPerGroup(); c++) {
                for (int a = 0; a < g.kh(); a++) {
                    int rh = a * g.dilationH() % sh;
                    int q1 = a * g.dilationH() / sh;
                    for (int b = 0; b < g.kw(); b++) {
                        int rw = b * g.dilationW() % sw;
                        int q2 = b * g.dilationW() / sw;
                        int channel = (c * sh + rh) * sw + rw;
                        k[((o * inPerGroup + channel) * qh + q1) * qw + q2] = kernel[((o * g.cInPerGroup() + c) * g.kh() + a) * g.kw() + b];
                    }
                }
            }
        }
        int hp = Math.ceilDiv(g.h() + 2 * g.padH(), sh);
        int wp = Math.ceilDiv(g.w() + 2 * g.padW(), sw);
        OperatorNorm.Geometry phased = new OperatorNorm.Geometry(g.cOut(), inPerGroup, qh, qw, g.groups(), inPerGroup * g.groups(), hp, wp,
                1, 1, 0, 0, 1, 1, g.outH(), g.outW());
        OperatorNorm.Bound b = bound(k, phased);
        return new OperatorNorm.Bound(b.estimate(), b.upper(), b.method() + ", after splitting the stride " + sh + "x" + sw
                + " into " + phases + " phases");
    }

    /** Whether {@code t2 I - P^T P} (or {@code P P^T}) is certified positive definite. */
    private static boolean certified(DMatrixRMaj p, double t2) {
        DMatrixRMaj gram = gram(p);
        double forming = PsdCertificate.gamma(Math.max(p.numRows, p.numCols)) * PsdCertificate.sumSquares(p) * (1 + 1e-6);
        DMatrixRMaj d = new DMatrixRMaj(gram.numRows, gram.numCols);
        double maxDiagonal = 0;
        for (int i = 0; i < gram.getNumElements(); i++) {
            d.data[i] = -gram.data[i];
        }
        for (int i = 0; i < gram.numRows; i++) {
            d.set(i, i, t2 - gram.get(i, i));
            maxDiagonal = Math.max(maxDiagonal, Math.abs(d.get(i, i)));
        }
        forming += PsdCertificate.U * maxDiagonal * (1 + 1e-6);
        double shift = PsdCertificate.suggestedShift(List.of(d), List.of(), forming);
        return PsdCertificate.certify(List.of(d), List.of(), forming, shift).certified();
    }

    private static DMatrixRMaj gram(DMatrixRMaj p) {
        int k = Math.min(p.numRows, p.numCols);
        DMatrixRMaj gram = new DMatrixRMaj(k, k);
        if (p.numRows <= p.numCols) {
            CommonOps_DDRM.multTransB(p, p, gram);
        } else {
            CommonOps_DDRM.multTransA(p, p, gram);
        }
        return gram;
    }

    /** The largest Rayleigh quotient v^T G v / v^T v seen in power steps on G: a lower estimate of lambda_max(G). */
    private static double powerEstimate(DMatrixRMaj g, int steps) {
        int n = g.numRows;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = 1 + 0.01 * i; // a fixed start with a component along every direction in practice
        }
        double best = 0;
        double previous = 0;
        for (int s = 0; s < steps; s++) {
            double nv = Vectors.norm(v);
            if (nv == 0) {
                return best;
            }
            for (int i = 0; i < n; i++) {
                v[i] /= nv;
            }
            double[] gv = new double[n];
            for (int i = 0; i < n; i++) {
                double acc = 0;
                for (int j = 0; j < n; j++) {
                    acc += g.data[i * n + j] * v[j];
                }
                gv[i] = acc;
            }
            double rayleigh = 0;
            for (int i = 0; i < n; i++) {
                rayleigh += v[i] * gv[i];
            }
            best = Math.max(best, rayleigh);
            if (Math.abs(rayleigh - previous) <= 1e-13 * rayleigh) {
                break;
            }
            previous = rayleigh;
            v = gv;
        }
        return best;
    }

    /** The real form of the transfer matrix at frequency (p, q) of one group. */
    private static DMatrixRMaj transfer(double[] kernel, OperatorNorm.Geometry g, int[] frequency, double[][] cosH, double[][] sinH,
                                        double[][] cosW, double[][] sinW) {
        int outPerGroup = g.cOut() / g.groups();
        int in = g.cInPerGroup();
        int p = frequency[0];
        int q = frequency[1];
        int group = frequency[2];
        DMatrixRMaj m = new DMatrixRMaj(2 * outPerGroup, 2 * in);
        int taps = g.kh() * g.kw();
        double[] re = new double[taps];
        double[] im = new double[taps];
        for (int a = 0; a < g.kh(); a++) {
            for (int b = 0; b < g.kw(); b++) {
                double c1 = cosH[p][a];
                double s1 = sinH[p][a];
                double c2 = cosW[q][b];
                double s2 = sinW[q][b];
                re[a * g.kw() + b] = c1 * c2 - s1 * s2;
                im[a * g.kw() + b] = s1 * c2 + c1 * s2;
            }
        }
        for (int o = 0; o < outPerGroup; o++) {
            int oo = group * outPerGroup + o;
            for (int c = 0; c < in; c++) {
                int base = (oo * in + c) * taps;
                double sr = 0;
                double si = 0;
                for (int t = 0; t < taps; t++) {
                    sr += kernel[base + t] * re[t];
                    si += kernel[base + t] * im[t];
                }
                m.set(o, c, sr);
                m.set(o, in + c, -si);
                m.set(outPerGroup + o, c, si);
                m.set(outPerGroup + o, in + c, sr);
            }
        }
        return m;
    }

    /** cos and sin of 2 pi (p a d mod n) / n, the integer phase reduced exactly before the angle is formed. */
    private static void table(double[][] cos, double[][] sin, int n, int dilation) {
        for (int p = 0; p < n; p++) {
            for (int a = 0; a < cos[p].length; a++) {
                long m = ((long) p * a * dilation) % n;
                double theta = 2 * Math.PI * m / n;
                cos[p][a] = Math.cos(theta);
                sin[p][a] = Math.sin(theta);
            }
        }
    }
}

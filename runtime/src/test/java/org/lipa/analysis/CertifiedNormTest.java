package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The certified local norm against exact rational arithmetic: for relu-type nets with double weights,
 * inputs and direction, {@code ||J(x) v||^2} and the activation pattern are computed exactly in
 * BigDecimal (products and sums of doubles are exact there).
 */
class CertifiedNormTest {
    @Test
    void neverExceedsTheExactNormAlongVAndLosesAlmostNothing() {
        Random r = new Random(8);
        int checked = 0;
        for (Nonlinearity a : List.of(Nonlinearity.RELU, Nonlinearity.leakyRelu(0.1), Nonlinearity.leakyRelu(1.7))) {
            for (int seed = 0; seed < 10; seed++) {
                FeedForward net = ReferenceNets.random(seed, a, 1.5, 0.5, 5, 12, 9, 3);
                for (int t = 0; t < 10; t++) {
                    double[] x = FeedForwardTest.normal(r, 5);
                    double[] v = FeedForwardTest.normal(r, 5);
                    double bound = CertifiedNorm.lowerBound(net, x, v);
                    BigDecimal exact2 = exactNormSquared(net, x, v);
                    BigDecimal b = new BigDecimal(bound);
                    assertTrue(b.multiply(b).multiply(squaredNorm(v)).compareTo(exact2) <= 0, a + ": " + bound + " exceeds the exact value");
                    double exact = Math.sqrt(exact2.doubleValue() / squaredNorm(v).doubleValue());
                    assertEquals(exact, bound, 1e-12 * exact, "the allowance for rounding is tiny");
                    checked++;
                }
            }
        }
        assertEquals(300, checked);
    }

    @Test
    void theTopSingularVectorGivesTheJacobiansNorm() {
        FeedForward net = ReferenceNets.random(2, Nonlinearity.RELU, 1.5, 0.5, 6, 20, 4);
        double[] x = FeedForwardTest.normal(new Random(3), 6);
        Dense.Svd svd = Dense.svd(net.jacobian(x).dense(), 4, 6);
        double bound = CertifiedNorm.lowerBound(net, x, svd.right()[0]);
        assertTrue(bound <= svd.values()[0] && bound >= svd.values()[0] * (1 - 1e-13), bound + " vs " + svd.values()[0]);
    }

    @Test
    void aPreActivationAtOrWithinRoundingOfTheKinkIsNotCertified() {
        // one neuron z = x0 + x1 - 1: at (1, 0) exactly on the kink; at (1, 3e-16) its computed value, 2^-52,
        // is positive, and so is the true one (3e-16), but the rounding error could have flipped it
        FeedForward net = FeedForward.of(List.of(new double[][] {{1, 1}}, new double[][] {{2}}), List.of(new double[] {-1}, new double[] {0}),
                Nonlinearity.RELU);
        double[] v = {1, 0};
        assertTrue(Double.isNaN(CertifiedNorm.lowerBound(net, new double[] {1, 0}, v)));
        double[] near = {1, 3e-16};
        assertTrue(net.preActivations(near)[0][0] > 0, "the floating-point pattern is active");
        assertTrue(Double.isNaN(CertifiedNorm.lowerBound(net, near, v)));
        assertEquals(2, CertifiedNorm.lowerBound(net, new double[] {1, 1e-3}, v), 1e-14);
        assertEquals(0, CertifiedNorm.lowerBound(net, new double[] {1, -1e-3}, v));
    }

    @Test
    void smoothActivationsAreCertifiedJustBelowTheirEstimate() {
        for (Nonlinearity a : List.of(Nonlinearity.TANH, Nonlinearity.SIGMOID, Nonlinearity.GELU, Nonlinearity.softplus(3))) {
            FeedForward net = ReferenceNets.random(5, a, 2, 0.5, 7, 30, 30, 3);
            double[] x = FeedForwardTest.normal(new Random(6), 7);
            Dense.Svd svd = Dense.svd(net.jacobian(x).dense(), 3, 7);
            double bound = CertifiedNorm.lowerBound(net, x, svd.right()[0]);
            // the decomposition's own value is accurate to a few ulps: the bound may not exceed it by more
            assertTrue(bound <= svd.values()[0] * (1 + 1e-15) && bound > svd.values()[0] * (1 - 1e-12), a + ": " + bound + " vs " + svd.values()[0]);
        }
    }

    /** ||J(x) v||^2 exactly, with the activation pattern at x decided exactly (x must not sit on a kink). */
    static BigDecimal exactNormSquared(FeedForward net, double[] x, double[] v) {
        int hidden = net.layers() - 1;
        double slope = net.activation().kind() == Nonlinearity.Kind.RELU ? 0 : net.activation().parameter();
        BigDecimal[] h = exact(x);
        BigDecimal[] t = exact(v);
        for (int l = 0; l <= hidden; l++) {
            BigDecimal[] z = affine(net, l, h, true);
            BigDecimal[] a = affine(net, l, t, false);
            if (l == hidden) {
                t = a;
                break;
            }
            for (int k = 0; k < z.length; k++) {
                if (z[k].signum() == 0) {
                    throw new IllegalArgumentException("x sits on a kink");
                }
                BigDecimal s = z[k].signum() > 0 ? BigDecimal.ONE : new BigDecimal(slope);
                z[k] = z[k].multiply(s);
                a[k] = a[k].multiply(s);
            }
            h = z;
            t = a;
        }
        BigDecimal s = BigDecimal.ZERO;
        for (BigDecimal e : t) {
            s = s.add(e.multiply(e));
        }
        return s;
    }

    private static BigDecimal[] affine(FeedForward net, int l, BigDecimal[] in, boolean bias) {
        double[] w = net.weight(l);
        double[] b = net.bias(l);
        BigDecimal[] out = new BigDecimal[b.length];
        for (int i = 0; i < out.length; i++) {
            BigDecimal s = bias ? new BigDecimal(b[i]) : BigDecimal.ZERO;
            for (int j = 0; j < in.length; j++) {
                s = s.add(new BigDecimal(w[i * in.length + j]).multiply(in[j]));
            }
            out[i] = s;
        }
        return out;
    }

    private static BigDecimal[] exact(double[] a) {
        BigDecimal[] b = new BigDecimal[a.length];
        for (int i = 0; i < a.length; i++) {
            b[i] = new BigDecimal(a[i]);
        }
        return b;
    }

    private static BigDecimal squaredNorm(double[] v) {
        BigDecimal s = BigDecimal.ZERO;
        for (double e : v) {
            s = s.add(new BigDecimal(e).multiply(new BigDecimal(e)));
        }
        return s.round(MathContext.UNLIMITED);
    }
}

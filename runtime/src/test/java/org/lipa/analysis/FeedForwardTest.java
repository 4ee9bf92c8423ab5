package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.ref.RefBackend;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** The double-precision network against central differences, the traced graph and LipSDP's files. */
class FeedForwardTest {
    @Test
    void lipSdpNetworksLoadWithTheirPublishedShapes() {
        assertArrayEquals(new int[] {784, 50, 10}, ReferenceNets.lipSdpMnist().widths());
        assertArrayEquals(new int[] {2, 10, 30, 20, 2}, ReferenceNets.lipSdpRandom().widths());
    }

    @Test
    void jacobianProductsMatchCentralDifferencesAndEachOther() {
        for (Nonlinearity a : List.of(Nonlinearity.TANH, Nonlinearity.SIGMOID, Nonlinearity.GELU, Nonlinearity.softplus(3))) {
            FeedForward net = ReferenceNets.random(7, a, 1.5, 0.3, 5, 8, 6, 3);
            Random r = new Random(1);
            double[] x = normal(r, 5);
            double[] v = normal(r, 5);
            double[] u = normal(r, 3);
            FeedForward.Jacobian j = net.jacobian(x);
            double[] jv = j.apply(v);
            double h = 1e-5;
            double[] plus = net.forward(axpy(x, h, v));
            double[] minus = net.forward(axpy(x, -h, v));
            for (int i = 0; i < 3; i++) {
                assertEquals((plus[i] - minus[i]) / (2 * h), jv[i], 1e-7, a + " output " + i);
            }
            assertEquals(dot(u, jv), dot(j.applyTranspose(u), v), 1e-12, a + ": <u, J v> = <J^T u, v>");
        }
    }

    @Test
    void theTracedGraphComputesTheSameFunction() {
        FeedForward net = ReferenceNets.random(3, Nonlinearity.leakyRelu(0.1), 1, 0.5, 4, 7, 2);
        double[] x = normal(new Random(2), 4);
        try (Arena arena = Arena.ofConfined()) {
            Differentiable f = net.trace(new RefBackend(), arena);
            Tensor y = f.apply(arena, List.of(Tensor.of(arena, DType.F32, x, 1, 4))).get(0);
            assertArrayEquals(net.forward(x), y.toDoubleArray(), 1e-5);
        }
    }

    @Test
    void slopeIntervalsContainEveryDifferenceQuotient() {
        Random r = new Random(5);
        for (Nonlinearity a : List.of(Nonlinearity.RELU, Nonlinearity.leakyRelu(0.2), Nonlinearity.TANH, Nonlinearity.SIGMOID,
                Nonlinearity.GELU)) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < 200_000; k++) {
                double p = 4 * r.nextGaussian();
                double q = p + 0.5 * r.nextGaussian();
                double s = (a.value(p) - a.value(q)) / (p - q);
                lo = Math.min(lo, s);
                hi = Math.max(hi, s);
            }
            // the quotients are computed in floating point: allow their own rounding
            assertTrue(lo >= a.slopeLower() - 1e-9 && hi <= a.slopeUpper() + 1e-9, a + ": quotients in [" + lo + ", " + hi + "]");
            // the interval is tight: the derivative reaches both ends
            assertTrue(hi > a.slopeUpper() - 1e-3 && lo < a.slopeLower() + 1e-3, a + ": quotients in [" + lo + ", " + hi + "]");
        }
    }

    @Test
    void badShapesAreNamed() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> FeedForward.of(List.of(new double[3][4], new double[2][5]), null, Nonlinearity.RELU));
        assertTrue(e.getMessage().contains("weights[1]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Nonlinearity.parse("swishy"));
        assertEquals(Nonlinearity.leakyRelu(0.2), Nonlinearity.parse("leaky_relu:0.2"));
    }

    static double[] normal(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    private static double[] axpy(double[] x, double s, double[] v) {
        double[] r = x.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] += s * v[i];
        }
        return r;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}

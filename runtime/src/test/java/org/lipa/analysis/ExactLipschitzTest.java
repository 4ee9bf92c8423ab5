package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The 2-D region-enumeration oracle against the network itself, a closed form and a dense grid. */
class ExactLipschitzTest {
    private static final List<Nonlinearity> ACTIVATIONS = List.of(Nonlinearity.RELU, Nonlinearity.leakyRelu(0.1), Nonlinearity.leakyRelu(-0.4));

    @Test
    void everyRegionHasTheNetworksPatternAndJacobianInside() {
        for (Nonlinearity a : ACTIVATIONS) {
            FeedForward net = ReferenceNets.random(3, a, 1.5, 0.5, 2, 8, 8, 3);
            ExactLipschitz.Result r = ExactLipschitz.of(net);
            assertTrue(r.regions().size() > 30, a + ": only " + r.regions().size() + " regions");
            double area = 0;
            for (ExactLipschitz.Region g : r.regions()) {
                area += g.area();
                double[][] z = net.preActivations(g.interior());
                for (int l = 0; l < g.slopes().length; l++) {
                    for (int k = 0; k < z[l].length; k++) {
                        assertTrue(z[l][k] != 0, "interior point on a kink");
                        assertEquals(a.derivative(z[l][k]), g.slopes()[l][k], a + ": pattern at " + g.interior()[0] + ", " + g.interior()[1]);
                    }
                }
                double[] j = net.jacobian(g.interior()).dense();
                assertArrayEquals(j, g.jacobian(), 1e-12 * (1 + g.norm()), "region Jacobian");
                assertEquals(Dense.singularValues(j, net.outputSize(), 2)[0], g.norm(), 1e-12 * g.norm());
            }
            double side = 2 * r.half();
            assertEquals(side * side, area, 1e-9 * side * side, a + ": the regions tile the box");
        }
    }

    @Test
    void positiveWeightsWithoutBiasesAttainTheNormOfTheWeightProduct() {
        // with positive weights every Jacobian W_L D .. D W_1 is entrywise at most the all-active one, whose norm is largest
        Random r = new Random(4);
        int[] widths = {2, 6, 5, 3};
        List<double[][]> w = new java.util.ArrayList<>();
        double[] product = null;
        for (int l = 0; l + 1 < widths.length; l++) {
            double[][] m = new double[widths[l + 1]][widths[l]];
            for (double[] row : m) {
                for (int j = 0; j < row.length; j++) {
                    row[j] = r.nextDouble();
                }
            }
            w.add(m);
            product = product == null ? flatten(m) : multiply(flatten(m), product, widths[l + 1], widths[l], 2);
        }
        FeedForward net = FeedForward.of(w, null, Nonlinearity.RELU);
        double expected = Dense.singularValues(product, 3, 2)[0];
        assertEquals(expected, ExactLipschitz.of(net).lipschitz(), 1e-12 * expected);
    }

    @Test
    void aDenseGridNeverBeatsTheOracleAndComesClose() {
        for (Nonlinearity a : ACTIVATIONS) {
            FeedForward net = ReferenceNets.random(9, a, 1.5, 0.5, 2, 10, 10, 2);
            ExactLipschitz.Result exact = ExactLipschitz.of(net);
            double best = 0;
            int steps = 150;
            for (double radius : new double[] {1, 10, 100, 1000}) {
                for (int i = 0; i <= steps; i++) {
                    for (int j = 0; j <= steps; j++) {
                        double[] x = {radius * (2.0 * i / steps - 1) + 1e-7, radius * (2.0 * j / steps - 1) - 1e-7};
                        best = Math.max(best, Dense.singularValues(net.jacobian(x).dense(), 2, 2)[0]);
                    }
                }
            }
            assertTrue(best <= exact.lipschitz() * (1 + 1e-12), a + ": grid " + best + " > exact " + exact.lipschitz());
            // the grid is 1/75 of the box at each scale: it can miss small regions, not big ones
            assertTrue(best >= 0.9 * exact.lipschitz(), a + ": grid " + best + " far below exact " + exact.lipschitz());
        }
    }

    @Test
    void refusesWhatItCannotEnumerate() {
        assertThrows(IllegalArgumentException.class, () -> ExactLipschitz.of(ReferenceNets.random(1, Nonlinearity.RELU, 1, 0, 3, 4, 1)));
        assertThrows(IllegalArgumentException.class, () -> ExactLipschitz.of(ReferenceNets.random(1, Nonlinearity.TANH, 1, 0, 2, 4, 1)));
    }

    private static double[] flatten(double[][] m) {
        double[] f = new double[m.length * m[0].length];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, f, i * m[0].length, m[0].length);
        }
        return f;
    }

    /** (rows x inner) times (inner x cols), row-major. */
    static double[] multiply(double[] a, double[] b, int rows, int inner, int cols) {
        double[] c = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            for (int k = 0; k < inner; k++) {
                for (int j = 0; j < cols; j++) {
                    c[i * cols + j] += a[i * inner + k] * b[k * cols + j];
                }
            }
        }
        return c;
    }
}

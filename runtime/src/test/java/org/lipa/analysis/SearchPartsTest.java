package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The lower-bound search's parts: local norms, the ascent gradient, flip predictions and moves, against direct computations. */
class SearchPartsTest {
    @Test
    void localNormsMatchADenseDecompositionOnEveryPath() {
        Random r = new Random(3);
        // output side (m <= n, m <= 64), input side (n < m), power iteration (both over 64)
        for (int[] widths : new int[][] {{30, 20, 4}, {3, 20, 40}, {70, 50, 80}}) {
            FeedForward net = ReferenceNets.random(2, Nonlinearity.RELU, 1.5, 0.3, widths);
            double[] x = FeedForwardTest.normal(r, widths[0]);
            LocalJacobian p = LocalJacobian.at(net, x, null, 7);
            double[] j = net.jacobian(x).dense();
            double expected = Dense.singularValues(j, net.outputSize(), net.inputSize())[0];
            double tolerance = widths[0] > LocalJacobian.DENSE_LIMIT ? 1e-8 : 1e-13;
            assertEquals(expected, p.sigma, tolerance * expected, java.util.Arrays.toString(widths));
            assertTrue(p.sigma <= expected * (1 + 1e-14), "an estimate from a unit vector never exceeds the norm");
            assertEquals(1, Vectors.norm(p.v), 1e-12);
            double[] jv = net.jacobian(x).apply(p.v);
            Vectors.scale(jv, 1 / p.sigma);
            assertArrayEquals(jv, p.u, 1e-12);
        }
    }

    @Test
    void theDenseSideNormsAreTheFlipTermsNorms() {
        FeedForward net = ReferenceNets.random(4, Nonlinearity.RELU, 1.5, 0.3, 9, 7, 6, 3);
        double[] x = FeedForwardTest.normal(new Random(1), 9);
        LocalJacobian out = LocalJacobian.at(net, x, null, 1);
        assertNotNull(out.downstream2);
        for (int l = 0; l < 2; l++) {
            for (int k = 0; k < out.z[l].length; k++) {
                // ||W_H D .. W_{l+1} e_k||^2: the squared norm of J's change per unit slope change of neuron k
                double[][] s = copy(out.slopes);
                s[l][k] += 1;
                double[] change = difference(dense(net, s), dense(net, out.slopes));
                // J' - J = b a^T with a = row k of W_l D .. W_0: its squared Frobenius norm is ||b||^2 ||a||^2
                double rowNorm2 = squaredNorm(out.preActivationGradient(l, k));
                assertEquals(squaredNorm(change), out.downstream2[l][k] * rowNorm2, 1e-10 * (1 + squaredNorm(change)), "layer " + l + " neuron " + k);
            }
        }
        FeedForward wide = ReferenceNets.random(4, Nonlinearity.RELU, 1.5, 0.3, 3, 7, 6, 9);
        LocalJacobian in = LocalJacobian.at(wide, FeedForwardTest.normal(new Random(2), 3), null, 1);
        assertNotNull(in.upstream2);
        for (int l = 0; l < 2; l++) {
            for (int k = 0; k < in.z[l].length; k++) {
                assertEquals(squaredNorm(in.preActivationGradient(l, k)), in.upstream2[l][k], 1e-12 * (1 + in.upstream2[l][k]));
            }
        }
    }

    @Test
    void theAscentGradientIsTheDerivativeOfTheNorm() {
        for (Nonlinearity a : List.of(Nonlinearity.TANH, Nonlinearity.SIGMOID, Nonlinearity.GELU, Nonlinearity.softplus(4))) {
            FeedForward net = ReferenceNets.random(5, a, 1.5, 0.3, 6, 10, 8, 3);
            Random r = new Random(4);
            double[] x = FeedForwardTest.normal(r, 6);
            double[] g = SmoothAscent.gradient(LocalJacobian.at(net, x.clone(), null, 1));
            double[] d = FeedForwardTest.normal(r, 6);
            double h = 1e-5;
            double plus = LocalJacobian.at(net, NetKernels.plus(x, h, d), null, 1).sigma;
            double minus = LocalJacobian.at(net, NetKernels.plus(x, -h, d), null, 1).sigma;
            double expected = (plus - minus) / (2 * h);
            assertEquals(expected, Vectors.dot(g, d), 1e-6 * (1 + Math.abs(expected)), a.toString());
        }
    }

    @Test
    void secondDerivativesMatchDifferencesOfTheFirst() {
        for (Nonlinearity a : List.of(Nonlinearity.TANH, Nonlinearity.SIGMOID, Nonlinearity.GELU, Nonlinearity.softplus(3))) {
            for (double z : new double[] {-2.5, -0.7, 0, 0.4, 1.9}) {
                double h = 1e-6;
                double expected = (a.derivative(z + h) - a.derivative(z - h)) / (2 * h);
                assertEquals(expected, SmoothAscent.secondDerivative(a, z), 1e-7, a + " at " + z);
                assertTrue(Math.abs(SmoothAscent.secondDerivative(a, z)) <= CertifiedNorm.curvature(a), a + ": curvature bound");
            }
        }
    }

    @Test
    void everyFlipPredictionIsALowerEstimateOfTheNormAfterTheFlip() {
        for (int[] widths : new int[][] {{12, 9, 7, 3}, {3, 9, 7, 12}, {70, 20, 70}}) {
            FeedForward net = ReferenceNets.random(6, Nonlinearity.leakyRelu(0.2), 1.5, 0.3, widths);
            LocalJacobian at = LocalJacobian.at(net, FeedForwardTest.normal(new Random(5), widths[0]), null, 1);
            SearchState state = new SearchState(net, LowerBoundSearch.Options.defaults(), message -> { });
            List<RegionSearch.Flip> flips = new RegionSearch(state).candidates(at);
            assertEquals(java.util.Arrays.stream(widths, 1, widths.length - 1).sum(), flips.size());
            for (RegionSearch.Flip f : flips) {
                double[][] s = copy(at.slopes);
                s[f.layer()][f.neuron()] = net.activation().derivative(-at.z[f.layer()][f.neuron()]);
                double after = Dense.singularValues(dense(net, s), net.outputSize(), net.inputSize())[0];
                assertTrue(f.predicted() <= after * (1 + 1e-12), f + " predicts above " + after);
            }
        }
    }

    @Test
    void whenTheHiddenNeuronsAreFewerThanTheInputsAMoveFlipsExactlyItsNeuron() {
        FeedForward net = ReferenceNets.lipSdpMnist(); // 50 hidden neurons, 784 inputs
        SearchState state = new SearchState(net, LowerBoundSearch.Options.defaults(), message -> { });
        RegionSearch search = new RegionSearch(state);
        LocalJacobian at = LocalJacobian.at(net, FeedForwardTest.normal(new Random(6), 784), null, 1);
        BitSet before = RegionSearch.pattern(at);
        for (int k = 0; k < 50; k += 7) {
            RegionSearch.Move m = search.move(at, 0, k);
            assertEquals(k, m.neuron());
            BitSet after = RegionSearch.pattern(LocalJacobian.at(net, m.x(), null, 1));
            after.xor(before);
            assertEquals(BitSet.valueOf(new long[] {1L << k}), after, "neuron " + k);
        }
    }

    @Test
    void onATwoDimensionalInputAMoveLandsInARegionNextDoor() {
        FeedForward net = ReferenceNets.random(7, Nonlinearity.RELU, 1.5, 0.5, 2, 12, 12, 2);
        SearchState state = new SearchState(net, LowerBoundSearch.Options.defaults(), message -> { });
        RegionSearch search = new RegionSearch(state);
        LocalJacobian at = LocalJacobian.at(net, new double[] {0.3, -0.2}, null, 1);
        BitSet before = RegionSearch.pattern(at);
        int adjacent = 0;
        for (int l = 0; l < 2; l++) {
            for (int k = 0; k < 12; k++) {
                RegionSearch.Move m = search.move(at, l, k);
                if (m == null) {
                    continue;
                }
                BitSet after = RegionSearch.pattern(LocalJacobian.at(net, m.x(), null, 1));
                after.xor(before);
                // across one boundary: the neuron flipped, plus at most the deeper ones its flip moves across theirs
                assertTrue(after.get(m.layer() * 12 + m.neuron()), "the expected neuron did not flip");
                if (after.cardinality() == 1) {
                    adjacent++;
                }
            }
        }
        assertTrue(adjacent >= 12, "only " + adjacent + " of 24 moves crossed exactly one boundary");
    }

    /** The dense Jacobian of net with the given slopes, row-major. */
    private static double[] dense(FeedForward net, double[][] slopes) {
        int n = net.inputSize();
        int m = net.outputSize();
        double[] j = new double[m * n];
        for (int c = 0; c < n; c++) {
            double[] col = LocalJacobian.tangent(net, slopes, LocalJacobian.unit(n, c))[slopes.length];
            for (int i = 0; i < m; i++) {
                j[i * n + c] = col[i];
            }
        }
        return j;
    }

    private static double[][] copy(double[][] a) {
        double[][] c = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            c[i] = a[i].clone();
        }
        return c;
    }

    private static double[] difference(double[] a, double[] b) {
        return NetKernels.plus(a, -1, b);
    }

    private static double squaredNorm(double[] a) {
        return Vectors.dot(a, a);
    }
}

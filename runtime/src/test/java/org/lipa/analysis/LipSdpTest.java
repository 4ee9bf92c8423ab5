package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * LipSDP without a solver, and the other whole-network bounds: LipSDP's published figures on its two reference
 * networks (and an interior-point solution of the same SDPs by CVXOPT, computed once outside the tests), and
 * soundness over many seeded random networks against an independent dense search for large Jacobians.
 */
class LipSdpTest {
    /** ||W_3 W_2 W_1 W_0|| of LipSDP's random net: its Lipschitz constant, since all its weights are positive. */
    private static final double RANDOM_NET_CONSTANT = 36.48222959637795;

    @Test
    void lipSdpsRandomNetworkIsCertifiedAtItsExactConstant() {
        FeedForward net = ReferenceNets.lipSdpRandom();
        LipSdp.Result neuron = LipSdp.solve(net, LipSdp.Options.neuron());
        // LipSDP-Neuron (MOSEK) reports 36.482; the SDP is tight here, so the certified bound must sit just above the constant
        assertTrue(neuron.bound() >= RANDOM_NET_CONSTANT, "certified " + neuron.bound() + " below the exact constant");
        assertTrue(neuron.bound() <= RANDOM_NET_CONSTANT * (1 + 1e-7), "certified " + neuron.bound());
        LipSdp.Result layer = LipSdp.solve(net, LipSdp.Options.layer());
        // LipSDP-Layer: 39.839 in LipSDP's README; 39.83862253 by CVXOPT
        assertEquals(39.83862253, layer.bound(), 2e-7 * 39.84);
        assertTrue(layer.bound() >= layer.estimate());
    }

    @Test
    void lipSdpsMnistNetworkMeetsLipSdpNeuron() {
        FeedForward net = ReferenceNets.lipSdpMnist();
        LipSdp.Result neuron = LipSdp.solve(net, LipSdp.Options.neuron());
        // LipSDP-Neuron: 24.366 (MOSEK), 24.36634887 (CVXOPT); a search over inputs found Jacobians of norm 24.299
        assertTrue(neuron.bound() <= 24.3664, "certified " + neuron.bound());
        assertTrue(neuron.bound() >= 24.299);
        LipSdp.Result layer = LipSdp.solve(net, LipSdp.Options.layer());
        assertEquals(26.25597278, layer.bound(), 1e-6 * 26.26); // CVXOPT's LipSDP-Layer
        LipSdp.Result eclipse = LipSdp.eclipseFast(net);
        assertTrue(eclipse.bound() >= layer.bound() && eclipse.bound() < 31.5036, "ECLipsE-Fast " + eclipse.bound()
                + " between LipSDP-Layer and the product of norms");
    }

    @Test
    void everyCertifiedBoundIsAboveEveryJacobianNormOnRandomNets() {
        Random r = new Random(17);
        List<Nonlinearity> activations = List.of(Nonlinearity.RELU, Nonlinearity.leakyRelu(0.1), Nonlinearity.TANH, Nonlinearity.SIGMOID,
                Nonlinearity.GELU);
        for (int seed = 0; seed < 120; seed++) {
            Nonlinearity a = activations.get(seed % activations.size());
            int depth = 1 + r.nextInt(3);
            int[] widths = new int[depth + 2];
            for (int i = 0; i < widths.length; i++) {
                widths[i] = 1 + r.nextInt(i == 0 || i == widths.length - 1 ? 4 : 9);
            }
            FeedForward net = ReferenceNets.random(1000 + seed, a, 1 + 2 * r.nextDouble(), 0.5, widths);
            List<NetworkBounds.Bound> bounds = NetworkBounds.compute(net, new NetworkBounds.Options(true,
                    LipSdp.Options.layer().withBudget(100, 10), LipSdp.Options.neuron().withBudget(200, 10), s -> { }));
            double lower = denseSearch(net, new Random(seed), 400);
            String what = "seed " + seed + " " + a + " " + java.util.Arrays.toString(widths) + ": " + bounds + " vs search " + lower;
            for (NetworkBounds.Bound b : bounds) {
                if (b.guarantee() == NetworkBounds.Guarantee.CERTIFIED) {
                    assertTrue(b.value() >= lower, what);
                }
            }
            double neuron = value(bounds, "LipSDP-Neuron");
            double layer = value(bounds, "LipSDP-Layer");
            assertTrue(neuron <= layer * (1 + 1e-9) && layer <= value(bounds, "ECLipsE-Fast") * (1 + 1e-9), what);
        }
    }

    @Test
    void onTwoDimensionalReluNetsEveryCertifiedBoundIsAboveTheExactConstant() {
        // the exact constant by enumerating the activation regions of the plane; relu and leaky relu nets, with biases
        for (int seed = 0; seed < 24; seed++) {
            Nonlinearity a = seed % 3 == 2 ? Nonlinearity.leakyRelu(0.1) : Nonlinearity.RELU;
            int[] widths = seed % 2 == 0 ? new int[] {2, 8, 8, 1} : new int[] {2, 10, 10, 10, 3};
            FeedForward net = ReferenceNets.random(500 + seed, a, 1.5, 0.5, widths);
            double exact = ExactLipschitz.of(net).lipschitz();
            List<NetworkBounds.Bound> bounds = NetworkBounds.compute(net, new NetworkBounds.Options(true,
                    LipSdp.Options.layer().withBudget(100, 10), LipSdp.Options.neuron().withBudget(300, 10), s -> { }));
            for (NetworkBounds.Bound b : bounds) {
                if (b.guarantee() == NetworkBounds.Guarantee.CERTIFIED) {
                    assertTrue(b.value() >= exact, "seed " + seed + " " + a + ": " + b + " below the exact constant " + exact);
                }
            }
        }
    }

    private static double value(List<NetworkBounds.Bound> bounds, String method) {
        return bounds.stream().filter(b -> b.method().equals(method)).findFirst().orElseThrow().value();
    }

    /** The largest exact Jacobian norm (dense SVD in double) over seeded random inputs at several scales. */
    static double denseSearch(FeedForward net, Random r, int points) {
        double best = 0;
        for (int p = 0; p < points; p++) {
            double scale = Math.pow(10, r.nextInt(4) - 1);
            double[] x = new double[net.inputSize()];
            for (int i = 0; i < x.length; i++) {
                x[i] = scale * r.nextGaussian();
            }
            best = Math.max(best, Dense.singularValues(net.jacobian(x).dense(), net.outputSize(), net.inputSize())[0]);
        }
        return best;
    }

    @Test
    void seqLipIsAGreedyEstimateBelowTheExhaustiveMaximum() {
        // one hidden layer: SeqLip's quantity is max over activation patterns of ||W_2 D W_1||, here enumerated
        for (int seed = 0; seed < 20; seed++) {
            FeedForward net = ReferenceNets.random(seed, Nonlinearity.RELU, 1.5, 0, 5, 10, 3);
            double greedy = SeqLip.estimate(net);
            double exhaustive = 0;
            double[] w1 = net.weight(0);
            double[] w2 = net.weight(1);
            for (int mask = 0; mask < 1 << 10; mask++) {
                double[] m = new double[3 * 5];
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 5; j++) {
                        for (int h = 0; h < 10; h++) {
                            if ((mask >> h & 1) == 1) {
                                m[i * 5 + j] += w2[i * 10 + h] * w1[h * 5 + j];
                            }
                        }
                    }
                }
                exhaustive = Math.max(exhaustive, Dense.singularValues(m, 3, 5)[0]);
            }
            assertTrue(greedy <= exhaustive * (1 + 1e-9), "seed " + seed + ": greedy " + greedy + " above " + exhaustive);
            assertTrue(greedy >= 0.9 * exhaustive, "seed " + seed + ": greedy " + greedy + " far below " + exhaustive);
        }
    }

    @Test
    void aNetWithoutHiddenLayersIsRefusedByName() {
        FeedForward linear = FeedForward.of(List.<double[][]>of(new double[][] {{1, 2}}), null, Nonlinearity.RELU);
        var e = assertThrows(IllegalArgumentException.class, () -> LipSdp.solve(linear, LipSdp.Options.neuron()));
        assertTrue(e.getMessage().contains("hidden layer"), e.getMessage());
        // AutoLip alone is the exact norm of a single layer
        assertEquals(Math.sqrt(5), NetworkBounds.compute(linear, NetworkBounds.Options.all()).get(0).value(), 1e-9);
    }
}

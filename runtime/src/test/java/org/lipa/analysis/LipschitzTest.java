package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.ref.RefBackend;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** The bracket of a feed-forward net and the float32-style local search of any traced network. */
class LipschitzTest {
    private static final RefBackend REF = new RefBackend();

    @Test
    void theBracketHoldsTheDenseSearchAndItsEndsAreLabelled() {
        FeedForward net = ReferenceNets.random(4, Nonlinearity.RELU, 1.6, 0.4, 6, 12, 12, 3);
        Lipschitz.Bracket r = Lipschitz.analyze(net, List.of(), Lipschitz.Options.defaults());
        double search = LipSdpTest.denseSearch(net, new Random(1), 2000);
        assertTrue(r.lowerBound() >= search * (1 - 1e-9), "the search " + r.lowerBound() + " is no worse than random points " + search);
        for (NetworkBounds.Bound b : r.upperBounds()) {
            if (b.guarantee() == NetworkBounds.Guarantee.CERTIFIED) {
                assertTrue(b.value() >= r.lowerBound(), b + " below the certified lower bound " + r.lowerBound());
            }
        }
        assertEquals("LipSDP-Neuron", r.upper().method());
        assertTrue(r.gap() >= 1 && r.gap() < 1.5, "gap " + r.gap());
        assertEquals(3, r.layers().size());
        // the per-layer values are the weights' exact norms, their upper bounds certified
        for (int l = 0; l < 3; l++) {
            int[] w = net.widths();
            double exact = Dense.singularValues(net.weight(l), w[l + 1], w[l])[0];
            assertEquals(exact, r.layers().get(l).estimate(), 1e-12 * exact);
            assertTrue(r.layers().get(l).upper() >= exact);
        }
    }

    @Test
    void onLipSdpsPositiveNetworkBothEndsMeetAtTheConstant() {
        Lipschitz.Bracket r = Lipschitz.analyze(ReferenceNets.lipSdpRandom(), List.of(), Lipschitz.Options.defaults());
        assertEquals(36.48222959637795, r.lowerBound(), 1e-9 * 36.48);
        assertTrue(r.gap() < 1 + 1e-7, "gap " + r.gap());
    }

    private static Tensor[] weights(Arena a, Random r, int[] widths, boolean positive) {
        Tensor[] w = new Tensor[widths.length - 1];
        for (int l = 0; l < w.length; l++) {
            double[] v = new double[widths[l + 1] * widths[l]];
            for (int i = 0; i < v.length; i++) {
                v[i] = positive ? r.nextDouble() : r.nextGaussian() / Math.sqrt(widths[l]);
            }
            w[l] = Tensor.of(a, v, widths[l + 1], widths[l]);
        }
        return w;
    }

    private static Differentiable net(Tensor[] w, boolean relu) {
        return Differentiable.trace(REF, List.of(new org.lipa.tensor.TensorSpec(Shape.of(1, w[0].shape().dim(1)), DType.F64)),
                (ops, in) -> {
                    var h = in.get(0);
                    for (int l = 0; l < w.length; l++) {
                        h = ops.linear(h, ops.constant(w[l]), null);
                        if (l < w.length - 1) {
                            h = relu ? ops.relu(h) : ops.tanh(h);
                        }
                    }
                    return List.of(h);
                });
    }

    @Test
    void theLocalSearchFindsThePositiveNetworksConstant() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(1);
            Tensor[] w = weights(a, r, new int[] {5, 7, 6, 3}, true);
            double[] product = w[0].toDoubleArray();
            int rows = 7;
            for (int l = 1; l < w.length; l++) {
                int m = (int) w[l].shape().dim(0);
                double[] wl = w[l].toDoubleArray();
                double[] next = new double[m * 5];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < 5; j++) {
                        for (int k = 0; k < rows; k++) {
                            next[i * 5 + j] += wl[i * rows + k] * product[k * 5 + j];
                        }
                    }
                }
                product = next;
                rows = m;
            }
            double exact = Dense.singularValues(product, rows, 5)[0];
            List<Tensor> data = List.of(Tensor.full(a, DType.F64, Shape.of(1, 5), -1), Tensor.full(a, DType.F64, Shape.of(1, 5), 0.5));
            Lipschitz.LocalSearch s = Lipschitz.search(a, net(w, true), data, new Lipschitz.SearchOptions(1e-10, 2000, 5, 0.05, 3));
            assertEquals(exact, s.datasetBest(), 1e-6 * exact, "the all-active point attains the constant");
            assertTrue(s.best() <= exact * (1 + 1e-6) && s.best() >= s.datasetBest());
        }
    }

    @Test
    void perturbationsMoveOnReluNetsAndAscentOnTanhNets() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(2);
            for (boolean relu : new boolean[] {true, false}) {
                Tensor[] w = weights(a, r, new int[] {4, 16, 16, 2}, false);
                List<Tensor> data = new ArrayList<>();
                for (int i = 0; i < 5; i++) {
                    double[] v = new double[4];
                    for (int j = 0; j < 4; j++) {
                        v[j] = 2 * r.nextGaussian();
                    }
                    data.add(Tensor.of(a, v, 1, 4));
                }
                Lipschitz.LocalSearch s = Lipschitz.search(a, net(w, relu), data, new Lipschitz.SearchOptions(1e-9, 2000, 15, 0.1, 4));
                assertEquals(30, s.trace().length);
                assertTrue(s.best() > s.datasetBest() * 1.01, (relu ? "relu" : "tanh") + ": from " + s.datasetBest() + " to " + s.best());
                for (int k = 1; k < s.trace().length; k++) {
                    assertTrue(s.trace()[k] >= s.trace()[k - 1], "the best never falls");
                }
            }
        }
    }

    @Test
    void badInputIsNamed() {
        try (Arena a = Arena.ofConfined()) {
            Tensor[] w = weights(a, new Random(3), new int[] {3, 4, 2}, false);
            var e = assertThrows(IllegalArgumentException.class, () -> Lipschitz.search(a, net(w, true), List.of(),
                    Lipschitz.SearchOptions.defaults()));
            assertTrue(e.getMessage().contains("data"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new Lipschitz.SearchOptions(0, 10, 1, 0.1, 0));
        }
    }
}

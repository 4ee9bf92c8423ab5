package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
import org.lipa.tensor.TensorSpec;

class LipschitzTest {
    private static final RefBackend REF = new RefBackend();

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
        return Differentiable.trace(REF, List.of(new TensorSpec(Shape.of(1, w[0].shape().dim(1)), DType.F64)), (ops, in) -> {
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

    private static List<Lipschitz.Layer> layers(Tensor[] w) {
        List<Lipschitz.Layer> out = new ArrayList<>();
        for (int l = 0; l < w.length; l++) {
            out.add(new Lipschitz.Layer("linear" + l, LinearOperator.matrix(REF, w[l]), 1));
        }
        return out;
    }

    @Test
    void positiveReluNetwork() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(1);
            int[] widths = {5, 7, 6, 3};
            Tensor[] w = weights(a, r, widths, true);
            double[] prod = w[0].toDoubleArray();
            int cols = 5;
            int rows = 7;
            for (int l = 1; l < w.length; l++) {
                int m = (int) w[l].shape().dim(0);
                double[] wl = w[l].toDoubleArray();
                double[] next = new double[m * cols];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < cols; j++) {
                        for (int k = 0; k < rows; k++) {
                            next[i * cols + j] += wl[i * rows + k] * prod[k * cols + j];
                        }
                    }
                }
                prod = next;
                rows = m;
            }
            double exact = Dense.singularValues(prod, rows, cols)[0];
            List<Tensor> data = List.of(Tensor.full(a, DType.F64, Shape.of(1, 5), -1), Tensor.full(a, DType.F64, Shape.of(1, 5), 0.5));
            Lipschitz.Report rep = Lipschitz.measure(a, layers(w), net(w, true), data,
                    new Lipschitz.Options(1e-10, 2000, 5, 0.05, 3));
            assertEquals(exact, rep.datasetBest(), 1e-4 * exact, "the all-active point attains the constant");
            assertTrue(rep.lowerBound() <= exact * (1 + 1e-6) && rep.lowerBound() >= rep.datasetBest());
            double product = 1;
            for (Tensor wl : w) {
                product *= Dense.singularValues(wl.toDoubleArray(), (int) wl.shape().dim(0), (int) wl.shape().dim(1))[0];
            }
            assertEquals(product, rep.upperBound(), 1e-6 * product);
            assertTrue(rep.gap() >= 1);
        }
    }

    @Test
    void ascentNeverLowersTheCertifiedBound() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(2);
            Tensor[] w = weights(a, r, new int[] {4, 16, 16, 2}, false);
            List<Tensor> data = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                double[] v = new double[4];
                for (int j = 0; j < 4; j++) {
                    v[j] = 2 * r.nextGaussian();
                }
                data.add(Tensor.of(a, v, 1, 4));
            }
            Lipschitz.Report rep = Lipschitz.measure(a, layers(w), net(w, false), data, new Lipschitz.Options(1e-9, 2000, 15, 0.1, 4));
            assertTrue(rep.lowerBound() >= rep.datasetBest());
            assertTrue(rep.lowerBound() <= rep.upperBound(), rep.lowerBound() + " > " + rep.upperBound());
            assertEquals(15, rep.ascentTrace().length);
            // tanh saturates away from 0: ascent should find larger local norms than large random points
            assertTrue(rep.lowerBound() > rep.datasetBest() * 1.01, "ascent from " + rep.datasetBest() + " reached " + rep.lowerBound());
        }
    }
}

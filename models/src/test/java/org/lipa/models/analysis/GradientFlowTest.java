package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.lipa.backend.ref.RefBackend;
import org.lipa.models.arch.Mlp;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Gradient norms and Jacobian spectra of {@link GradientFlow} against a plain-Java float64 model of the same MLP
 * (central differences of its loss, and eigenvalues of J^T J by Jacobi rotations), plus behaviour that theory fixes:
 * an orthogonal network with gain g shrinks the back-propagated signal by at most g per layer, and is an isometry in
 * its linear regime.
 */
class GradientFlowTest {
    private static final RefBackend REF = new RefBackend();

    private static Tensor gaussian(Arena a, Random r, double std, int rows, int cols) {
        double[] v = new double[rows * cols];
        for (int i = 0; i < v.length; i++) {
            v[i] = std * r.nextGaussian();
        }
        return Tensor.of(a, DType.F64, v, rows, cols);
    }

    private static GradientFlow flow(Arena a, GradientFlow.Network net, int batch) {
        return GradientFlow.of(REF, a, net, new org.lipa.tensor.TensorSpec(org.lipa.tensor.Shape.of(batch, net.in()), DType.F64),
                new org.lipa.tensor.TensorSpec(org.lipa.tensor.Shape.of(batch, net.out()), DType.F64),
                (ops, p, t) -> ops.crossEntropy(p, t));
    }

    /** Random values for every parameter (biases and normalization weights included, so that each one matters). */
    private static List<Tensor> randomParams(Arena a, GradientFlow f, Random r) {
        List<Tensor> p = new ArrayList<>();
        for (Tensor t : f.current(a)) {
            double[] v = new double[Math.toIntExact(t.size())];
            double std = t.rank() >= 2 ? 1.2 / Math.sqrt(t.shape().dim(1)) : 0.3;
            for (int i = 0; i < v.length; i++) {
                v[i] = std * r.nextGaussian() + (t.rank() == 1 ? 0.1 : 0);
            }
            p.add(Tensor.of(a, DType.F64, v, t.shape().toArray()));
        }
        return p;
    }

    @ParameterizedTest
    @EnumSource(GradientFlow.Variant.class)
    void layerGradientNormsMatchCentralDifferencesOfAPlainJavaModel(GradientFlow.Variant variant) {
        GradientFlow.Network net = new GradientFlow.Network(3, 4, 2, 2, Activation.TANH, variant);
        int batch = 5;
        Random r = new Random(11 + variant.ordinal());
        try (Arena a = Arena.ofConfined()) {
            GradientFlow f = flow(a, net, batch);
            List<Tensor> params = randomParams(a, f, r);
            Tensor x = gaussian(a, r, 1, batch, 3);
            int[] labels = {0, 1, 1, 0, 1};
            Tensor y = Tensor.oneHot(a, DType.F64, labels, 2);
            GradientFlow.Profile g = f.gradients(a, params, x, y);

            PlainMlp ref = new PlainMlp(net, f.module().parameters().keySet(), params, true);
            double[][] xs = rows(x.toDoubleArray(), batch, 3);
            double[][][] probes = new double[net.depth() + 1][batch][net.width()];
            assertEquals(ref.loss(xs, labels, probes), g.loss(), 1e-12);
            assertEquals(List.of("input.weight", "blocks.0.branch." + (variant.norm() == Mlp.Norm.NONE ? 0 : 1) + ".weight",
                    "blocks.1.branch." + (variant.norm() == Mlp.Norm.NONE ? 0 : 1) + ".weight", "head.weight"), g.layers());
            double h = 1e-6;
            for (int k = 0; k < g.layers().size(); k++) {
                double[] w = ref.p.get(g.layers().get(k));
                double sq = 0;
                for (int i = 0; i < w.length; i++) {
                    double keep = w[i];
                    w[i] = keep + h;
                    double plus = ref.loss(xs, labels, probes);
                    w[i] = keep - h;
                    double minus = ref.loss(xs, labels, probes);
                    w[i] = keep;
                    sq += Math.pow((plus - minus) / (2 * h), 2);
                }
                assertEquals(Math.sqrt(sq), g.weightNorms()[k], 1e-7 * (1 + Math.sqrt(sq)), g.layers().get(k));
            }
            for (int l = 0; l <= net.depth(); l++) {
                double sq = 0;
                for (int b = 0; b < batch; b++) {
                    for (int j = 0; j < net.width(); j++) {
                        probes[l][b][j] = h;
                        double plus = ref.loss(xs, labels, probes);
                        probes[l][b][j] = -h;
                        double minus = ref.loss(xs, labels, probes);
                        probes[l][b][j] = 0;
                        sq += Math.pow((plus - minus) / (2 * h), 2);
                    }
                }
                assertEquals(Math.sqrt(sq), g.signalNorms()[l], 1e-7 * (1 + Math.sqrt(sq)), "dL/dh_" + l);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = GradientFlow.Variant.class, names = {"PLAIN", "RESIDUAL", "RESIDUAL_NORM", "BATCH_NORM"})
    void jacobianSingularValuesMatchAnExplicitFiniteDifferenceJacobian(GradientFlow.Variant variant) {
        GradientFlow.Network net = new GradientFlow.Network(3, 5, 3, 2, Activation.TANH, variant);
        Random r = new Random(5 + variant.ordinal());
        try (Arena a = Arena.ofConfined()) {
            GradientFlow f = flow(a, net, 4);
            List<Tensor> params = randomParams(a, f, r);
            Tensor x = gaussian(a, r, 1, 4, 3);
            JacobianSpectrum s = f.jacobian(a, params, x, 2);
            assertEquals(2, s.singularValues().size());
            PlainMlp ref = new PlainMlp(net, f.module().parameters().keySet(), params, false);
            double[][] xs = rows(x.toDoubleArray(), 4, 3);
            for (int e = 0; e < 2; e++) {
                double[] h0 = ref.stem(xs[e]);
                int w = net.width();
                double[][] jac = new double[w][w];
                double step = 1e-6;
                for (int j = 0; j < w; j++) {
                    double keep = h0[j];
                    h0[j] = keep + step;
                    double[] plus = ref.deep(h0);
                    h0[j] = keep - step;
                    double[] minus = ref.deep(h0);
                    h0[j] = keep;
                    for (int i = 0; i < w; i++) {
                        jac[i][j] = (plus[i] - minus[i]) / (2 * step);
                    }
                }
                double[] expected = Arrays.stream(jacobiEigenvalues(gram(jac))).map(v -> Math.max(v, 0)).sorted().toArray();
                double[] got = s.singularValues().get(e);
                double scale = 1 + expected[w - 1];
                for (int i = 0; i < w; i++) {
                    assertEquals(expected[w - 1 - i], got[i] * got[i], 1e-7 * scale, "sigma_" + i + "^2 of example " + e);
                }
            }
        }
    }

    @Test
    void anOrthogonalNetworkShrinksTheBackPropagatedSignalByAtMostItsGainPerLayer() {
        // dL/dh_{l-1} = W^T (tanh'(z) * dL/dh_l) and |W^T u| = g |u| for W = g Q, Q orthogonal, while 0 < tanh' <= 1
        GradientFlow.Network net = new GradientFlow.Network(6, 6, 12, 3, Activation.TANH, GradientFlow.Variant.PLAIN);
        Random r = new Random(3);
        try (Arena a = Arena.ofConfined()) {
            GradientFlow f = flow(a, net, 8);
            Tensor x = gaussian(a, r, 1, 8, 6);
            Tensor y = Tensor.oneHot(a, DType.F64, new int[] {0, 1, 2, 0, 1, 2, 0, 1}, 3);
            GradientFlow.Profile g = f.gradients(a, f.initialize(a, Init.Scheme.ORTHOGONAL, 0.5, 1), x, y);
            double[] s = g.signalNorms();
            for (int l = 0; l < net.depth(); l++) {
                assertTrue(s[l] <= 0.5 * s[l + 1] * (1 + 1e-6), "layer " + l + ": " + s[l] + " vs " + s[l + 1]);
                assertTrue(s[l] > 0, "layer " + l);
            }
            assertTrue(g.signalRatio() < Math.pow(0.5, 12) * (1 + 1e-6), "ratio " + g.signalRatio());

            // a Gaussian init of the same scale vanishes too, if not layer by layer
            GradientFlow.Profile gauss = f.gradients(a, f.initialize(a, Init.Scheme.LECUN_NORMAL, 0.5, 1), x, y);
            assertTrue(gauss.signalRatio() < 1e-2, "ratio " + gauss.signalRatio());
        }
    }

    @Test
    void anOrthogonalTanhNetworkInItsLinearRegimeIsAnIsometryAndAGaussianOneIsNot() {
        GradientFlow.Network net = new GradientFlow.Network(8, 8, 6, 2, Activation.TANH, GradientFlow.Variant.PLAIN);
        Random r = new Random(4);
        try (Arena a = Arena.ofConfined()) {
            GradientFlow f = flow(a, net, 3);
            Tensor x = gaussian(a, r, 1e-6, 3, 8); // tanh'(z) = 1 - O(1e-12): the network is linear there
            JacobianSpectrum ortho = f.jacobian(a, f.initialize(a, Init.Scheme.ORTHOGONAL, 1, 2), x, 3);
            for (double[] sigma : ortho.singularValues()) {
                for (double v : sigma) {
                    assertEquals(1, v, 1e-5); // the weights are float32-rounded orthogonal matrices
                }
            }
            assertEquals(1, ortho.fractionWithin(0.5, 2));
            assertEquals(1, ortho.meanSquared(), 1e-5);

            JacobianSpectrum gauss = f.jacobian(a, f.initialize(a, Init.Scheme.LECUN_NORMAL, 1, 2), x, 3);
            assertTrue(gauss.max() / gauss.min() > 10, "condition number " + gauss.max() / gauss.min());
            assertTrue(gauss.fractionWithin(0.5, 2) < 1, "fraction " + gauss.fractionWithin(0.5, 2));
        }
    }

    @Test
    void spectrumSummariesFollowTheirDefinitions() {
        JacobianSpectrum s = new JacobianSpectrum(List.of(new double[] {4, 1, 0.25}, new double[] {2, 1, 1}));
        assertEquals(((16 + 1 + 0.0625) / 3 + 2.0) / 2, s.meanSquared(), 1e-15);
        assertEquals(3, s.max());
        assertEquals(0.625, s.min());
        assertEquals((1 / 3.0 + 1) / 2, s.fractionWithin(0.5, 2), 1e-15);
        assertEquals(6, s.pooled().length);
        assertEquals(4, s.pooled()[0]);
        assertEquals(0.25, s.pooled()[5]);
        assertEquals(Math.log(4) * Math.sqrt(2.0 / 3) / 2 + Math.log(2) * Math.sqrt(2) / 3 / 2, s.logSpread(), 1e-12);
    }

    @Test
    void badArgumentsAreNamed() {
        try (Arena a = Arena.ofConfined()) {
            GradientFlow.Network net = new GradientFlow.Network(3, 4, 1, 2, Activation.TANH, GradientFlow.Variant.PLAIN);
            GradientFlow f = flow(a, net, 2);
            assertThrows(IllegalArgumentException.class, () -> f.initialize(a, Init.Scheme.ORTHOGONAL, 0, 1));
            Tensor x = gaussian(a, new Random(0), 1, 2, 3);
            assertThrows(IllegalArgumentException.class, () -> f.jacobian(a, f.current(a), x, 3));
            assertThrows(IllegalArgumentException.class, () -> new GradientFlow.Network(3, 4, 0, 2, Activation.TANH,
                    GradientFlow.Variant.PLAIN));
        }
    }

    // ---------------------------------------------------------------- the plain-Java reference

    private static double[][] rows(double[] v, int n, int m) {
        double[][] r = new double[n][m];
        for (int i = 0; i < n; i++) {
            System.arraycopy(v, i * m, r[i], 0, m);
        }
        return r;
    }

    /** The MLP written out in double precision: stem, blocks (norm, linear, activation, skip), head; batch norm on batch statistics in training mode. */
    private static final class PlainMlp {
        final GradientFlow.Network net;
        final Map<String, double[]> p = new LinkedHashMap<>();
        final boolean training;

        PlainMlp(GradientFlow.Network net, Iterable<String> names, List<Tensor> params, boolean training) {
            this.net = net;
            this.training = training;
            int i = 0;
            for (String n : names) {
                p.put(n, params.get(i++).toDoubleArray());
            }
        }

        double act(double z) {
            return Math.tanh(z);
        }

        double[] linear(String prefix, double[] x, int out) {
            double[] w = p.get(prefix + "weight");
            double[] b = p.get(prefix + "bias");
            double[] y = new double[out];
            for (int o = 0; o < out; o++) {
                double s = b[o];
                for (int i = 0; i < x.length; i++) {
                    s += w[o * x.length + i] * x[i];
                }
                y[o] = s;
            }
            return y;
        }

        double[] stem(double[] x) {
            return Arrays.stream(linear("input.", x, net.width())).map(this::act).toArray();
        }

        /** Layer norm of one row, or batch norm of a whole batch column by column. */
        double[][] norm(String prefix, double[][] h) {
            double[] g = p.get(prefix + "weight");
            double[] b = p.get(prefix + "bias");
            int n = h.length;
            int w = h[0].length;
            double[][] out = new double[n][w];
            if (net.variant().norm() == Mlp.Norm.LAYER) {
                for (int e = 0; e < n; e++) {
                    double mean = Arrays.stream(h[e]).average().orElseThrow();
                    double var = Arrays.stream(h[e]).map(v -> (v - mean) * (v - mean)).average().orElseThrow();
                    for (int j = 0; j < w; j++) {
                        out[e][j] = (h[e][j] - mean) / Math.sqrt(var + 1e-5) * g[j] + b[j];
                    }
                }
            } else {
                for (int j = 0; j < w; j++) {
                    double mean = 0;
                    double var = 1; // running statistics at initialization, for evaluation mode
                    if (training) {
                        mean = 0;
                        for (double[] row : h) {
                            mean += row[j] / n;
                        }
                        var = 0;
                        for (double[] row : h) {
                            var += (row[j] - mean) * (row[j] - mean) / n;
                        }
                    }
                    for (int e = 0; e < n; e++) {
                        out[e][j] = (h[e][j] - mean) / Math.sqrt(var + 1e-5) * g[j] + b[j];
                    }
                }
            }
            return out;
        }

        double[][] block(int l, double[][] h) {
            String prefix = "blocks." + l + ".branch.";
            double[][] u = h;
            int k = 0;
            if (net.variant().norm() != Mlp.Norm.NONE) {
                u = norm(prefix + "0.", u);
                k = 1;
            }
            double[][] out = new double[h.length][];
            for (int e = 0; e < h.length; e++) {
                out[e] = Arrays.stream(linear(prefix + k + ".", u[e], net.width())).map(this::act).toArray();
                if (net.variant().residual()) {
                    for (int j = 0; j < out[e].length; j++) {
                        out[e][j] += h[e][j];
                    }
                }
            }
            return out;
        }

        /** h_depth of one example, from h_0 (evaluation mode). */
        double[] deep(double[] h0) {
            double[][] h = {h0.clone()};
            for (int l = 0; l < net.depth(); l++) {
                h = block(l, h);
            }
            return h[0];
        }

        /** Mean cross-entropy, with probes[l] added to h_l. */
        double loss(double[][] x, int[] labels, double[][][] probes) {
            double[][] h = new double[x.length][];
            for (int e = 0; e < x.length; e++) {
                h[e] = plus(stem(x[e]), probes[0][e]);
            }
            for (int l = 0; l < net.depth(); l++) {
                h = block(l, h);
                for (int e = 0; e < x.length; e++) {
                    h[e] = plus(h[e], probes[l + 1][e]);
                }
            }
            double total = 0;
            for (int e = 0; e < x.length; e++) {
                double[] z = linear("head.", h[e], net.out());
                double max = Arrays.stream(z).max().orElseThrow();
                double lse = max + Math.log(Arrays.stream(z).map(v -> Math.exp(v - max)).sum());
                total += lse - z[labels[e]];
            }
            return total / x.length;
        }

        private static double[] plus(double[] a, double[] b) {
            double[] r = a.clone();
            for (int i = 0; i < r.length; i++) {
                r[i] += b[i];
            }
            return r;
        }
    }

    private static double[][] gram(double[][] j) {
        int n = j[0].length;
        double[][] g = new double[n][n];
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                for (double[] row : j) {
                    g[a][b] += row[a] * row[b];
                }
            }
        }
        return g;
    }

    /** Eigenvalues of a symmetric matrix by cyclic Jacobi rotations. */
    private static double[] jacobiEigenvalues(double[][] s) {
        int n = s.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            a[i] = s[i].clone();
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-30) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta == 0 ? 1 : theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1);
                    double sn = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - sn * akq;
                        a[k][q] = sn * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - sn * aqk;
                        a[q][k] = sn * apk + c * aqk;
                    }
                }
            }
        }
        double[] ev = new double[n];
        for (int i = 0; i < n; i++) {
            ev[i] = a[i][i];
        }
        return ev;
    }
}

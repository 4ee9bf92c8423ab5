package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.analysis.Dense;
import org.lipa.analysis.LipSdp;
import org.lipa.analysis.Lipschitz;
import org.lipa.analysis.LowerBoundSearch;
import org.lipa.analysis.NetworkBounds;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.models.arch.Mlp;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Attention;
import org.lipa.models.nn.BatchNorm;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.ForwardHooks;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Reshape;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * The Lipschitz report against independent computations: top singular values of explicit matrices (weights,
 * the dense matrix of a convolution written out in loops, the network's Jacobian multiplied out by hand).
 */
class LipschitzReportTest {
    private static final RefBackend REF = new RefBackend();

    private static Tensor gaussian(Arena a, Random r, long... dims) {
        int n = 1;
        for (long d : dims) {
            n *= (int) d;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.of(a, v, dims);
    }

    private static double top(double[] m, int rows, int cols) {
        return Dense.singularValues(m, rows, cols)[0];
    }

    private static LipschitzReport.Part part(LipschitzReport.Result r, String name) {
        return r.parts().stream().filter(p -> p.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError("no part " + name
                + " in " + r.parts()));
    }

    @Test
    void anMlpsBoundsAreItsWeightsNormsAndItsJacobiansNorm() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(3);
            Sequential mlp = Sequential.mlp(a, r, Activation.TANH, 5, 7, 6, 3);
            Tensor x = gaussian(a, r, 4, 5);
            LipschitzReport.Result rep = LipschitzReport.measure(REF, mlp, x, new LipschitzReport.Options(1, 4,
                    new Lipschitz.SearchOptions(1e-10, 2000, 10, 0.05, 1), new Lipschitz.Options(new NetworkBounds.Options(true,
                    LipSdp.Options.layer().withBudget(50, 5), LipSdp.Options.neuron().withBudget(100, 5), s -> { }),
                    LowerBoundSearch.Options.defaults().withMaxEvaluations(500), s -> { })));

            double product = 1;
            List<double[]> w = new ArrayList<>();
            int[][] dims = {{7, 5}, {6, 7}, {3, 6}};
            for (int l = 0; l < 3; l++) {
                double[] wl = mlp.parameters().get(2 * l + ".weight").toDoubleArray();
                w.add(wl);
                double s = top(wl, dims[l][0], dims[l][1]);
                product *= s;
                assertEquals(s, part(rep, String.valueOf(2 * l)).upper(), 1e-6 * s, "layer " + 2 * l);
                // a linear layer's Jacobian is its weight: the local norm meets the bound
                assertEquals(s, part(rep, String.valueOf(2 * l)).local(), 1e-6 * s, "local norm of layer " + 2 * l);
            }
            assertEquals(1, part(rep, "1").upper());
            assertTrue(part(rep, "1").local() <= 1 + 1e-9);
            assertEquals(product, rep.productBound(), 1e-6 * product);

            // J(x) = W3 diag(tanh'(z2)) W2 diag(tanh'(z1)) W1, multiplied out in double precision
            double best = 0;
            double[] b1 = mlp.parameters().get("0.bias").toDoubleArray();
            double[] b2 = mlp.parameters().get("2.bias").toDoubleArray();
            double[] xs = x.toDoubleArray();
            for (int e = 0; e < 4; e++) {
                double[] in = java.util.Arrays.copyOfRange(xs, 5 * e, 5 * e + 5);
                double[] z1 = affine(w.get(0), b1, in, 7, 5);
                double[] h1 = tanh(z1);
                double[] z2 = affine(w.get(1), b2, h1, 6, 7);
                double[] j = mul(w.get(2), 3, 6, mul(diag(z2, w.get(1), 6, 7), 6, 7, diag(z1, w.get(0), 7, 5), 5), 5);
                best = Math.max(best, top(j, 3, 5));
            }
            assertEquals(best, rep.datasetBest(), 1e-6 * best, "the largest local Jacobian norm over the examples");
            // a plain MLP gets the certified bracket: the search starts at the examples, LipSDP beats the product
            assertTrue(rep.lowerCertified() && rep.productCertified());
            assertTrue(rep.lowerBound() >= rep.datasetBest() * (1 - 1e-6) && rep.lowerBound() <= rep.upperBound()
                    && rep.upperBound() <= rep.productBound(),
                    "dataset " + rep.datasetBest() + " <= lower " + rep.lowerBound() + " <= upper " + rep.upperBound() + " <= "
                    + rep.productBound());
            assertEquals("LipSDP-Neuron", rep.feedForward().upper().method());
            assertTrue(rep.gap() >= 1);
        }
    }

    @Test
    void aConvolutionsBoundIsTheNormOfItsDenseMatrix() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(5);
            Conv2d conv = new Conv2d(a, r, 2, 3, 3, 2, 1, 1, true);
            Sequential net = new Sequential(conv, Activation.RELU, new Reshape.Flatten(), new Linear(a, r, 3 * 3 * 3, 2, true));
            Tensor x = gaussian(a, r, 2, 2, 5, 5);
            LipschitzReport.Result rep = LipschitzReport.measure(REF, net, x, new LipschitzReport.Options(1, 2,
                    new Lipschitz.SearchOptions(1e-10, 3000, 3, 0.05, 1), null));
            // the convolution (stride 2, padding 1) as a [3*3*3, 2*5*5] matrix, written out
            double[] k = conv.parameters().get("weight").toDoubleArray();
            int rows = 3 * 3 * 3;
            int cols = 2 * 5 * 5;
            double[] m = new double[rows * cols];
            for (int o = 0; o < 3; o++) {
                for (int oy = 0; oy < 3; oy++) {
                    for (int ox = 0; ox < 3; ox++) {
                        for (int c = 0; c < 2; c++) {
                            for (int ky = 0; ky < 3; ky++) {
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = 2 * oy - 1 + ky;
                                    int ix = 2 * ox - 1 + kx;
                                    if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5) {
                                        m[((o * 3 + oy) * 3 + ox) * cols + (c * 5 + iy) * 5 + ix] = k[((o * 2 + c) * 3 + ky) * 3 + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            double s = top(m, rows, cols);
            assertEquals(s, part(rep, "0").upper(), 1e-6 * s);
            double head = top(net.parameters().get("3.weight").toDoubleArray(), 2, rows);
            assertEquals(s * head, rep.productBound(), 1e-6 * s * head);
        }
    }

    @Test
    void residualBlocksAddTheShortcutAndBatchNormScalesByGammaOverSigma() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(7);
            Mlp mlp = new Mlp(a, r, 4, 6, 2, 3, Activation.RELU, true, Mlp.Norm.NONE);
            LipschitzReport.Result rep = LipschitzReport.measure(REF, mlp, gaussian(a, r, 3, 4), new LipschitzReport.Options(2, 3,
                    new Lipschitz.SearchOptions(1e-12, 5000, 3, 0.05, 1), null));
            Map<String, Tensor> p = mlp.parameters();
            double expected = top(p.get("input.weight").toDoubleArray(), 6, 4) * top(p.get("head.weight").toDoubleArray(), 3, 6);
            for (int i = 0; i < 2; i++) {
                double block = 1 + top(p.get("blocks." + i + ".branch.0.weight").toDoubleArray(), 6, 6);
                expected *= block;
                assertEquals(block, part(rep, "blocks." + i).upper(), 1e-6 * block);
            }
            assertEquals(expected, rep.productBound(), 1e-6 * expected);

            BatchNorm bn = new BatchNorm(a, 3);
            bn.parameters().get("weight").copyFrom(new float[]{0.5f, -3f, 1f});
            bn.buffers().get("running_var").copyFrom(new float[]{0.25f, 4f, 9f});
            LipschitzReport.Result b = LipschitzReport.measure(REF, new Sequential(bn), gaussian(a, r, 2, 3), LipschitzReport.Options.defaults());
            assertEquals(3 / Math.sqrt(4 + 1e-5), b.productBound(), 1e-6);
            assertEquals(3 / Math.sqrt(4 + 1e-5), b.datasetBest(), 1e-6, "batch norm in eval mode is the diagonal map it bounds");
        }
    }

    @Test
    void dotProductAttentionHasNoGlobalBoundButALocalOne() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(9);
            Sequential net = new Sequential(new Attention(a, r, Attention.Kind.DOT, 4, 2));
            LipschitzReport.Result rep = LipschitzReport.measure(REF, net, gaussian(a, r, 2, 3, 4), LipschitzReport.Options.defaults());
            LipschitzReport.Part att = part(rep, "0");
            assertEquals(Double.POSITIVE_INFINITY, att.upper());
            assertTrue(att.why().contains("dot-product attention is not globally Lipschitz"), att.why());
            assertTrue(att.local() > 0 && Double.isFinite(att.local()), "local " + att.local());
            assertTrue(rep.lowerBound() >= att.local() * (1 - 1e-9), "the network is that one module");
        }
    }

    @Test
    void hooksSeeEveryNestedCallWithItsPath() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(1);
            Mlp mlp = new Mlp(a, r, 3, 4, 1, 2, Activation.TANH, true, Mlp.Norm.LAYER);
            Map<String, long[]> seen = new LinkedHashMap<>();
            ForwardHooks.observe((path, m, in, out) -> seen.put(path, ((Tensor) in).shape().toArray()),
                    () -> mlp.forward(new Eager(REF, a), gaussian(a, r, 5, 3)));
            assertEquals(List.of("input", "blocks.0.branch.0", "blocks.0.branch.1", "blocks.0.branch.2", "blocks.0.branch", "blocks.0",
                    "blocks", "head"), List.copyOf(seen.keySet()));
            assertEquals(List.of(5L, 4L), java.util.Arrays.stream(seen.get("head")).boxed().toList());
            // outside observe nothing is reported and nothing breaks
            mlp.forward(new Eager(REF, a), gaussian(a, r, 5, 3));
        }
    }

    @Test
    void badInputIsNamed() {
        try (Arena a = Arena.ofConfined()) {
            Sequential mlp = Sequential.mlp(a, new Random(0), Activation.RELU, 3, 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> LipschitzReport.measure(REF, mlp, Tensor.zeros(a, DType.F32, 3), LipschitzReport.Options.defaults()));
            assertTrue(e.getMessage().contains("x:"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> new LipschitzReport.Options(1, 0, Lipschitz.SearchOptions.defaults(), null));
        }
    }

    private static double[] affine(double[] w, double[] b, double[] x, int rows, int cols) {
        double[] y = new double[rows];
        for (int i = 0; i < rows; i++) {
            double s = b[i];
            for (int j = 0; j < cols; j++) {
                s += w[i * cols + j] * x[j];
            }
            y[i] = s;
        }
        return y;
    }

    private static double[] tanh(double[] z) {
        double[] h = new double[z.length];
        for (int i = 0; i < z.length; i++) {
            h[i] = Math.tanh(z[i]);
        }
        return h;
    }

    /** diag(tanh'(z)) W. */
    private static double[] diag(double[] z, double[] w, int rows, int cols) {
        double[] r = new double[rows * cols];
        for (int i = 0; i < rows; i++) {
            double d = 1 - Math.tanh(z[i]) * Math.tanh(z[i]);
            for (int j = 0; j < cols; j++) {
                r[i * cols + j] = d * w[i * cols + j];
            }
        }
        return r;
    }

    private static double[] mul(double[] a, int n, int k, double[] b, int m) {
        double[] c = new double[n * m];
        for (int i = 0; i < n; i++) {
            for (int p = 0; p < k; p++) {
                for (int j = 0; j < m; j++) {
                    c[i * m + j] += a[i * k + p] * b[p * m + j];
                }
            }
        }
        return c;
    }
}

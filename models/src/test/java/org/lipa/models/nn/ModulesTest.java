package org.lipa.models.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ResNet;
import org.lipa.models.arch.SequenceTransformer;
import org.lipa.models.arch.VisionTransformer;
import org.lipa.models.init.Init;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Layers and architectures: gradients against finite differences, formulas against plain-Java references, PyTorch names. */
class ModulesTest {
    private static Tensor normal(Arena a, Random r, long... dims) {
        return Tensor.of(a, Init.normal(r, 1, dims), dims);
    }

    /** A module and an input for it, built in the test's arena. */
    record Case(String name, BiFunction<Arena, Random, Module> module, long[] input) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Arguments> catalogue() {
        return Stream.of(
                new Case("batch norm (training)", (a, r) -> new BatchNorm(a, 3), new long[] {4, 3, 2, 2}),
                new Case("batch norm (eval)", (a, r) -> new BatchNorm(a, 3).train(false), new long[] {4, 3}),
                new Case("group norm", (a, r) -> new GroupNorm(a, 2, 4, 1e-5), new long[] {2, 4, 3, 3}),
                new Case("dropout", (a, r) -> Dropout.dropout(a, 0.3, 5), new long[] {3, 7}),
                new Case("drop path", (a, r) -> Dropout.dropPath(a, 0.5, 5), new long[] {6, 2, 3}),
                new Case("embedding", (a, r) -> new Embedding(a, r, 5, 3), new long[] {2, 4, 5}),
                new Case("weight norm (linear)", (a, r) -> new WeightNorm(a, new Linear(a, r, 4, 3, true)), new long[] {2, 4}),
                new Case("weight norm (conv)", (a, r) -> new WeightNorm(a, new Conv2d(a, r, 2, 3, 3, 1, 1, 1, true)), new long[] {2, 2, 4, 4}),
                new Case("spectral norm (linear)", (a, r) -> new SpectralNorm(a, r, new Linear(a, r, 4, 3, true), Shape.of(1, 4)),
                        new long[] {2, 4}),
                new Case("spectral norm (conv)", (a, r) -> new SpectralNorm(a, r, new Conv2d(a, r, 2, 3, 3, 2, 1, 1, true),
                        Shape.of(1, 2, 5, 5)), new long[] {2, 2, 5, 5}),
                new Case("residual", (a, r) -> Residual.of(new Sequential(new Linear(a, r, 4, 4, true), Activation.TANH)), new long[] {3, 4}),
                new Case("attention (dot)", (a, r) -> new Attention(a, r, Attention.Kind.DOT, 4, 2), new long[] {2, 3, 4}),
                new Case("attention (l2)", (a, r) -> new Attention(a, r, Attention.Kind.L2, 4, 2), new long[] {2, 3, 4}),
                new Case("attention (cosine)", (a, r) -> new Attention(a, r, Attention.Kind.COSINE, 4, 2), new long[] {2, 3, 4}),
                new Case("pre-norm block", (a, r) -> new TransformerBlock(a, r, Attention.Kind.DOT, TransformerBlock.Norm.PRE, 4, 2, 2, 0.2),
                        new long[] {2, 3, 4}),
                new Case("post-norm block", (a, r) -> new TransformerBlock(a, r, Attention.Kind.L2, TransformerBlock.Norm.POST, 4, 2, 2, 0),
                        new long[] {2, 3, 4}),
                new Case("residual MLP with layer norm", (a, r) -> new Mlp(a, r, 5, 6, 2, 3, Activation.GELU, true, Mlp.Norm.LAYER),
                        new long[] {4, 5}),
                new Case("resnet", (a, r) -> new ResNet(a, r, 1, 3, 2, 1, ResNet.Norm.BATCH, true), new long[] {2, 1, 8, 8}),
                new Case("resnet (fixup, plain)", (a, r) -> new ResNet(a, r, 1, 3, 2, 1, ResNet.Norm.FIXUP, false), new long[] {2, 1, 8, 8}),
                new Case("vit", (a, r) -> new VisionTransformer(a, r, Attention.Kind.COSINE, 1, 8, 4, 4, 1, 2, 2, 3),
                        new long[] {2, 1, 8, 8}),
                new Case("sequence transformer", (a, r) -> new SequenceTransformer(a, r, Attention.Kind.DOT, TransformerBlock.Norm.PRE,
                        3, 4, 4, 1, 2, 4), new long[] {2, 12}))
                .map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("catalogue")
    void reverseModeGradientsMatchFiniteDifferences(Case c) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(11);
            Module m = c.module().apply(a, r);
            ModuleGradCheck.check(m, normal(a, r, c.input()), 4, 12);
        }
    }

    @Test
    void batchNormUpdatesItsRunningStatisticsAsPyTorchDoes() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(1);
            BatchNorm bn = new BatchNorm(a, 2, 1e-5, 0.1);
            Tensor x = normal(a, r, 3, 2, 2, 2);
            Map<String, Tensor> s = new LinkedHashMap<>(bn.state());
            Tensor y = bn.forward(new Eager(new RefBackend(), a), s, x);
            double[] xv = x.toDoubleArray();
            double[] yv = y.toDoubleArray();
            for (int ch = 0; ch < 2; ch++) {
                double sum = 0;
                double sq = 0;
                for (int n = 0; n < 3; n++) {
                    for (int i = 0; i < 4; i++) {
                        double v = xv[n * 8 + ch * 4 + i];
                        sum += v;
                        sq += v * v;
                    }
                }
                double mean = sum / 12;
                double var = sq / 12 - mean * mean;
                assertEquals(0.1 * mean, s.get("running_mean").toDoubleArray()[ch], 1e-6);
                assertEquals(0.9 + 0.1 * var * 12 / 11, s.get("running_var").toDoubleArray()[ch], 1e-6);
                assertEquals((xv[ch * 4] - mean) / Math.sqrt(var + 1e-5), yv[ch * 4], 1e-5);
            }
            assertEquals(0, bn.buffers().get("running_mean").toDoubleArray()[0], "the module's own buffers change only when stored");
            bn.train(false);
            Tensor eval = bn.forward(new Eager(new RefBackend(), a), x);
            assertArrayEquals(x.toFloatArray(), eval.toFloatArray(), 1e-4f, "fresh running statistics (0, 1) leave x almost unchanged");
            assertEquals(List.of("weight", "bias", "running_mean", "running_var"), List.copyOf(bn.stateDict().keySet()));
        }
    }

    @Test
    void dropoutZeroesAtItsRateScalesTheRestAndStepsItsKey() {
        try (Arena a = Arena.ofConfined()) {
            Dropout d = Dropout.dropout(a, 0.25, 9);
            Tensor x = Tensor.full(a, org.lipa.tensor.DType.F32, Shape.of(100, 100), 2);
            Map<String, Tensor> s = new LinkedHashMap<>(d.state());
            Eager ops = new Eager(new RefBackend(), a);
            double[] y = d.forward(ops, s, x).toDoubleArray();
            long zeros = java.util.Arrays.stream(y).filter(v -> v == 0).count();
            assertEquals(2500, zeros, 150);
            assertTrue(java.util.Arrays.stream(y).allMatch(v -> v == 0 || Math.abs(v - 2 / 0.75) < 1e-6));
            assertEquals(10, s.get(Module.RNG_KEY).item());
            double[] again = d.forward(ops, s, x).toDoubleArray();
            assertNotEquals(java.util.Arrays.toString(y), java.util.Arrays.toString(again), "the next key draws a new mask");
            assertEquals(Map.of(), d.stateDict(), "random keys are not part of PyTorch's state dict");
            d.train(false);
            assertArrayEquals(x.toFloatArray(), d.forward(ops, x).toFloatArray(), 0f);
            Dropout path = Dropout.dropPath(a, 0.5, 1);
            double[] p = path.forward(ops, new LinkedHashMap<>(path.state()), Tensor.full(a, org.lipa.tensor.DType.F32, Shape.of(64, 3), 1))
                    .toDoubleArray();
            for (int n = 0; n < 64; n++) {
                assertTrue(p[3 * n] == p[3 * n + 1] && p[3 * n] == p[3 * n + 2], "drop path keeps or drops a whole example");
            }
            assertThrows(IllegalArgumentException.class, () -> Dropout.dropout(a, 1, 0));
        }
    }

    @ParameterizedTest
    @EnumSource(Attention.Kind.class)
    void attentionComputesItsFormula(Attention.Kind kind) {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(4);
            int b = 2;
            int t = 3;
            int d = 4;
            int heads = 2;
            Attention att = new Attention(a, r, kind, d, heads);
            Tensor x = normal(a, r, b, t, d);
            double[] y = att.forward(new Eager(new RefBackend(), a), x).toDoubleArray();
            Map<String, Tensor> p = att.parameters();
            double[] xv = x.toDoubleArray();
            int e = d / heads;
            for (int n = 0; n < b; n++) {
                double[][] xs = new double[t][d];
                for (int i = 0; i < t; i++) {
                    for (int k = 0; k < d; k++) {
                        xs[i][k] = xv[(n * t + i) * d + k];
                    }
                }
                double[][] q = linear(xs, p.get("q_proj.weight"), p.get("q_proj.bias"));
                double[][] keys = kind == Attention.Kind.L2 ? q : linear(xs, p.get("k_proj.weight"), p.get("k_proj.bias"));
                double[][] v = kind == Attention.Kind.L2 ? null : linear(xs, p.get("v_proj.weight"), p.get("v_proj.bias"));
                double[] wq = p.get("q_proj.weight").toDoubleArray();
                int width = kind == Attention.Kind.L2 ? d : e;
                double[][] merged = new double[t][heads * width];
                for (int h = 0; h < heads; h++) {
                    for (int i = 0; i < t; i++) {
                        double[] score = new double[t];
                        for (int j = 0; j < t; j++) {
                            double dot = 0;
                            double dist = 0;
                            double qq = 0;
                            double kk = 0;
                            for (int k = h * e; k < (h + 1) * e; k++) {
                                dot += q[i][k] * keys[j][k];
                                dist += (q[i][k] - keys[j][k]) * (q[i][k] - keys[j][k]);
                                qq += q[i][k] * q[i][k];
                                kk += keys[j][k] * keys[j][k];
                            }
                            score[j] = switch (kind) {
                                case DOT -> dot / Math.sqrt(e);
                                case L2 -> -dist / Math.sqrt(e);
                                case COSINE -> dot / ((Math.sqrt(qq) + 1e-6) * (Math.sqrt(kk) + 1e-6)) * 10;
                            };
                        }
                        double[] prob = softmax(score);
                        for (int c = 0; c < width; c++) {
                            double acc = 0;
                            for (int j = 0; j < t; j++) {
                                double value;
                                if (kind == Attention.Kind.L2) {
                                    // (q_j W_q,h) / sqrt(e): W_q,h is rows h*e.. of the weight
                                    value = 0;
                                    for (int k = 0; k < e; k++) {
                                        value += q[j][h * e + k] * wq[(h * e + k) * d + c];
                                    }
                                    value /= Math.sqrt(e);
                                } else {
                                    value = v[j][h * e + c];
                                }
                                acc += prob[j] * value;
                            }
                            merged[i][h * width + c] = acc;
                        }
                    }
                }
                double[][] out = linear(merged, p.get("out_proj.weight"), p.get("out_proj.bias"));
                for (int i = 0; i < t; i++) {
                    for (int k = 0; k < d; k++) {
                        assertEquals(out[i][k], y[(n * t + i) * d + k], 1e-5, kind + " y[" + n + "," + i + "," + k + "]");
                    }
                }
            }
        }
    }

    private static double[][] linear(double[][] x, Tensor w, Tensor b) {
        int out = (int) w.shape().dim(0);
        int in = (int) w.shape().dim(1);
        double[] wv = w.toDoubleArray();
        double[] bv = b == null ? new double[out] : b.toDoubleArray();
        double[][] y = new double[x.length][out];
        for (int i = 0; i < x.length; i++) {
            for (int o = 0; o < out; o++) {
                double acc = bv[o];
                for (int k = 0; k < in; k++) {
                    acc += x[i][k] * wv[o * in + k];
                }
                y[i][o] = acc;
            }
        }
        return y;
    }

    private static double[] softmax(double[] s) {
        double max = java.util.Arrays.stream(s).max().orElseThrow();
        double[] e = java.util.Arrays.stream(s).map(v -> Math.exp(v - max)).toArray();
        double sum = java.util.Arrays.stream(e).sum();
        return java.util.Arrays.stream(e).map(v -> v / sum).toArray();
    }

    @Test
    void spectralNormOfAConvolutionIsTheOperatorNorm() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(8);
            Conv2d conv = new Conv2d(a, r, 2, 3, 3, 2, 1, 1, false);
            Tensor w = conv.parameters().get("weight");
            SpectralNorm sn = new SpectralNorm(a, r, conv, Shape.of(1, 2, 5, 5));
            double sigma = sn.warmUp(new Eager(new RefBackend(), a), 300);
            // the convolution as an explicit matrix [3*3*3, 2*5*5], built in plain Java, and its top singular value
            double[] wv = w.toDoubleArray();
            int out = 3 * 3 * 3;
            int in = 2 * 5 * 5;
            double[][] m = new double[out][in];
            for (int o = 0; o < 3; o++) {
                for (int oy = 0; oy < 3; oy++) {
                    for (int ox = 0; ox < 3; ox++) {
                        for (int c = 0; c < 2; c++) {
                            for (int ky = 0; ky < 3; ky++) {
                                for (int kx = 0; kx < 3; kx++) {
                                    int iy = oy * 2 - 1 + ky;
                                    int ix = ox * 2 - 1 + kx;
                                    if (iy >= 0 && iy < 5 && ix >= 0 && ix < 5) {
                                        m[(o * 3 + oy) * 3 + ox][(c * 5 + iy) * 5 + ix] += wv[((o * 2 + c) * 3 + ky) * 3 + kx];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            double exact = topSingularValue(m);
            assertEquals(exact, sigma, 1e-4 * exact);
            // PyTorch's spectral_norm would normalize by the kernel reshaped to [3, 18]: a different number
            double[][] reshaped = new double[3][18];
            for (int o = 0; o < 3; o++) {
                System.arraycopy(wv, o * 18, reshaped[o], 0, 18);
            }
            assertTrue(Math.abs(topSingularValue(reshaped) - exact) > 0.05 * exact,
                    "reshaped-kernel norm " + topSingularValue(reshaped) + " vs operator norm " + exact);
            assertEquals(List.of("weight_orig", "weight_u"), List.copyOf(sn.stateDict().keySet()));
        }
    }

    /** Power iteration on m^T m in double, 2000 steps. */
    private static double topSingularValue(double[][] m) {
        int n = m[0].length;
        double[] v = new double[n];
        java.util.Arrays.fill(v, 1);
        double sigma = 0;
        for (int it = 0; it < 2000; it++) {
            double[] mv = new double[m.length];
            for (int i = 0; i < m.length; i++) {
                for (int j = 0; j < n; j++) {
                    mv[i] += m[i][j] * v[j];
                }
            }
            double[] mtmv = new double[n];
            for (int i = 0; i < m.length; i++) {
                for (int j = 0; j < n; j++) {
                    mtmv[j] += m[i][j] * mv[i];
                }
            }
            double norm = Math.sqrt(java.util.Arrays.stream(mtmv).map(z -> z * z).sum());
            sigma = Math.sqrt(norm);
            for (int j = 0; j < n; j++) {
                v[j] = mtmv[j] / norm;
            }
        }
        return sigma;
    }

    @Test
    void weightNormStartsAsTheLayerItWraps() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(3);
            Linear lin = new Linear(a, r, 5, 4, true);
            Tensor x = normal(a, r, 2, 5);
            Eager ops = new Eager(new RefBackend(), a);
            float[] before = lin.forward(ops, x).toFloatArray();
            WeightNorm wn = new WeightNorm(a, lin);
            assertArrayEquals(before, wn.forward(ops, x).toFloatArray(), 1e-5f);
            assertEquals(List.of("weight_g", "weight_v", "bias"), List.copyOf(wn.parameters().keySet()));
            assertEquals(Shape.of(4, 1), wn.parameters().get("weight_g").shape());
        }
    }

    @Test
    void architecturesUsePyTorchNamesAndShapes() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(1);
            ResNet net = new ResNet(a, r, 3, 10, 16, 3, ResNet.Norm.BATCH, true);
            Map<String, Tensor> sd = net.stateDict();
            assertEquals(Shape.of(16, 3, 3, 3), sd.get("conv1.weight").shape());
            assertEquals(Shape.of(16), sd.get("bn1.running_var").shape());
            assertEquals(Shape.of(32, 16, 3, 3), sd.get("layer2.0.conv1.weight").shape());
            assertEquals(Shape.of(32, 16, 1, 1), sd.get("layer2.0.shortcut.0.weight").shape());
            assertEquals(Shape.of(32), sd.get("layer2.0.shortcut.1.running_mean").shape());
            assertEquals(Shape.of(10, 64), sd.get("fc.weight").shape());
            // ResNet-20 (3 blocks per stage) has 0.27 M parameters, as in He et al. Table 6
            long count = net.parameters().values().stream().mapToLong(Tensor::size).sum();
            assertEquals(0.27e6, count, 0.01e6);
            assertEquals(9, net.blocks().size());
            VisionTransformer vit = new VisionTransformer(a, r, Attention.Kind.DOT, 1, 28, 7, 32, 2, 4, 2, 10);
            Map<String, Tensor> v = vit.stateDict();
            assertEquals(Shape.of(1, 17, 32), v.get("pos_embed").shape());
            assertEquals(Shape.of(32, 1, 7, 7), v.get("patch_embed.proj.weight").shape());
            assertEquals(Shape.of(32, 32), v.get("blocks.1.attn.q_proj.weight").shape());
            assertEquals(Shape.of(64, 32), v.get("blocks.0.mlp.0.weight").shape());
            assertEquals(Shape.of(10, 32), v.get("head.weight").shape());
            Tensor logits = vit.forward(new Eager(new RefBackend(), a), normal(a, r, 2, 1, 28, 28));
            assertEquals(Shape.of(2, 10), logits.shape());
        }
    }
}

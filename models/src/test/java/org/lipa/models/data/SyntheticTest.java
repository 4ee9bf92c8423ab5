package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.eval.Eager;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.Tensor;

class SyntheticTest {
    @Test
    void spiralsAreSeededBalancedAndOnTheirArms() {
        Dataset d = Synthetic.twoSpirals(100, 1.5, 0, 3);
        assertEquals(200, d.size());
        assertArrayEquals(d.features(), Synthetic.twoSpirals(100, 1.5, 0, 3).features());
        assertEquals(100, java.util.Arrays.stream(d.labels()).filter(l -> l == 1).count());
        // without noise the two arms are point reflections of each other
        assertEquals(-d.features()[2 * 50 * 2], d.features()[2 * (50 * 2 + 1)], 1e-6);
    }

    @Test
    @Tag("cpu")
    void anMlpSeparatesTheSpirals() {
        Dataset d = Synthetic.twoSpirals(200, 1.25, 0.02, 5);
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            Sequential net = Sequential.mlp(model, new Random(1), Activation.TANH, 2, 32, 32, 2);
            int n = d.size();
            Tensor[] all = d.batch(model, d.shuffled(0), 0, n);
            Trainer t = new Trainer(cpu, net, all[0].spec(), all[1].spec(), (ops, p, y) -> ops.crossEntropy(p, y),
                    Optimizer.adam(List.copyOf(net.parameters().values()), model, 0.01, 0.9, 0.999, 1e-8, 0));
            for (int i = 0; i < 600; i++) {
                t.step(all[0], all[1]);
            }
            float[] logits = net.forward(new Eager(cpu, model), all[0]).toFloatArray();
            float[] onehot = all[1].toFloatArray();
            int correct = 0;
            for (int i = 0; i < n; i++) {
                int pred = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
                if (onehot[2 * i + pred] == 1) {
                    correct++;
                }
            }
            assertTrue(correct > 0.95 * n, correct + " of " + n);
        }
    }

    /** The teacher's forward pass written out again, from its weights, for one stored input row. */
    private static double[] teacherOf(Synthetic.Teacher t, float[] x, int row) {
        int d = t.inputs();
        int h = t.hidden();
        double[] y = new double[t.outputs()];
        for (int o = 0; o < y.length; o++) {
            double sum = t.b2()[o];
            for (int j = 0; j < h; j++) {
                double pre = t.b1()[j];
                for (int i = 0; i < d; i++) {
                    pre += t.w1()[j * d + i] * (double) x[row * d + i];
                }
                sum += t.w2()[o * h + j] * Math.tanh(pre);
            }
            y[o] = sum;
        }
        return y;
    }

    @Test
    void teacherStudentIsSeededShapedAndFollowsTheTeacher() {
        Synthetic.Teacher t = Synthetic.Teacher.random(5, 7, 3, 11);
        assertArrayEquals(t.w1(), Synthetic.Teacher.random(5, 7, 3, 11).w1());
        assertArrayEquals(t.b2(), Synthetic.Teacher.random(5, 7, 3, 11).b2());
        assertFalse(Arrays.equals(t.w1(), Synthetic.Teacher.random(5, 7, 3, 12).w1()));
        int n = 400;
        double noise = 0.1;
        Regression noisy = Synthetic.teacherStudent(n, t, noise, 4);
        assertEquals(n, noisy.size());
        assertEquals(5, noisy.width());
        assertEquals(3, noisy.outputs());
        assertArrayEquals(noisy.features(), Synthetic.teacherStudent(n, t, noise, 4).features());
        assertArrayEquals(noisy.targets(), Synthetic.teacherStudent(n, t, noise, 4).targets());
        assertFalse(Arrays.equals(noisy.features(), Synthetic.teacherStudent(n, t, noise, 5).features()));
        // the noise changes only the targets
        Regression clean = Synthetic.teacherStudent(n, t, 0, 4);
        assertArrayEquals(noisy.features(), clean.features());
        double[] mean = new double[3];
        double[] sq = new double[3];
        double residualSq = 0;
        for (int e = 0; e < n; e++) {
            double[] want = teacherOf(t, clean.features(), e);
            assertArrayEquals(want, t.apply(new double[] {clean.features()[5 * e], clean.features()[5 * e + 1],
                    clean.features()[5 * e + 2], clean.features()[5 * e + 3], clean.features()[5 * e + 4]}), 1e-12);
            for (int o = 0; o < 3; o++) {
                assertEquals((float) want[o], clean.targets()[3 * e + o], 1e-6f, "example " + e + " output " + o);
                mean[o] += want[o] / n;
                sq[o] += want[o] * want[o] / n;
                double r = noisy.targets()[3 * e + o] - clean.targets()[3 * e + o];
                residualSq += r * r;
            }
        }
        for (int o = 0; o < 3; o++) {
            assertTrue(sq[o] - mean[o] * mean[o] > 0.01, "variance of output " + o + ": " + (sq[o] - mean[o] * mean[o]));
        }
        double noiseStd = Math.sqrt(residualSq / (3 * n));
        assertEquals(noise, noiseStd, 0.15 * noise);
        // the inputs are standard normal
        double xMean = 0;
        double xSq = 0;
        for (float v : clean.features()) {
            xMean += v / (5.0 * n);
            xSq += v * (double) v / (5.0 * n);
        }
        assertEquals(0, xMean, 0.1);
        assertEquals(1, xSq - xMean * xMean, 0.1);
        try (Arena a = Arena.ofConfined()) {
            Tensor[] b = clean.batch(a, clean.shuffled(1), 0, 8);
            assertArrayEquals(new long[] {8, 5}, b[0].shape().toArray());
            assertArrayEquals(new long[] {8, 3}, b[1].shape().toArray());
        }
    }

    @Test
    void teacherStudentRejectsBadArguments() {
        Synthetic.Teacher t = Synthetic.Teacher.random(2, 3, 1, 0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.teacherStudent(0, t, 0, 1)).getMessage()
                .contains("n must be at least 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.teacherStudent(3, t, -1, 1)).getMessage()
                .contains("noise must be finite and at least 0, got -1.0"));
        assertThrows(IllegalArgumentException.class, () -> Synthetic.teacherStudent(3, t, Double.NaN, 1));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.Teacher.random(2, 0, 1, 0)).getMessage()
                .contains("hidden must be at least 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> t.apply(new double[3])).getMessage()
                .contains("x has length 3, expected 2"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new Synthetic.Teacher(2, 3, 1, new double[6], new double[3], new double[2], new double[1]))
                .getMessage().contains("w2 has length 2, expected 3"));
    }

    /** How often each token occurs in one example, counted from its one-hot features, which are checked on the way. */
    private static int[] counts(Dataset d, int e, int length, int vocab) {
        int[] count = new int[vocab];
        for (int p = 0; p < length; p++) {
            int ones = 0;
            for (int t = 0; t < vocab; t++) {
                float v = d.features()[e * length * vocab + p * vocab + t];
                assertTrue(v == 0 || v == 1, "example " + e + " position " + p + " has " + v);
                if (v == 1) {
                    count[t]++;
                    ones++;
                }
            }
            assertEquals(1, ones, "example " + e + " position " + p);
        }
        return count;
    }

    @Test
    void majorityTokenLabelsTheStrictlyMostFrequentToken() {
        int n = 3000;
        int length = 12;
        int vocab = 6;
        Dataset d = Synthetic.majorityToken(n, length, vocab, 9);
        assertEquals(n, d.size());
        assertEquals(length * vocab, d.width());
        assertEquals(vocab, d.classes());
        Dataset again = Synthetic.majorityToken(n, length, vocab, 9);
        assertArrayEquals(d.features(), again.features());
        assertArrayEquals(d.labels(), again.labels());
        assertFalse(Arrays.equals(d.features(), Synthetic.majorityToken(n, length, vocab, 10).features()));
        int[] perClass = new int[vocab];
        int wonByOne = 0;
        for (int e = 0; e < n; e++) {
            int[] count = counts(d, e, length, vocab);
            int best = 0;
            for (int t = 1; t < vocab; t++) {
                if (count[t] > count[best]) {
                    best = t;
                }
            }
            assertEquals(best, d.labels()[e], "example " + e + " counts " + Arrays.toString(count));
            for (int t = 0; t < vocab; t++) {
                assertTrue(t == best || count[t] < count[best], "example " + e + " has a tie: " + Arrays.toString(count));
                if (t != best && count[t] == count[best] - 1) {
                    wonByOne++;
                    break;
                }
            }
            perClass[best]++;
        }
        for (int c = 0; c < vocab; c++) {
            assertTrue(perClass[c] > n / vocab / 2 && perClass[c] < 2 * n / vocab, "class " + c + ": " + perClass[c]);
        }
        // not trivial: most answers lead the runner-up by a single occurrence
        assertTrue(wonByOne > n / 2, wonByOne + " of " + n);
    }

    @Test
    void majorityTokenEdgeCasesAndBadArguments() {
        Dataset one = Synthetic.majorityToken(20, 1, 3, 0);
        for (int e = 0; e < 20; e++) {
            assertEquals(1, one.features()[3 * e + one.labels()[e]]);
        }
        Dataset wide = Synthetic.majorityToken(50, 3, 40, 0);  // more tokens than positions: the answer repeats
        for (int e = 0; e < 50; e++) {
            int[] count = counts(wide, e, 3, 40);
            assertTrue(count[wide.labels()[e]] >= 2, Arrays.toString(count));
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.majorityToken(5, 4, 1, 0)).getMessage()
                .contains("vocab must be at least 2, got 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.majorityToken(5, 0, 4, 0)).getMessage()
                .contains("length must be at least 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.majorityToken(-1, 4, 4, 0)).getMessage()
                .contains("n must be at least 1, got -1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Synthetic.majorityToken(1 << 20, 1 << 10, 4, 0))
                .getMessage().contains("do not fit"));
    }
}

package org.lipa.models.data;

import java.util.Arrays;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Synthetic tasks that need nothing to download, each a pure function of its arguments and seed: two
 * spirals (classification in the plane), teacher-student regression, and the majority token of a sequence
 * (a classification task for sequence models).
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Synthetic {
    private Synthetic() {
    }

    /**
     * A fixed MLP {@code inputs -> hidden -> outputs} with tanh, evaluated in double precision:
     * {@code y = W2 tanh(W1 x + b1) + b2}. The teacher of {@link #teacherStudent}.
     *
     * @param inputs  input dimension d, at least 1
     * @param hidden  hidden units, at least 1
     * @param outputs output dimension k, at least 1
     * @param w1      {@code [hidden, inputs]}, row-major
     * @param b1      {@code [hidden]}
     * @param w2      {@code [outputs, hidden]}, row-major
     * @param b2      {@code [outputs]}
     */
    public record Teacher(int inputs, int hidden, int outputs, double[] w1, double[] b1, double[] w2, double[] b2) {
        /**
         * Checks the sizes.
         *
         * @throws IllegalArgumentException naming a size below 1 or an array of the wrong length
         */
        public Teacher {
            positive("inputs", inputs);
            positive("hidden", hidden);
            positive("outputs", outputs);
            length("w1", w1, (long) hidden * inputs);
            length("b1", b1, hidden);
            length("w2", w2, (long) outputs * hidden);
            length("b2", b2, outputs);
        }

        /**
         * A random teacher: weights drawn from N(0, 1/fan-in), so that each hidden pre-activation has unit
         * variance for x ~ N(0, I) and tanh works in its non-linear range, and biases from N(0, 0.1^2).
         * Drawn from a {@link SplittableRandom}, a generator unrelated to the {@link Random} that
         * {@link #teacherStudent} samples inputs with, so one seed may serve both.
         */
        public static Teacher random(int inputs, int hidden, int outputs, long seed) {
            positive("inputs", inputs);
            positive("hidden", hidden);
            positive("outputs", outputs);
            if ((long) hidden * inputs > Integer.MAX_VALUE - 8 || (long) outputs * hidden > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("teacher of " + inputs + " x " + hidden + " x " + outputs + " is too large");
            }
            SplittableRandom r = new SplittableRandom(seed);
            double[] w1 = gaussians(r, hidden * inputs, 1 / Math.sqrt(inputs));
            double[] b1 = gaussians(r, hidden, 0.1);
            double[] w2 = gaussians(r, outputs * hidden, 1 / Math.sqrt(hidden));
            double[] b2 = gaussians(r, outputs, 0.1);
            return new Teacher(inputs, hidden, outputs, w1, b1, w2, b2);
        }

        /**
         * The teacher's output for one input.
         *
         * @throws IllegalArgumentException naming {@code x}'s length when it is not {@code inputs}
         */
        public double[] apply(double[] x) {
            length("x", x, inputs);
            double[] h = new double[hidden];
            for (int j = 0; j < hidden; j++) {
                double a = b1[j];
                for (int i = 0; i < inputs; i++) {
                    a += w1[j * inputs + i] * x[i];
                }
                h[j] = Math.tanh(a);
            }
            double[] y = new double[outputs];
            for (int o = 0; o < outputs; o++) {
                double a = b2[o];
                for (int j = 0; j < hidden; j++) {
                    a += w2[o * hidden + j] * h[j];
                }
                y[o] = a;
            }
            return y;
        }

        private static double[] gaussians(SplittableRandom r, int n, double std) {
            double[] v = new double[n];
            for (int i = 0; i < n; i++) {
                v[i] = std * r.nextGaussian();
            }
            return v;
        }
    }

    /**
     * Teacher-student regression: {@code n} inputs {@code x ~ N(0, I_d)} with targets
     * {@code y = teacher(x) + noise * N(0, I_k)}. The teacher is evaluated in double precision on the inputs
     * as stored (rounded to float), so with {@code noise = 0} the targets are exactly {@code teacher.apply}
     * of the features, rounded to float. For a train and a test set of one task, pass the same teacher and
     * two seeds; a student MLP of the teacher's shape can reach the noise floor {@code noise^2} per output.
     *
     * @param n       examples, at least 1
     * @param teacher the function to learn, e.g. {@link Teacher#random}
     * @param noise   standard deviation of the label noise, at least 0
     * @param seed    seeds the inputs and the noise
     * @throws IllegalArgumentException naming {@code n} or {@code noise} when out of range
     */
    public static Regression teacherStudent(int n, Teacher teacher, double noise, long seed) {
        positive("n", n);
        if (!(noise >= 0) || Double.isInfinite(noise)) {
            throw new IllegalArgumentException("noise must be finite and at least 0, got " + noise);
        }
        int d = teacher.inputs();
        int k = teacher.outputs();
        if ((long) n * Math.max(d, k) > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("n = " + n + " examples of " + d + " inputs and " + k + " outputs do not fit an array");
        }
        Random r = new Random(seed);
        float[] x = new float[n * d];
        float[] y = new float[n * k];
        double[] row = new double[d];
        for (int e = 0; e < n; e++) {
            for (int i = 0; i < d; i++) {
                x[e * d + i] = (float) r.nextGaussian();
                row[i] = x[e * d + i];
            }
            double[] t = teacher.apply(row);
            for (int o = 0; o < k; o++) {
                y[e * k + o] = (float) (t[o] + noise * r.nextGaussian());
            }
        }
        return new Regression(x, d, y, k);
    }

    /**
     * Majority token: each example is a sequence of {@code length} tokens from {@code [0, vocab)}, and its
     * label is the token that occurs most often (ties would go to the smallest id, but the generator makes the
     * answer a strict majority so that no tie occurs). The answer depends on every position, so a sequence
     * model must move information across positions (attention, or pooling) to solve it; it does not depend
     * on the order of the tokens, so it does not exercise positional encodings.
     *
     * <p>Our tensors have no integer dtype, so the features are the one-hot encoding of each sequence,
     * flattened to width {@code length * vocab}: feature {@code p * vocab + t} of an example is 1 when its
     * token at position {@code p} is {@code t}, else 0. A model reshapes a batch to {@code [b, length, vocab]}
     * and embeds it by a matmul with a {@code [vocab, dModel]} matrix. There are {@code vocab} classes.
     *
     * <p>Generation: the answer is drawn uniformly (so the classes are balanced in expectation), the tokens
     * uniformly and independently; then, while some other token occurs at least as often as the answer, a
     * uniformly chosen occurrence of the most frequent such token (smallest id first) is replaced by the
     * answer. The answer thus usually wins by a count of one, which keeps the task from being trivial.
     *
     * @param n      examples, at least 1
     * @param length tokens per sequence, at least 1
     * @param vocab  distinct tokens and classes, at least 2
     * @param seed   seeds everything
     * @throws IllegalArgumentException naming the argument out of range, or when {@code n * length * vocab}
     *                                  features do not fit an array
     */
    public static Dataset majorityToken(int n, int length, int vocab, long seed) {
        positive("n", n);
        positive("length", length);
        if (vocab < 2) {
            throw new IllegalArgumentException("vocab must be at least 2, got " + vocab);
        }
        if ((long) n * length * vocab > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("n * length * vocab = " + n + " * " + length + " * " + vocab
                    + " features do not fit an array");
        }
        Random r = new Random(seed);
        int width = length * vocab;
        float[] x = new float[n * width];
        int[] y = new int[n];
        int[] seq = new int[length];
        int[] count = new int[vocab];
        for (int e = 0; e < n; e++) {
            int answer = r.nextInt(vocab);
            Arrays.fill(count, 0);
            for (int p = 0; p < length; p++) {
                seq[p] = r.nextInt(vocab);
                count[seq[p]]++;
            }
            while (true) {
                int rival = answer == 0 ? 1 : 0;
                for (int t = 0; t < vocab; t++) {
                    if (t != answer && count[t] > count[rival]) {
                        rival = t;
                    }
                }
                if (count[answer] > count[rival]) {
                    break;
                }
                // each pass turns one rival token into the answer, so this ends within length passes
                int k = r.nextInt(count[rival]);
                for (int p = 0; p < length; p++) {
                    if (seq[p] == rival && k-- == 0) {
                        seq[p] = answer;
                        break;
                    }
                }
                count[rival]--;
                count[answer]++;
            }
            y[e] = answer;
            for (int p = 0; p < length; p++) {
                x[e * width + p * vocab + seq[p]] = 1;
            }
        }
        return new Dataset(x, width, y, vocab);
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(name + " must be at least 1, got " + value);
        }
    }

    private static void length(String name, double[] a, long expected) {
        if (a.length != expected) {
            throw new IllegalArgumentException(name + " has length " + a.length + ", expected " + expected);
        }
    }

    /**
     * Two interleaved spirals in the plane (class 0 and 1, {@code n} points each): the classic task a
     * linear model cannot solve. Radius grows with the angle over {@code turns} turns; Gaussian noise of
     * standard deviation {@code noise} is added to each coordinate.
     */
    public static Dataset twoSpirals(int n, double turns, double noise, long seed) {
        if (n <= 0 || turns <= 0 || noise < 0) {
            throw new IllegalArgumentException("twoSpirals needs n > 0, turns > 0, noise >= 0; got " + n + ", " + turns + ", " + noise);
        }
        Random r = new Random(seed);
        float[] x = new float[4 * n];
        int[] y = new int[2 * n];
        for (int i = 0; i < n; i++) {
            double t = (double) i / n * turns * 2 * Math.PI;
            double radius = t / (turns * 2 * Math.PI);
            for (int c = 0; c < 2; c++) {
                int k = 2 * i + c;
                double angle = t + c * Math.PI;
                x[2 * k] = (float) (radius * Math.cos(angle) + noise * r.nextGaussian());
                x[2 * k + 1] = (float) (radius * Math.sin(angle) + noise * r.nextGaussian());
                y[k] = c;
            }
        }
        return new Dataset(x, 2, y, 2);
    }
}

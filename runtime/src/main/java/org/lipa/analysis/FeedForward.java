package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A fully connected network {@code f(x) = W_L phi(... phi(W_1 x + b_1) ...) + b_L} in double precision:
 * what the whole-network Lipschitz bounds ({@link NetworkBounds}) and the lower-bound search take. The
 * weights are those of the network as stored (float32 weights convert exactly); every bound is about
 * the real-valued function they define, not about a float32 evaluation of it.
 *
 * <pre>{@code
 * FeedForward net = FeedForward.of(List.of(w1, w2), List.of(b1, b2), Nonlinearity.RELU); // w1 [50][784], w2 [10][50]
 * double[] y = net.forward(x);
 * FeedForward.Jacobian j = net.jacobian(x);    // J v and J^T u at x, in double precision
 * }</pre>
 *
 * <p>Thread safety: immutable (the arrays are copied in and never handed out); safe to share.
 */
public final class FeedForward {
    private final int[] widths;
    private final double[][] weights; // weights[l]: widths[l + 1] x widths[l], row-major
    private final double[][] biases;  // biases[l]: widths[l + 1]
    private final Nonlinearity activation;

    private FeedForward(int[] widths, double[][] weights, double[][] biases, Nonlinearity activation) {
        this.widths = widths;
        this.weights = weights;
        this.biases = biases;
        this.activation = activation;
    }

    /**
     * A network from its weight matrices ({@code weights.get(l)[i][j]}: output i, input j, as PyTorch's
     * {@code Linear.weight}) and biases (a null list or null entries: zero), with one activation after every
     * layer but the last.
     *
     * @throws IllegalArgumentException naming the layer whose shape does not chain, or a value that is not finite
     */
    public static FeedForward of(List<double[][]> weights, List<double[]> biases, Nonlinearity activation) {
        Objects.requireNonNull(activation, "activation");
        if (weights.isEmpty()) {
            throw new IllegalArgumentException("weights: a network needs at least one layer");
        }
        if (biases != null && biases.size() != weights.size()) {
            throw new IllegalArgumentException("biases: expected " + weights.size() + " (one per layer), got " + biases.size());
        }
        int layers = weights.size();
        int[] widths = new int[layers + 1];
        double[][] w = new double[layers][];
        double[][] b = new double[layers][];
        for (int l = 0; l < layers; l++) {
            double[][] m = weights.get(l);
            if (m.length == 0 || m[0].length == 0) {
                throw new IllegalArgumentException("weights[" + l + "]: empty matrix");
            }
            int rows = m.length;
            int cols = m[0].length;
            if (l == 0) {
                widths[0] = cols;
            } else if (cols != widths[l]) {
                throw new IllegalArgumentException("weights[" + l + "]: is " + rows + " x " + cols + " but layer " + (l - 1) + " has "
                        + widths[l] + " outputs");
            }
            widths[l + 1] = rows;
            w[l] = new double[rows * cols];
            for (int i = 0; i < rows; i++) {
                if (m[i].length != cols) {
                    throw new IllegalArgumentException("weights[" + l + "]: row " + i + " has " + m[i].length + " entries, row 0 has " + cols);
                }
                System.arraycopy(finite(m[i], "weights[" + l + "]"), 0, w[l], i * cols, cols);
            }
            double[] bias = biases == null ? null : biases.get(l);
            if (bias != null && bias.length != rows) {
                throw new IllegalArgumentException("biases[" + l + "]: expected " + rows + " entries, got " + bias.length);
            }
            b[l] = bias == null ? new double[rows] : finite(bias, "biases[" + l + "]").clone();
        }
        return new FeedForward(widths, w, b, activation);
    }

    /**
     * A network from row-major weights ({@code weights.get(l)}: {@code widths[l + 1] x widths[l]}, as
     * {@code Tensor.toDoubleArray()} gives a PyTorch {@code Linear.weight}) and biases (a null list or null
     * entries: zero).
     *
     * @throws IllegalArgumentException naming the layer whose length does not match the widths
     */
    public static FeedForward of(int[] widths, List<double[]> weights, List<double[]> biases, Nonlinearity activation) {
        if (widths.length != weights.size() + 1) {
            throw new IllegalArgumentException("widths: " + widths.length + " widths need " + (widths.length - 1) + " weight matrices, got "
                    + weights.size());
        }
        List<double[][]> rows = new java.util.ArrayList<>();
        for (int l = 0; l < weights.size(); l++) {
            double[] w = weights.get(l);
            if (widths[l] < 1 || widths[l + 1] < 1 || w.length != (long) widths[l] * widths[l + 1]) {
                throw new IllegalArgumentException("weights[" + l + "]: " + w.length + " values do not fill " + widths[l + 1] + " x "
                        + widths[l]);
            }
            double[][] m = new double[widths[l + 1]][];
            for (int i = 0; i < m.length; i++) {
                m[i] = java.util.Arrays.copyOfRange(w, i * widths[l], (i + 1) * widths[l]);
            }
            rows.add(m);
        }
        return of(rows, biases, activation);
    }

    private static double[] finite(double[] a, String what) {
        for (double x : a) {
            if (!Double.isFinite(x)) {
                throw new IllegalArgumentException(what + ": entries must be finite, got " + x);
            }
        }
        return a;
    }

    /** The same weights with another activation (a smooth stand-in for the lower-bound search). */
    public FeedForward withActivation(Nonlinearity other) {
        return new FeedForward(widths, weights, biases, Objects.requireNonNull(other, "other"));
    }

    /** Widths from the input to the output: {@code [784, 50, 10]}. */
    public int[] widths() {
        return widths.clone();
    }

    /** Number of linear layers. */
    public int layers() {
        return weights.length;
    }

    public int inputSize() {
        return widths[0];
    }

    public int outputSize() {
        return widths[widths.length - 1];
    }

    public Nonlinearity activation() {
        return activation;
    }

    /** Layer l's weights, row-major {@code widths[l + 1] x widths[l]} (a copy). */
    public double[] weight(int l) {
        return weights[l].clone();
    }

    /** Layer l's bias (a copy). */
    public double[] bias(int l) {
        return biases[l].clone();
    }

    /** The same view without copying, for this package's dense algorithms: callers must not write to it. */
    double[] weightView(int l) {
        return weights[l];
    }

    /** f(x). */
    public double[] forward(double[] x) {
        double[][] z = preActivations(x);
        return z[z.length - 1];
    }

    /**
     * The inputs of every layer's activation and the output: {@code z[l] = W_{l+1} h_l + b_{l+1}} with
     * {@code h_0 = x}, {@code h_l = phi(z[l - 1])}; {@code z[layers - 1]} is f(x).
     */
    public double[][] preActivations(double[] x) {
        checkLength(x, inputSize(), "x");
        double[][] z = new double[layers()][];
        double[] h = x;
        for (int l = 0; l < layers(); l++) {
            z[l] = affine(l, h);
            if (l + 1 < layers()) {
                h = new double[z[l].length];
                for (int i = 0; i < h.length; i++) {
                    h[i] = activation.value(z[l][i]);
                }
            }
        }
        return z;
    }

    private double[] affine(int l, double[] h) {
        double[] out = linear(l, h);
        for (int i = 0; i < out.length; i++) {
            out[i] += biases[l][i];
        }
        return out;
    }

    /** The Jacobian at x: {@code W_L D_{L-1} W_{L-1} ... D_1 W_1} with {@code D_l = diag(phi'(z_l))}. */
    public Jacobian jacobian(double[] x) {
        double[][] z = preActivations(x);
        double[][] slopes = new double[layers() - 1][];
        for (int l = 0; l + 1 < layers(); l++) {
            slopes[l] = new double[z[l].length];
            for (int i = 0; i < slopes[l].length; i++) {
                slopes[l][i] = activation.derivative(z[l][i]);
            }
        }
        return new Jacobian(this, slopes);
    }

    /**
     * The Jacobian of the network at a point, as its activations' derivatives there: products with it in
     * double precision.
     *
     * @param slopes {@code slopes[l][i]}: phi' at neuron i of hidden layer l
     */
    public record Jacobian(FeedForward net, double[][] slopes) {
        /** J v. */
        public double[] apply(double[] v) {
            checkLength(v, net.inputSize(), "v");
            double[] h = v;
            for (int l = 0; l < net.layers(); l++) {
                h = net.linear(l, h);
                if (l + 1 < net.layers()) {
                    for (int i = 0; i < h.length; i++) {
                        h[i] *= slopes[l][i];
                    }
                }
            }
            return h;
        }

        /** J^T u. */
        public double[] applyTranspose(double[] u) {
            checkLength(u, net.outputSize(), "u");
            double[] g = u.clone();
            for (int l = net.layers() - 1; l >= 0; l--) {
                if (l + 1 < net.layers()) {
                    for (int i = 0; i < g.length; i++) {
                        g[i] *= slopes[l][i];
                    }
                }
                g = net.linearTranspose(l, g);
            }
            return g;
        }

        /** The dense Jacobian, row-major {@code outputSize x inputSize}. */
        public double[] dense() {
            int n = net.inputSize();
            int m = net.outputSize();
            double[] a = new double[m * n];
            for (int i = 0; i < m; i++) {
                double[] e = new double[m];
                e[i] = 1;
                System.arraycopy(applyTranspose(e), 0, a, i * n, n);
            }
            return a;
        }
    }

    private double[] linear(int l, double[] h) {
        return NetKernels.times(this, l, h);
    }

    private double[] linearTranspose(int l, double[] g) {
        return NetKernels.timesTranspose(this, l, g);
    }

    /**
     * The network as a traced float32 function of one input row {@code [1, inputSize]} on {@code backend},
     * its weights copied into {@code arena} (which must outlive the result): for the runtime's JVPs,
     * pullbacks and gradient ascent.
     */
    public Differentiable trace(Backend backend, Arena arena) {
        List<Tensor> w = new ArrayList<>();
        List<Tensor> b = new ArrayList<>();
        for (int l = 0; l < layers(); l++) {
            w.add(Tensor.of(arena, DType.F32, weights[l], widths[l + 1], widths[l]));
            b.add(Tensor.of(arena, DType.F32, biases[l], widths[l + 1]));
        }
        TensorSpec in = new TensorSpec(Shape.of(1, inputSize()), DType.F32);
        return Differentiable.trace(backend, List.of(in), (ops, x) -> {
            var h = x.get(0);
            for (int l = 0; l < layers(); l++) {
                h = ops.linear(h, ops.constant(w.get(l)), ops.constant(b.get(l)));
                if (l + 1 < layers()) {
                    h = activation.apply(ops, h);
                }
            }
            return List.of(h);
        });
    }

    private static void checkLength(double[] v, int n, String what) {
        if (v.length != n) {
            throw new IllegalArgumentException(what + ": expected " + n + " values, got " + v.length);
        }
    }
}

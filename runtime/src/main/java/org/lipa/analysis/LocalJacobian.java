package org.lipa.analysis;

import java.util.Random;

/**
 * A network's Jacobian {@code J(x) = W_H D_{H-1} W_{H-1} ... D_0 W_0} at one point, with a floating-point
 * estimate of its top singular triple {@code J v = sigma u}: one evaluation of the lower-bound search.
 *
 * <p>When {@code min(in, out) <= DENSE_LIMIT} J is written out (one pass per output, or per input,
 * whichever is fewer) and its Gram matrix decomposed exactly; otherwise power iteration on
 * {@code J^T J}, warm-started, estimates the top pair. Either way {@link #sigma} is {@code ||J v||} for
 * the unit v found, which never exceeds {@code ||J||} up to rounding; {@link CertifiedNorm} turns it
 * into a bound that holds with the rounding included.
 *
 * <p>Indices: hidden layer l (0 <= l < H = layers - 1) has pre-activations {@code z[l] = W_l y_{l-1} + b_l}
 * and outputs {@code y_l = phi(z[l])}, {@code y_{-1} = x}. Not thread-safe to build; immutable after.
 */
final class LocalJacobian {
    /** Up to this many outputs (or inputs) J is written out and its top pair found exactly. */
    static final int DENSE_LIMIT = 64;
    /** Power iteration stops when sigma changes by less than this, relative: plenty to rank points; the bound uses whatever v it reached. */
    private static final double POWER_TOLERANCE = 1e-10;
    private static final int POWER_STEPS = 300;

    final FeedForward net;
    final double[] x;
    /** Hidden pre-activations, {@code z[l][k]}. */
    final double[][] z;
    /** phi' at every hidden neuron: the diagonals of the D_l. */
    final double[][] slopes;
    /**
     * Whether the network is differentiable at x as far as floating point tells: every value finite and,
     * for relu-type activations, no hidden pre-activation exactly at the kink.
     */
    final boolean differentiable;
    /** {@code ||J v||}, the estimate of {@code ||J(x)||}. */
    final double sigma;
    /** Unit left and right singular vector estimates. */
    final double[] u;
    final double[] v;
    /**
     * When J was written out from the output side: {@code downstream2[l][k] = ||(W_H D_{H-1} ... W_{l+1}) e_k||^2},
     * what flipping neuron k of layer l adds along J's columns. Otherwise null.
     */
    final double[][] downstream2;
    /** When J was written out from the input side: {@code upstream2[l][k] = ||e_k^T W_l D_{l-1} ... W_0||^2}. Otherwise null. */
    final double[][] upstream2;

    private LocalJacobian(FeedForward net, double[] x, double[][] z, double[][] slopes, boolean differentiable, double sigma,
                          double[] u, double[] v, double[][] downstream2, double[][] upstream2) {
        this.net = net;
        this.x = x;
        this.z = z;
        this.slopes = slopes;
        this.differentiable = differentiable;
        this.sigma = sigma;
        this.u = u;
        this.v = v;
        this.downstream2 = downstream2;
        this.upstream2 = upstream2;
    }

    /**
     * Evaluates the Jacobian of {@code net} at {@code x} (not copied: the caller hands it over).
     *
     * @param warmV a previous right singular vector to start power iteration from, or null for a seeded random start
     */
    static LocalJacobian at(FeedForward net, double[] x, double[] warmV, long seed) {
        int hidden = net.layers() - 1;
        Nonlinearity phi = net.activation();
        double[][] z = new double[hidden][];
        double[][] slopes = new double[hidden][];
        boolean ok = allFinite(x);
        double[] y = x;
        for (int l = 0; l < hidden; l++) {
            z[l] = NetKernels.times(net, l, y);
            double[] b = net.bias(l); // a copy of n_l values: small beside the product
            y = new double[z[l].length];
            slopes[l] = new double[z[l].length];
            for (int k = 0; k < y.length; k++) {
                double zk = z[l][k] + b[k];
                z[l][k] = zk;
                ok &= Double.isFinite(zk) && !(phi.piecewiseLinear() && zk == 0);
                y[k] = phi.value(zk);
                slopes[l][k] = phi.derivative(zk);
            }
        }
        int n = net.inputSize();
        int m = net.outputSize();
        if (!ok) {
            return overflowed(net, x, z, slopes);
        }
        if (m <= n && m <= DENSE_LIMIT) {
            return fromOutputSide(net, x, z, slopes);
        }
        if (n <= DENSE_LIMIT) {
            return fromInputSide(net, x, z, slopes);
        }
        return byPowerIteration(net, x, z, slopes, warmV, seed);
    }

    /** J's rows by one backward pass per output; the top pair from the m x m Gram matrix. */
    private static LocalJacobian fromOutputSide(FeedForward net, double[] x, double[][] z, double[][] slopes) {
        int n = net.inputSize();
        int m = net.outputSize();
        int hidden = z.length;
        double[][] down2 = new double[hidden][];
        for (int l = 0; l < hidden; l++) {
            down2[l] = new double[z[l].length];
        }
        // all m backward passes together, layer by layer: row i starts as e_i
        double[][] rows = new double[m][];
        for (int i = 0; i < m; i++) {
            rows[i] = unit(m, i);
        }
        rows = NetKernels.timesTranspose(net, hidden, rows);
        for (int l = hidden - 1; l >= 0; l--) {
            for (double[] g : rows) {
                for (int k = 0; k < g.length; k++) {
                    down2[l][k] += g[k] * g[k];
                    g[k] *= slopes[l][k];
                }
            }
            rows = NetKernels.timesTranspose(net, l, rows);
        }
        double[] gram = new double[m * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double s = Vectors.dot(rows[i], rows[j]);
                gram[i * m + j] = s;
                gram[j * m + i] = s;
            }
        }
        double[] u = topEigenvector(gram, m);
        if (u == null) {
            return overflowed(net, x, z, slopes);
        }
        double[] v = new double[n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                v[j] += u[i] * rows[i][j];
            }
        }
        double s = Vectors.norm(v);
        if (s == 0) {
            return new LocalJacobian(net, x, z, slopes, true, 0, u, unit(n, 0), down2, null);
        }
        Vectors.scale(v, 1 / s);
        return finish(net, x, z, slopes, v, down2, null);
    }

    /** J's columns by one forward pass per input; the top pair from the n x n Gram matrix. */
    private static LocalJacobian fromInputSide(FeedForward net, double[] x, double[][] z, double[][] slopes) {
        int n = net.inputSize();
        int hidden = z.length;
        double[][] up2 = new double[hidden][];
        for (int l = 0; l < hidden; l++) {
            up2[l] = new double[z[l].length];
        }
        double[][] cols = new double[n][];
        for (int j = 0; j < n; j++) {
            double[][] a = tangent(net, slopes, unit(n, j));
            for (int l = 0; l < hidden; l++) {
                for (int k = 0; k < a[l].length; k++) {
                    up2[l][k] += a[l][k] * a[l][k];
                }
            }
            cols[j] = a[hidden];
        }
        double[] gram = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = Vectors.dot(cols[i], cols[j]);
                gram[i * n + j] = s;
                gram[j * n + i] = s;
            }
        }
        double[] v = topEigenvector(gram, n);
        return v == null ? overflowed(net, x, z, slopes) : finish(net, x, z, slopes, v, null, up2);
    }

    /** Power iteration on J^T J; sigma = ||J v|| for the last unit v, so it never overestimates. */
    private static LocalJacobian byPowerIteration(FeedForward net, double[] x, double[][] z, double[][] slopes, double[] warmV, long seed) {
        int n = net.inputSize();
        double[] v;
        if (warmV != null && Vectors.norm(warmV) > 0) {
            v = warmV.clone();
            Vectors.scale(v, 1 / Vectors.norm(v));
        } else {
            v = randomUnit(n, seed);
        }
        double previous = 0;
        for (int k = 0; k < POWER_STEPS; k++) {
            double[] jv = tangent(net, slopes, v)[z.length];
            double s = Vectors.norm(jv);
            if (s == 0) {
                break;
            }
            Vectors.scale(jv, 1 / s);
            double[] next = adjoint(net, slopes, jv);
            double t = Vectors.norm(next);
            Vectors.scale(next, 1 / t);
            v = next;
            if (Math.abs(s - previous) <= POWER_TOLERANCE * s) {
                break;
            }
            previous = s;
        }
        return finish(net, x, z, slopes, v, null, null);
    }

    private static LocalJacobian finish(FeedForward net, double[] x, double[][] z, double[][] slopes, double[] v, double[][] down2,
                                        double[][] up2) {
        double[] jv = tangent(net, slopes, v)[z.length];
        double s = Vectors.norm(jv);
        if (!Double.isFinite(s) || !allFinite(v)) {
            return overflowed(net, x, z, slopes);
        }
        double[] u = s == 0 ? unit(jv.length, 0) : jv;
        if (s > 0) {
            Vectors.scale(u, 1 / s);
        }
        return new LocalJacobian(net, x, z, slopes, true, s, u, v, down2, up2);
    }

    /**
     * The forward tangent pass with this point's slopes: {@code a[l] = W_l D_{l-1} ... W_0 d} for every
     * hidden layer l (before its slopes), and {@code a[H] = J d}.
     */
    double[][] tangent(double[] d) {
        return tangent(net, slopes, d);
    }

    static double[][] tangent(FeedForward net, double[][] slopes, double[] d) {
        int hidden = slopes.length;
        double[][] a = new double[hidden + 1][];
        double[] t = d;
        for (int l = 0; l <= hidden; l++) {
            a[l] = NetKernels.times(net, l, t);
            if (l < hidden) {
                t = a[l].clone();
                for (int k = 0; k < t.length; k++) {
                    t[k] *= slopes[l][k];
                }
            }
        }
        return a;
    }

    /** {@code p[l] = (W_H D_{H-1} ... W_{l+1})^T w}: the cotangent of every hidden layer's output, for an output cotangent w. */
    double[][] cotangent(double[] w) {
        int hidden = z.length;
        double[][] p = new double[hidden][];
        double[] g = NetKernels.timesTranspose(net, hidden, w);
        for (int l = hidden - 1; l >= 0; l--) {
            p[l] = g.clone();
            for (int k = 0; k < g.length; k++) {
                g[k] *= slopes[l][k];
            }
            g = NetKernels.timesTranspose(net, l, g);
        }
        return p;
    }

    /** J^T w. */
    static double[] adjoint(FeedForward net, double[][] slopes, double[] w) {
        int hidden = slopes.length;
        double[] g = NetKernels.timesTranspose(net, hidden, w);
        for (int l = hidden - 1; l >= 0; l--) {
            for (int k = 0; k < g.length; k++) {
                g[k] *= slopes[l][k];
            }
            g = NetKernels.timesTranspose(net, l, g);
        }
        return g;
    }

    /** The gradient in x of {@code z[layer][k]} with this point's slopes: row k of {@code W_layer D ... W_0}. */
    double[] preActivationGradient(int layer, int k) {
        double[] g = new double[z[layer].length];
        g[k] = 1;
        g = NetKernels.timesTranspose(net, layer, g);
        for (int l = layer - 1; l >= 0; l--) {
            for (int i = 0; i < g.length; i++) {
                g[i] *= slopes[l][i];
            }
            g = NetKernels.timesTranspose(net, l, g);
        }
        return g;
    }

    /** The unit eigenvector of the largest eigenvalue; null when the matrix has an entry that is not finite (an overflow). */
    private static double[] topEigenvector(double[] gram, int n) {
        if (!allFinite(gram)) {
            return null;
        }
        Dense.Eigen e = Dense.symmetricEigen(gram, n);
        return e.vectors()[n - 1];
    }

    private static LocalJacobian overflowed(FeedForward net, double[] x, double[][] z, double[][] slopes) {
        return new LocalJacobian(net, x, z, slopes, false, 0, new double[net.outputSize()], new double[net.inputSize()], null, null);
    }

    static double[] unit(int n, int i) {
        double[] e = new double[n];
        e[i] = 1;
        return e;
    }

    static double[] randomUnit(int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        Vectors.scale(v, 1 / Vectors.norm(v));
        return v;
    }

    private static boolean allFinite(double[] a) {
        for (double d : a) {
            if (!Double.isFinite(d)) {
                return false;
            }
        }
        return true;
    }
}

package org.lipa.analysis;

/**
 * A certified lower bound on {@code ||J(x)||}, and so on the network's Lipschitz constant, from a point x
 * and a direction v: {@code ||J(x) v|| / ||v||} evaluated in double precision with every rounding error
 * of that evaluation bounded and subtracted.
 *
 * <p>Why it is a bound. For any x where the network is differentiable, {@code L >= ||J(x)|| >= ||J(x) v|| / ||v||}.
 * The forward pass is run with a running bound on the error of every pre-activation (Higham's
 * {@code gamma_k = k u / (1 - k u)} for each dot product, plus the propagated error of its inputs). For
 * relu and leaky relu every hidden pre-activation must be farther from the kink than its error bound:
 * then the computed activation pattern is the exact one at x, x lies in the interior of its linear
 * region and J is exactly {@code W_H D ... D W_0} with those 0/1 (or slope) diagonals. For smooth
 * activations the computed slopes {@code phi'(z)} are off by at most the activation's curvature times
 * the pre-activation's error plus the library function's own error (Java's {@code Math.tanh} is within
 * 2.5 ulps, {@code Math.exp} within 1; GELU's erf is taken within 16 ulps). The tangent pass
 * {@code J v} then carries its own error bound, and the triangle inequality gives
 * {@code ||J v|| >= ||fl(J v)|| - ||error||}. Norms are rounded in the safe direction.
 *
 * <p>The bound is about the real-valued function the double weights define (what {@link FeedForward}
 * means by the network), at the double point x. The allowance is typically 1e-15 to 1e-11 of the value:
 * the error bounds grow with the width of the layers and with cancellation in the sums.
 *
 * <p>Thread safety: stateless static methods.
 */
final class CertifiedNorm {
    /** The unit roundoff of double precision. */
    static final double U = 0x1p-53;
    /** Error bounds are sums of nonnegative terms computed in floating point: this covers their own rounding (for widths below 1e9). */
    private static final double SAFETY = 1 + 1e-6;

    private CertifiedNorm() {
    }

    /**
     * A lower bound on {@code ||J(x)||} that holds with rounding included, from the direction v (any
     * nonzero vector; the top right singular vector gives the best bound); 0 when v is zero or the bound
     * is not positive. NaN when nothing can be certified at x: a value that is not finite, or (relu-type
     * activations) a hidden pre-activation within its rounding error of the kink, where the activation
     * pattern, and so the Jacobian, is not determined.
     */
    static double lowerBound(FeedForward net, double[] x, double[] v) {
        Nonlinearity phi = net.activation();
        int hidden = net.layers() - 1;
        double[] y = x;
        double[] ey = new double[x.length];
        double[][] slopes = new double[hidden][];
        double[][] slopeErrors = new double[hidden][];
        for (int l = 0; l < hidden; l++) {
            double[] z = NetKernels.times(net, l, y);
            double[] b = net.bias(l);
            double[] ez = dotError(net, l, y, ey, b);
            double[] next = new double[z.length];
            double[] nextError = new double[z.length];
            slopes[l] = new double[z.length];
            slopeErrors[l] = new double[z.length];
            for (int k = 0; k < z.length; k++) {
                double zk = z[k] + b[k];
                if (!Double.isFinite(zk) || !Double.isFinite(ez[k])) {
                    return Double.NaN;
                }
                if (phi.piecewiseLinear() && !(Math.abs(zk) > ez[k])) {
                    return Double.NaN; // the sign, so the region, is not certain
                }
                double s = phi.derivative(zk);
                next[k] = phi.value(zk);
                slopes[l][k] = s;
                if (phi.piecewiseLinear()) {
                    // the sign is certain: y = s z exactly for the true z, and s is exact
                    nextError[k] = Math.abs(s) * ez[k] + U * Math.abs(next[k]);
                } else {
                    nextError[k] = phi.lipschitz() * ez[k] + valueError(phi, zk, next[k]);
                    slopeErrors[l][k] = curvature(phi) * ez[k] + slopeError(phi);
                }
                nextError[k] = nextError[k] * SAFETY + Double.MIN_VALUE;
            }
            y = next;
            ey = nextError;
        }
        // J v, layer by layer, with the error of every step
        double[] t = v;
        double[] et = new double[v.length];
        for (int l = 0; l <= hidden; l++) {
            double[] a = NetKernels.times(net, l, t);
            double[] ea = dotError(net, l, t, et, null);
            if (l == hidden) {
                t = a;
                et = ea;
                break;
            }
            double[] next = new double[a.length];
            double[] nextError = new double[a.length];
            for (int k = 0; k < a.length; k++) {
                double s = slopes[l][k];
                next[k] = s * a[k];
                double ds = slopeErrors[l][k];
                nextError[k] = (Math.abs(s) * ea[k] + ds * (Math.abs(a[k]) + ea[k]) + U * Math.abs(next[k])) * SAFETY + Double.MIN_VALUE;
            }
            t = next;
            et = nextError;
        }
        double jv = Vectors.norm(t);
        double err = Vectors.norm(et);
        double nv = Vectors.norm(v);
        if (!Double.isFinite(jv) || !Double.isFinite(err) || !Double.isFinite(nv)) {
            return Double.NaN;
        }
        if (nv == 0) {
            return 0;
        }
        // a norm of k entries is within gamma_{k+2} of its computed value (k squares and sums, one root)
        double low = jv * (1 - gamma(t.length + 2)) - err * (1 + gamma(t.length + 2));
        double high = nv * (1 + gamma(v.length + 2));
        double bound = low / high * (1 - 4 * U); // the three operations above
        return Math.max(bound, 0);
    }

    /**
     * Bound on the error of {@code fl(W_l y + b)} against the exact {@code W_l y_true + b}, where y carries the
     * error ey: {@code |W| ey + gamma_{cols+1} (|W| |y| + |b|)} (b null: no bias), a rounding allowance included.
     */
    private static double[] dotError(FeedForward net, int l, double[] y, double[] ey, double[] b) {
        int cols = y.length;
        double g = gamma(cols + 1);
        double[] propagated = NetKernels.absTimes(net, l, ey);
        double[] magnitude = NetKernels.absTimes(net, l, NetKernels.abs(y));
        double[] e = new double[propagated.length];
        for (int k = 0; k < e.length; k++) {
            double m = magnitude[k] + (b == null ? 0 : Math.abs(b[k]));
            // each of the cols + 1 operations may also underflow by at most half of MIN_VALUE
            e[k] = (propagated[k] + g * m) * SAFETY + (cols + 1) * Double.MIN_VALUE;
        }
        return e;
    }

    static double gamma(int k) {
        return k * U / (1 - k * U);
    }

    /** Largest |phi''|, rounded up: how much an error in z moves phi'(z). */
    static double curvature(Nonlinearity phi) {
        return switch (phi.kind()) {
            case RELU, LEAKY_RELU -> 0; // not used: the sign is certified instead
            case TANH -> 0.7699;        // 4 / (3 sqrt 3) at tanh(z) = 1 / sqrt 3
            case SIGMOID -> 0.0963;     // sqrt(3) / 18
            case GELU -> 0.7979;        // 2 / sqrt(2 pi) at z = 0: phi'' = pdf(z) (2 - z^2)
            case SOFTPLUS -> phi.parameter() * 0.2500001;
        };
    }

    /** Bound on |fl(phi(z)) - phi(z)| for the computed y = fl(phi(z)). */
    private static double valueError(Nonlinearity phi, double z, double y) {
        return switch (phi.kind()) {
            case RELU -> 0;
            case LEAKY_RELU -> U * Math.abs(y);
            case TANH -> 8 * U * Math.abs(y) + Double.MIN_VALUE;
            case SIGMOID -> 16 * U * Math.abs(y) + Double.MIN_VALUE;
            // 0.5 z (1 + erf(z / sqrt 2)) cancels for negative z: an absolute error proportional to |z|
            case GELU, SOFTPLUS -> 32 * U * (Math.abs(y) + Math.abs(z) + 1);
        };
    }

    /** Bound on |fl(phi'(z)) - phi'(z)|: every smooth slope here is at most 1.13, computed in a few rounded operations. */
    private static double slopeError(Nonlinearity phi) {
        return switch (phi.kind()) {
            case RELU, LEAKY_RELU -> 0;
            case TANH, SIGMOID, SOFTPLUS -> 32 * U;
            case GELU -> 64 * U;
        };
    }
}

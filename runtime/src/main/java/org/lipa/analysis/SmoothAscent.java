package org.lipa.analysis;

/**
 * Gradient ascent of {@code sigma(x) = ||J(x)||} on a network with a smooth activation: the real network
 * when its activation is smooth, or a softplus stand-in for a relu network, whose iterates are then
 * judged on the real one.
 *
 * <p>The gradient: at a simple top singular value, {@code sigma = u^T J(x) v} and
 * {@code d sigma = u^T dJ v}. J depends on x only through the slopes {@code phi'(z_l)}, and
 * {@code d sigma / d phi'(z_lk) = p_lk a_lk} with {@code a = W_l D ... W_0 v} (the tangent before layer
 * l's slopes) and {@code p = (W_H D ... W_{l+1})^T u}. So {@code r_lk = p_lk a_lk phi''(z_lk)} is the direct
 * sensitivity to each pre-activation, and one reverse pass through the network's forward computation
 * collects them: {@code g_l = r_l + phi'(z_l) .* W_{l+1}^T g_{l+1}}, {@code grad = W_0^T g_0}. Three
 * passes, no autodiff graph.
 *
 * <p>Thread safety: stateless static methods.
 */
final class SmoothAscent {
    private SmoothAscent() {
    }

    /** {@code d sigma / dx} at {@code at}, whose network must have a smooth activation. */
    static double[] gradient(LocalJacobian at) {
        FeedForward net = at.net;
        Nonlinearity phi = net.activation();
        int hidden = at.z.length;
        if (hidden == 0) {
            return new double[net.inputSize()]; // a linear map: J does not depend on x
        }
        double[][] a = at.tangent(at.v);
        double[][] p = at.cotangent(at.u);
        double[] g = null;
        for (int l = hidden - 1; l >= 0; l--) {
            double[] r = new double[at.z[l].length];
            for (int k = 0; k < r.length; k++) {
                r[k] = p[l][k] * a[l][k] * secondDerivative(phi, at.z[l][k]);
            }
            if (g != null) {
                double[] back = NetKernels.timesTranspose(net, l + 1, g);
                for (int k = 0; k < r.length; k++) {
                    r[k] += at.slopes[l][k] * back[k];
                }
            }
            g = r;
        }
        return NetKernels.timesTranspose(net, 0, g);
    }

    /** phi''(z); zero for the piecewise-linear activations (true away from the kink). */
    static double secondDerivative(Nonlinearity phi, double z) {
        return switch (phi.kind()) {
            case RELU, LEAKY_RELU -> 0;
            case TANH -> {
                double t = Math.tanh(z);
                yield -2 * t * (1 - t * t);
            }
            case SIGMOID -> {
                double s = Nonlinearity.SIGMOID.value(z);
                yield s * (1 - s) * (1 - 2 * s);
            }
            case GELU -> Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI) * (2 - z * z);
            case SOFTPLUS -> {
                double beta = phi.parameter();
                double s = Nonlinearity.SIGMOID.value(beta * z);
                yield beta * s * (1 - s);
            }
        };
    }

    /**
     * Ascends {@code ||J||} of {@code smooth} from {@code x0} with normalized gradient steps of adaptive
     * length (longer after a gain, halved after a loss, which is undone), for at most {@code steps}
     * steps. Every accepted iterate goes to {@code state}: directly when {@code smooth} is the real
     * network, else evaluated on the real network first.
     *
     * @param step the first step's length (in input units)
     * @return the last accepted point
     */
    static double[] climb(SearchState state, FeedForward smooth, double[] x0, int steps, double step,
                          LowerBoundSearch.Method method) {
        boolean real = smooth == state.net;
        LocalJacobian at = state.evaluate(smooth, x0.clone(), null);
        double length = step;
        double shortest = step * 1e-6;
        for (int k = 0; k < steps && at.differentiable && length > shortest && !state.exhausted(); k++) {
            double[] g = gradient(at);
            double gn = Vectors.norm(g);
            if (!(gn > 0) || !Double.isFinite(gn)) {
                break;
            }
            LocalJacobian next = state.evaluate(smooth, NetKernels.plus(at.x, length / gn, g), at.v);
            if (next.differentiable && next.sigma > at.sigma) {
                at = next;
                length *= 1.5;
                if (real) {
                    state.offer(at, method);
                } else if (!state.exhausted()) {
                    state.offer(state.evaluate(state.net, at.x.clone(), null), method);
                }
            } else {
                length *= 0.5;
            }
        }
        return at.x;
    }
}

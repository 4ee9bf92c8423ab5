package org.lipa.backend.ref;

import org.lipa.ops.Binary;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.tensor.Tensor;

/** Elementwise functions of one and two tensors. */
final class RefElementwise {
    private RefElementwise() {
    }

    static void eltwise(Eltwise op, Tensor x, Tensor y) {
        double[] v = x.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = apply(op.kind(), op.alpha(), op.beta(), v[i]);
        }
        y.copyFrom(v);
    }

    /** The function of each kind, as documented on {@link Eltwise.Kind}. */
    static double apply(Eltwise.Kind kind, double alpha, double beta, double x) {
        return switch (kind) {
            case RELU -> x > 0 ? x : alpha == 0 ? 0.0 : alpha * x; // +0, not -0, for plain relu
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU_ERF -> 0.5 * x * (1 + erf(x / Math.sqrt(2)));
            case TANH -> Math.tanh(x);
            case SIGMOID -> sigmoid(x);
            case ELU -> x > 0 ? x : alpha * Math.expm1(x);
            case SOFTPLUS -> softplus(alpha * x) / alpha;
            case SWISH -> x * sigmoid(alpha * x);
            case EXP -> Math.exp(x);
            case LOG -> Math.log(x);
            case SQRT -> Math.sqrt(x);
            case SQUARE -> x * x;
            case ABS -> Math.abs(x);
            case CLIP -> Math.min(Math.max(x, alpha), beta);
            case LINEAR -> alpha * x + beta;
        };
    }

    static void eltwiseGrad(EltwiseGrad op, Tensor x, Tensor g, Tensor y) {
        double[] v = x.toDoubleArray();
        double[] w = g.toDoubleArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = derivative(op.kind(), op.alpha(), op.beta(), v[i]) * w[i];
        }
        y.copyFrom(v);
    }

    /** f'(x) for each kind, by hand; see {@link EltwiseGrad} for the values at kinks. */
    static double derivative(Eltwise.Kind kind, double alpha, double beta, double x) {
        return switch (kind) {
            case RELU -> x > 0 ? 1 : alpha;
            case GELU_TANH -> {
                double c = Math.sqrt(2 / Math.PI);
                double t = Math.tanh(c * (x + 0.044715 * x * x * x));
                yield 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x);
            }
            case GELU_ERF -> 0.5 * (1 + erf(x / Math.sqrt(2))) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
            case TANH -> 1 - Math.tanh(x) * Math.tanh(x);
            case SIGMOID -> sigmoid(x) * (1 - sigmoid(x));
            case ELU -> x > 0 ? 1 : alpha * Math.exp(x);
            case SOFTPLUS -> sigmoid(alpha * x);
            case SWISH -> {
                double s = sigmoid(alpha * x);
                yield s + alpha * x * s * (1 - s);
            }
            case EXP -> Math.exp(x);
            case LOG -> 1 / x;
            case SQRT -> 0.5 / Math.sqrt(x);
            case SQUARE -> 2 * x;
            case ABS -> Math.signum(x);
            case CLIP -> x > alpha && x < beta ? 1 : 0;
            case LINEAR -> alpha;
        };
    }

    static double sigmoid(double x) {
        // written so that neither branch overflows
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }

    /** log(1 + exp(z)) without overflow for large z or loss of precision for very negative z. */
    static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }

    /**
     * The error function, to about 1e-15: erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)),
     * a series of positive terms (no cancellation); |erf(x)| is 1 to double precision past |x| = 6.
     */
    static double erf(double x) {
        double ax = Math.abs(x);
        if (Double.isNaN(x)) {
            return x;
        }
        if (ax >= 6) {
            return Math.signum(x);
        }
        double term = ax;
        double sum = ax;
        double x2 = ax * ax;
        for (int n = 1; n < 200; n++) {
            term *= 2 * x2 / (2 * n + 1);
            sum += term;
            if (term < 1e-17 * sum) {
                break;
            }
        }
        double r = 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum;
        return Math.copySign(Math.min(r, 1.0), x);
    }

    static void binary(Binary op, Tensor a, Tensor b, Tensor y) {
        double[] u = a.broadcastTo(y.shape()).toDoubleArray();
        double[] v = b.broadcastTo(y.shape()).toDoubleArray();
        for (int i = 0; i < u.length; i++) {
            u[i] = switch (op.kind()) {
                case ADD -> u[i] + v[i];
                case SUB -> u[i] - v[i];
                case MUL -> u[i] * v[i];
                case DIV -> u[i] / v[i];
                case MAX -> Math.max(u[i], v[i]);
                case MIN -> Math.min(u[i], v[i]);
            };
        }
        y.copyFrom(u);
    }
}

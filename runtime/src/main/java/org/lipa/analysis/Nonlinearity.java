package org.lipa.analysis;

import java.util.Locale;
import java.util.Objects;
import org.apache.commons.numbers.gamma.Erf;
import org.lipa.ops.Ops;

/**
 * An elementwise activation as the Lipschitz analyses see it: its value and derivative in double
 * precision, and the interval {@code [slopeLower, slopeUpper]} that contains every difference quotient
 * {@code (phi(a) - phi(b)) / (a - b)} (the slope restriction of LipSDP). The bounds are rounded
 * outwards, so a bound computed from them holds for the exact function.
 *
 * <table>
 * <caption>Slope intervals</caption>
 * <tr><th>kind</th><th>slopes</th></tr>
 * <tr><td>relu</td><td>[0, 1]</td></tr>
 * <tr><td>leaky_relu:a</td><td>[min(a, 1), max(a, 1)]</td></tr>
 * <tr><td>tanh</td><td>[0, 1]</td></tr>
 * <tr><td>sigmoid</td><td>[0, 1/4]</td></tr>
 * <tr><td>gelu (erf)</td><td>[-0.12890415, 1.12890415]: {@code phi'(x) = Phi(x) + x phi(x)} has its extremes at
 * {@code x = -+sqrt(2)}; not monotone, so LipSDP uses {@code alpha < 0}, which its quadratic constraint allows</td></tr>
 * <tr><td>softplus:beta</td><td>[0, 1]; a smooth stand-in for relu, used by the lower-bound search</td></tr>
 * </table>
 *
 * <pre>{@code
 * Nonlinearity relu = Nonlinearity.parse("relu");
 * double[] sector = {relu.slopeLower(), relu.slopeUpper()};   // {0, 1}
 * }</pre>
 *
 * @param kind      which function
 * @param parameter leaky relu's negative slope, or softplus' sharpness beta; 0 for the others
 *
 * <p>Thread safety: an immutable record.
 */
public record Nonlinearity(Kind kind, double parameter) {
    /** The functions. */
    public enum Kind { RELU, LEAKY_RELU, TANH, SIGMOID, GELU, SOFTPLUS }

    public static final Nonlinearity RELU = new Nonlinearity(Kind.RELU, 0);
    public static final Nonlinearity TANH = new Nonlinearity(Kind.TANH, 0);
    public static final Nonlinearity SIGMOID = new Nonlinearity(Kind.SIGMOID, 0);
    public static final Nonlinearity GELU = new Nonlinearity(Kind.GELU, 0);

    /** GELU's largest derivative, {@code Phi(sqrt 2) + sqrt(2) phi(sqrt 2) = (1 + erf 1) / 2 + e^-1 / sqrt(pi)}. */
    private static final double GELU_MAX_SLOPE = 1.1289041451851548;
    /** Outward rounding of bounds that are not exact in binary. */
    private static final double MARGIN = 1e-12;

    public Nonlinearity {
        Objects.requireNonNull(kind, "kind");
        if (!Double.isFinite(parameter)) {
            throw new IllegalArgumentException("parameter: must be finite, got " + parameter);
        }
        if (kind == Kind.SOFTPLUS && !(parameter > 0)) {
            throw new IllegalArgumentException("parameter: softplus needs beta > 0, got " + parameter);
        }
        if (kind != Kind.LEAKY_RELU && kind != Kind.SOFTPLUS && parameter != 0) {
            throw new IllegalArgumentException("parameter: " + kind + " takes none, got " + parameter);
        }
    }

    public static Nonlinearity leakyRelu(double negativeSlope) {
        return new Nonlinearity(Kind.LEAKY_RELU, negativeSlope);
    }

    public static Nonlinearity softplus(double beta) {
        return new Nonlinearity(Kind.SOFTPLUS, beta);
    }

    /**
     * Parses {@code relu}, {@code leaky_relu} (slope 0.01, PyTorch's default) or {@code leaky_relu:0.2},
     * {@code tanh}, {@code sigmoid}, {@code gelu}, {@code softplus:10}.
     *
     * @throws IllegalArgumentException naming the text when it is none of these
     */
    public static Nonlinearity parse(String text) {
        String[] parts = text.trim().toLowerCase(Locale.ROOT).split(":", 2);
        try {
            return switch (parts[0]) {
                case "relu" -> RELU;
                case "tanh" -> TANH;
                case "sigmoid" -> SIGMOID;
                case "gelu" -> GELU;
                case "leaky_relu", "leakyrelu" -> leakyRelu(parts.length == 2 ? Double.parseDouble(parts[1]) : 0.01);
                case "softplus" -> softplus(parts.length == 2 ? Double.parseDouble(parts[1]) : 1);
                default -> throw new IllegalArgumentException("activation: unknown '" + text
                        + "'; one of relu, leaky_relu[:slope], tanh, sigmoid, gelu, softplus[:beta]");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("activation: '" + text + "' has a parameter that is not a number", e);
        }
    }

    /** The lowest difference quotient (rounded down). */
    public double slopeLower() {
        return switch (kind) {
            case RELU, TANH, SIGMOID, SOFTPLUS -> 0;
            case LEAKY_RELU -> Math.min(parameter, 1);
            case GELU -> 1 - GELU_MAX_SLOPE - MARGIN; // phi'(-x) = 1 - phi'(x)
        };
    }

    /** The highest difference quotient (rounded up): the function's Lipschitz constant when {@code slopeLower >= -slopeUpper}. */
    public double slopeUpper() {
        return switch (kind) {
            case RELU, TANH, SOFTPLUS -> 1;
            case SIGMOID -> 0.25;
            case LEAKY_RELU -> Math.max(parameter, 1);
            case GELU -> GELU_MAX_SLOPE + MARGIN;
        };
    }

    /** The Lipschitz constant of the scalar function: {@code max(|slopeLower|, |slopeUpper|)}. */
    public double lipschitz() {
        return Math.max(Math.abs(slopeLower()), Math.abs(slopeUpper()));
    }

    /** Whether the function is piecewise linear (its Jacobians are constant on the regions of its inputs' signs). */
    public boolean piecewiseLinear() {
        return kind == Kind.RELU || kind == Kind.LEAKY_RELU;
    }

    /** phi(z). */
    public double value(double z) {
        return switch (kind) {
            case RELU -> Math.max(z, 0);
            case LEAKY_RELU -> z >= 0 ? z : parameter * z;
            case TANH -> Math.tanh(z);
            case SIGMOID -> sigmoid(z);
            case GELU -> 0.5 * z * (1 + Erf.value(z / Math.sqrt(2)));
            case SOFTPLUS -> softplus(z, parameter);
        };
    }

    /** phi'(z); at the kink of relu and leaky relu, the right derivative. */
    public double derivative(double z) {
        return switch (kind) {
            case RELU -> z > 0 ? 1 : 0;
            case LEAKY_RELU -> z > 0 ? 1 : parameter;
            case TANH -> {
                double t = Math.tanh(z);
                yield 1 - t * t;
            }
            case SIGMOID -> {
                double s = sigmoid(z);
                yield s * (1 - s);
            }
            case GELU -> 0.5 * (1 + Erf.value(z / Math.sqrt(2))) + z * Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
            case SOFTPLUS -> sigmoid(parameter * z);
        };
    }

    /** The same function on tensors or graph nodes. */
    public <T> T apply(Ops<T> ops, T x) {
        return switch (kind) {
            case RELU -> ops.relu(x);
            case LEAKY_RELU -> ops.leakyRelu(x, parameter);
            case TANH -> ops.tanh(x);
            case SIGMOID -> ops.sigmoid(x);
            case GELU -> ops.gelu(x, false);
            case SOFTPLUS -> ops.softplus(x, parameter);
        };
    }

    @Override
    public String toString() {
        String name = kind.name().toLowerCase(Locale.ROOT);
        return kind == Kind.LEAKY_RELU || kind == Kind.SOFTPLUS ? name + ":" + parameter : name;
    }

    private static double sigmoid(double z) {
        return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
    }

    private static double softplus(double z, double beta) {
        double t = beta * z;
        return (Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)))) / beta;
    }
}

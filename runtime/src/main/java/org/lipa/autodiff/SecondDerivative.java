package org.lipa.autodiff;

import org.lipa.ops.Eltwise.Kind;
import org.lipa.ops.Ops;

/**
 * {@code f''(x) * u} for each elementwise function, built from primitives so that it can itself be
 * differentiated. Null (a symbolic zero) for the piecewise-linear functions, whose second derivative is
 * zero almost everywhere: relu, leaky relu, abs, clip and linear. Hessian-vector products through them
 * are exact except on the measure-zero set of kinks.
 */
final class SecondDerivative {
    private SecondDerivative() {
    }

    static <T> T times(Ops<T> ops, Kind kind, double alpha, double beta, T x, T u) {
        if (u == null) {
            return null;
        }
        return switch (kind) {
            case RELU, ABS, CLIP, LINEAR -> null;
            case SQUARE -> ops.scale(u, 2);
            case EXP -> ops.mul(ops.exp(x), u);
            case LOG -> ops.neg(ops.div(u, ops.square(x)));
            case SQRT -> ops.scale(ops.div(u, ops.mul(x, ops.sqrt(x))), -0.25);
            // (1 - t^2) u is tanh'(x) u
            case TANH -> ops.scale(ops.mul(ops.tanh(x), Rules.grad(ops, Kind.TANH, 0, 0, x, u)), -2);
            // s (1 - s) (1 - 2 s) u
            case SIGMOID -> ops.mul(Rules.grad(ops, Kind.SIGMOID, 0, 0, x, u), ops.affine(ops.sigmoid(x), -2, 1));
            // alpha e^x where x <= 0, 0 where x > 0: elu'(x) u minus the part of u where x > 0
            case ELU -> ops.sub(Rules.grad(ops, Kind.ELU, alpha, 0, x, u), Rules.positive(ops, x, u));
            // beta sigmoid'(beta x)
            case SOFTPLUS -> ops.scale(Rules.grad(ops, Kind.SIGMOID, 0, 0, ops.scale(x, alpha), u), alpha);
            // beta sigmoid'(beta x) (2 + beta x (1 - 2 sigmoid(beta x)))
            case SWISH -> {
                T bx = ops.scale(x, alpha);
                T term = ops.affine(ops.mul(bx, ops.affine(ops.sigmoid(bx), -2, 1)), 1, 2);
                yield ops.scale(ops.mul(Rules.grad(ops, Kind.SIGMOID, 0, 0, bx, u), term), alpha);
            }
            // phi(x) (2 - x^2), phi the standard normal density
            case GELU_ERF -> {
                T x2 = ops.square(x);
                T phi = ops.scale(ops.exp(ops.scale(x2, -0.5)), 1 / Math.sqrt(2 * Math.PI));
                yield ops.mul(ops.mul(phi, ops.affine(x2, -1, 2)), u);
            }
            // with z = c (x + k x^3), t = tanh z: f'' = (1 - t^2) (z' + x/2 (z'' - 2 t z'^2))
            case GELU_TANH -> {
                double c = Math.sqrt(2 / Math.PI);
                double k = 0.044715;
                T x2 = ops.square(x);
                T t = ops.tanh(ops.add(ops.scale(ops.mul(x2, x), c * k), ops.scale(x, c)));
                T z1 = ops.affine(x2, 3 * c * k, c);
                T z2 = ops.scale(x, 6 * c * k);
                T bracket = ops.add(z1, ops.mul(ops.scale(x, 0.5), ops.sub(z2, ops.scale(ops.mul(t, ops.square(z1)), 2))));
                yield ops.mul(ops.mul(ops.affine(ops.square(t), -1, 1), bracket), u);
            }
        };
    }
}

package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.IntConsumer;

/**
 * BFGS with a weak Wolfe line search, for functions that are convex but not smooth everywhere (a largest
 * eigenvalue) and undefined outside a feasible set: Lewis and Overton ("Nonsmooth optimization via
 * quasi-Newton methods", Math. Programming 2013) show this combination keeps making progress at the
 * kinks where Newton-type steps would stall. An infeasible point counts as a failed Armijo test.
 *
 * <p>Thread safety: stateless static methods; the objective is called on the calling thread.
 */
final class Bfgs {
    /** Line-search trials per iteration at most: halving 20 times takes a step down to 1e-6 of the first. */
    private static final int TRIALS = 20;

    private Bfgs() {
    }

    /** A point with its value and gradient, and whatever else the objective computed there. */
    record Point<T>(double[] x, double value, double[] gradient, T payload) {
    }

    /** The function to minimize: its value and gradient at x, or null where it is not defined. */
    interface Objective<T> {
        Point<T> at(double[] x);
    }

    /**
     * @param best        the lowest point found
     * @param iterations  accepted steps
     */
    record Result<T>(Point<T> best, int iterations) {
    }

    /**
     * Minimizes from {@code start} until {@code maxIterations}, until {@code stop} says so (checked before each
     * iteration), until ten iterations lower the value by less than {@code tolerance}, or until no step along
     * the gradient lowers it.
     *
     * @param onIteration told each accepted iteration's number
     */
    static <T> Result<T> minimize(Objective<T> f, Point<T> start, int maxIterations, BooleanSupplier stop, double tolerance,
                                  IntConsumer onIteration) {
        Point<T> at = start;
        Point<T> best = start;
        int n = start.x().length;
        double[][] h = null; // inverse Hessian approximation, a scaled identity after the first step
        List<Double> history = new ArrayList<>(List.of(start.value()));
        int iterations = 0;
        while (iterations < maxIterations && !stop.getAsBoolean()) {
            double[] d = direction(h, at.gradient());
            if (d == null) {
                break; // a zero gradient
            }
            double slope = Vectors.dot(at.gradient(), d);
            if (!(slope < 0)) {
                if (h == null) {
                    break;
                }
                h = null; // lost descent: restart from the gradient
                continue;
            }
            Point<T> next = lineSearch(f, at, d, slope);
            if (next == null) {
                if (h == null) {
                    break; // not even a step along the gradient lowers the value: done
                }
                h = null;
                continue;
            }
            iterations++;
            double[] s = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                s[i] = next.x()[i] - at.x()[i];
                y[i] = next.gradient()[i] - at.gradient()[i];
            }
            double sy = Vectors.dot(s, y);
            if (sy > 1e-300) {
                if (h == null) {
                    h = new double[n][n];
                    double scale = sy / Vectors.dot(y, y);
                    for (int i = 0; i < n; i++) {
                        h[i][i] = scale;
                    }
                }
                update(h, s, y, sy);
            }
            at = next;
            if (at.value() < best.value()) {
                best = at;
            }
            history.add(at.value());
            onIteration.accept(iterations);
            int m = history.size();
            if (m > 10 && history.get(m - 11) - history.get(m - 1) < tolerance) {
                break;
            }
        }
        return new Result<>(best, iterations);
    }

    /** -H g, or a unit step against the gradient before H exists; null for a zero gradient. */
    private static double[] direction(double[][] h, double[] g) {
        int n = g.length;
        double[] d = new double[n];
        if (h == null) {
            double norm = Vectors.norm(g);
            if (norm == 0) {
                return null;
            }
            for (int i = 0; i < n; i++) {
                d[i] = -g[i] / norm;
            }
        } else {
            for (int i = 0; i < n; i++) {
                d[i] = -Vectors.dot(h[i], g);
            }
        }
        return d;
    }

    /**
     * A step satisfying Armijo's decrease (1e-4) and the weak Wolfe curvature condition (0.5), by doubling and
     * bisection; the last Armijo point when the bracket collapses first; null when none satisfied Armijo.
     */
    private static <T> Point<T> lineSearch(Objective<T> f, Point<T> at, double[] d, double slope) {
        double lo = 0;
        double hi = Double.POSITIVE_INFINITY;
        double step = 1;
        Point<T> accepted = null;
        for (int trial = 0; trial < TRIALS; trial++) {
            double[] x = at.x().clone();
            Vectors.axpy(x, step, d);
            Point<T> p = f.at(x);
            if (p == null || !(p.value() <= at.value() + 1e-4 * step * slope)) {
                hi = step;
            } else {
                accepted = p;
                if (Vectors.dot(p.gradient(), d) >= 0.5 * slope) {
                    return p;
                }
                lo = step;
            }
            step = Double.isInfinite(hi) ? 2 * lo : (lo + hi) / 2;
            if (hi - lo < 1e-16 * Math.max(1, lo)) {
                break;
            }
        }
        return accepted;
    }

    /** H <- (I - s y^T / sy) H (I - y s^T / sy) + s s^T / sy. */
    private static void update(double[][] h, double[] s, double[] y, double sy) {
        int n = s.length;
        double[] hy = new double[n];
        for (int i = 0; i < n; i++) {
            hy[i] = Vectors.dot(h[i], y);
        }
        double c = (sy + Vectors.dot(y, hy)) / (sy * sy);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                h[i][j] += c * s[i] * s[j] - (hy[i] * s[j] + s[i] * hy[j]) / sy;
            }
        }
    }
}

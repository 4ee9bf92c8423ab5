package org.lipa.models.analysis;

import java.util.List;

/**
 * Loss landscapes: the loss sampled along lines and planes of parameter space.
 *
 * <ul>
 *   <li>Linear interpolation (Goodfellow, Vinyals and Saxe, 2015): {@link #line} samples
 *       {@code theta(alpha) = (1 - alpha) theta0 + alpha theta1} from the initial to the trained weights,
 *       and {@link #project} places a recorded training trajectory in that picture.</li>
 *   <li>Random directions (Li et al., 2018): {@link #along} and {@link #surface} sample
 *       {@code theta + alpha d1 (+ beta d2)} for directions from {@link Directions} or {@link Trajectory#pca}.</li>
 * </ul>
 *
 * <pre>{@code
 * Landscape.Curve c = Landscape.line(eval, theta0, theta1, Landscape.grid(-0.5, 1.5, 41), Landscape.Progress.NONE);
 * Landscape.Projection path = Landscape.project(trajectory.points(), theta0, theta1);
 * }</pre>
 *
 * <p>Thread safety: stateless static functions; they are as safe as the {@link Evaluation} they are given.
 */
public final class Landscape {
    private Landscape() {
    }

    /** Progress of a long sampling: {@code done} of {@code total} points of {@code stage} are evaluated. */
    @FunctionalInterface
    public interface Progress {
        Progress NONE = (stage, done, total) -> {
        };

        void update(String stage, int done, int total);
    }

    /** The loss and accuracy (NaN when not a classifier) at each coordinate of a 1-D slice. */
    public record Curve(double[] alphas, double[] loss, double[] accuracy) {
    }

    /**
     * The loss and accuracy on a grid: {@code loss[i][j]} at {@code center + alphas[j] d1 + betas[i] d2} (rows
     * are beta, as {@code Charts.heatmap} draws them).
     */
    public record Surface(double[] alphas, double[] betas, double[][] loss, double[][] accuracy) {
    }

    /**
     * Where points lie relative to the line through {@code theta0} and {@code theta1}, with
     * {@code d = theta1 - theta0}: {@code alpha = <theta - theta0, d> / ||d||^2} (0 at theta0, 1 at theta1),
     * and {@code beta = ||theta - theta0 - alpha d|| / ||d||}, the distance from the line in units of the
     * line's length (0 on the line; always >= 0).
     */
    public record Projection(double[] alpha, double[] beta) {
    }

    /** {@code points} evenly spaced values from {@code from} to {@code to}, both included. */
    public static double[] grid(double from, double to, int points) {
        if (points < 2 || !(to > from)) {
            throw new IllegalArgumentException("grid needs points >= 2 and to > from, got " + points + " points on [" + from + ", " + to + "]");
        }
        double[] g = new double[points];
        for (int i = 0; i < points; i++) {
            g[i] = from + (to - from) * i / (points - 1);
        }
        g[points - 1] = to;
        return g;
    }

    /** The loss at {@code (1 - alpha) theta0 + alpha theta1} for each alpha. */
    public static Curve line(Evaluation eval, Weights theta0, Weights theta1, double[] alphas, Progress progress) {
        return along(eval, theta0, theta1.minus(theta0), alphas, progress);
    }

    /** The loss at {@code center + alpha d} for each alpha. */
    public static Curve along(Evaluation eval, Weights center, Weights d, double[] alphas, Progress progress) {
        double[] loss = new double[alphas.length];
        double[] acc = new double[alphas.length];
        for (int i = 0; i < alphas.length; i++) {
            Evaluation.Point p = eval.at(center.plus(alphas[i], d));
            loss[i] = p.loss();
            acc[i] = p.accuracy();
            progress.update("1-D", i + 1, alphas.length);
        }
        return new Curve(alphas.clone(), loss, acc);
    }

    /** The loss at {@code center + alpha d1 + beta d2} on the grid {@code alphas x betas}. */
    public static Surface surface(Evaluation eval, Weights center, Weights d1, Weights d2, double[] alphas, double[] betas,
            Progress progress) {
        double[][] loss = new double[betas.length][alphas.length];
        double[][] acc = new double[betas.length][alphas.length];
        int total = alphas.length * betas.length;
        for (int i = 0; i < betas.length; i++) {
            Weights row = center.plus(betas[i], d2);
            for (int j = 0; j < alphas.length; j++) {
                Evaluation.Point p = eval.at(row.plus(alphas[j], d1));
                loss[i][j] = p.loss();
                acc[i][j] = p.accuracy();
                progress.update("2-D", i * alphas.length + j + 1, total);
            }
        }
        return new Surface(alphas.clone(), betas.clone(), loss, acc);
    }

    /** The {@link Projection} of each point onto the line from {@code theta0} to {@code theta1}. */
    public static Projection project(List<Weights> points, Weights theta0, Weights theta1) {
        Weights d = theta1.minus(theta0);
        double dd = d.dot(d);
        if (dd == 0) {
            throw new IllegalArgumentException("theta0 and theta1 are the same point: no line to project on");
        }
        double[] alpha = new double[points.size()];
        double[] beta = new double[points.size()];
        for (int t = 0; t < points.size(); t++) {
            Weights r = points.get(t).minus(theta0);
            double a = r.dot(d) / dd;
            // ||r - a d||^2 = ||r||^2 - a^2 ||d||^2 loses digits near the line; the explicit residual does not
            double off = r.plus(-a, d).norm();
            alpha[t] = a;
            beta[t] = off / Math.sqrt(dd);
        }
        return new Projection(alpha, beta);
    }

    /**
     * The largest rise between neighbors, {@code max_k (v[k+1] - v[k])} (negative when {@code v} strictly
     * decreases): a curve is monotonically decreasing within {@code tol} when this is at most {@code tol}.
     */
    public static double largestRise(double[] v) {
        double rise = Double.NEGATIVE_INFINITY;
        for (int k = 0; k + 1 < v.length; k++) {
            rise = Math.max(rise, v[k + 1] - v[k]);
        }
        return rise;
    }

    /** The values of {@code c} at {@code from <= alpha <= to}, with their alphas. */
    public static Curve restrict(Curve c, double from, double to) {
        int n = 0;
        for (double a : c.alphas()) {
            if (a >= from && a <= to) {
                n++;
            }
        }
        double[] al = new double[n];
        double[] lo = new double[n];
        double[] ac = new double[n];
        int k = 0;
        for (int i = 0; i < c.alphas().length; i++) {
            if (c.alphas()[i] >= from && c.alphas()[i] <= to) {
                al[k] = c.alphas()[i];
                lo[k] = c.loss()[i];
                ac[k] = c.accuracy()[i];
                k++;
            }
        }
        return new Curve(al, lo, ac);
    }
}

package org.lipa.models.analysis;

import java.util.Random;

/**
 * Are two trained minima connected by a path of low loss?
 *
 * <ul>
 *   <li>Linear mode connectivity (Frankle et al., 2020): the loss along the straight line and its
 *       {@link #barrier}, the largest excess over the linear interpolation of the end losses.</li>
 *   <li>A quadratic Bezier curve {@code theta(t) = (1-t)^2 theta0 + 2t(1-t) thetaC + t^2 theta1} (Garipov et
 *       al., 2018) whose control point {@code thetaC} is trained to minimize {@code E_{t ~ U[0,1]} L(theta(t))}:
 *       the gradient with respect to {@code thetaC} at one sampled {@code t} is
 *       {@code 2t(1-t) grad L(theta(t))}. Started at the midpoint, so the curve starts as the line.</li>
 * </ul>
 *
 * <pre>{@code
 * Landscape.Curve line = Landscape.line(eval, a, b, Landscape.grid(0, 1, 21), Landscape.Progress.NONE);
 * double h = ModeConnectivity.barrier(line.alphas(), line.loss());
 * ModeConnectivity.Fit fit = ModeConnectivity.fitBezier(train, a, b, new ModeConnectivity.Settings(500, 1e-2, 0), Landscape.Progress.NONE);
 * Landscape.Curve curve = ModeConnectivity.bezier(eval, a, fit.control(), b, Landscape.grid(0, 1, 21), Landscape.Progress.NONE);
 * }</pre>
 *
 * <p>Thread safety: stateless static functions; they are as safe as the {@link Evaluation} they are given.
 */
public final class ModeConnectivity {
    private ModeConnectivity() {
    }

    /**
     * How the control point is trained: Adam (beta1 0.9, beta2 0.999, eps 1e-8) for {@code steps} steps at
     * learning rate {@code lr}, one training batch per step (in turn) and one {@code t} drawn from a
     * {@code Random(seed)} per step.
     */
    public record Settings(int steps, double lr, long seed) {
        public Settings {
            if (steps < 0 || !(lr > 0)) {
                throw new IllegalArgumentException("settings: steps must be >= 0 and lr > 0, got " + steps + ", " + lr);
            }
        }
    }

    /** The trained control point and the sampled loss at each step (before that step's update). */
    public record Fit(Weights control, double[] losses) {
    }

    /**
     * The barrier of a path sampled at {@code ts} (increasing, from 0 to 1 inclusive):
     * {@code max_t [L(t) - ((1 - t) L(0) + t L(1))]}; 0 when no point rises above the chord (the end points
     * themselves give 0).
     */
    public static double barrier(double[] ts, double[] losses) {
        if (ts.length != losses.length || ts.length < 2 || ts[0] != 0 || ts[ts.length - 1] != 1) {
            throw new IllegalArgumentException("ts: need matching lengths and a grid from 0 to 1, got " + ts.length + " ts on ["
                    + (ts.length > 0 ? ts[0] : Double.NaN) + ", " + (ts.length > 0 ? ts[ts.length - 1] : Double.NaN) + "] and "
                    + losses.length + " losses");
        }
        double l0 = losses[0];
        double l1 = losses[losses.length - 1];
        double h = 0;
        for (int i = 0; i < ts.length; i++) {
            h = Math.max(h, losses[i] - ((1 - ts[i]) * l0 + ts[i] * l1));
        }
        return h;
    }

    /** The curve's point at {@code t}. */
    public static Weights bezierPoint(Weights theta0, Weights control, Weights theta1, double t) {
        double a = (1 - t) * (1 - t);
        double c = 2 * t * (1 - t);
        double b = t * t;
        double[] p = new double[theta0.size()];
        double[] x = theta0.values();
        double[] y = control.values();
        double[] z = theta1.values();
        if (y.length != p.length || z.length != p.length) {
            throw new IllegalArgumentException("control and theta1 must have theta0's " + p.length + " values");
        }
        for (int i = 0; i < p.length; i++) {
            p[i] = a * x[i] + c * y[i] + b * z[i];
        }
        return new Weights(theta0.specs(), p);
    }

    /** The midpoint {@code (theta0 + theta1) / 2}: the control point that makes the curve the straight line. */
    public static Weights midpoint(Weights theta0, Weights theta1) {
        return theta0.plus(1, theta1).times(0.5);
    }

    /** The loss along the Bezier curve at each {@code t}. */
    public static Landscape.Curve bezier(Evaluation eval, Weights theta0, Weights control, Weights theta1, double[] ts,
            Landscape.Progress progress) {
        double[] loss = new double[ts.length];
        double[] acc = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            Evaluation.Point p = eval.at(bezierPoint(theta0, control, theta1, ts[i]));
            loss[i] = p.loss();
            acc[i] = p.accuracy();
            progress.update("bezier", i + 1, ts.length);
        }
        return new Landscape.Curve(ts.clone(), loss, acc);
    }

    /**
     * Trains the control point from the midpoint by Adam on {@code train}'s batches (see {@link Settings});
     * the end points stay fixed.
     */
    public static Fit fitBezier(Evaluation train, Weights theta0, Weights theta1, Settings s, Landscape.Progress progress) {
        Weights c = midpoint(theta0, theta1);
        double[] w = c.values();
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        double[] losses = new double[s.steps()];
        Random rnd = new Random(s.seed());
        double b1 = 0.9;
        double b2 = 0.999;
        for (int step = 0; step < s.steps(); step++) {
            double t = rnd.nextDouble();
            int batch = step % train.batchCount();
            Weights at = bezierPoint(theta0, c, theta1, t);
            Evaluation.Gradient lg = train.gradient(at, batch);
            losses[step] = lg.loss();
            double[] g = lg.gradient().values();
            double scale = 2 * t * (1 - t);
            double c1 = 1 - Math.pow(b1, step + 1);
            double c2 = 1 - Math.pow(b2, step + 1);
            for (int i = 0; i < w.length; i++) {
                double gi = scale * g[i];
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                w[i] -= s.lr() * (m[i] / c1) / (Math.sqrt(v[i] / c2) + 1e-8);
            }
            progress.update("bezier fit", step + 1, s.steps());
        }
        return new Fit(c, losses);
    }
}

package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Barriers of known functions, the Bezier curve's geometry, and a trained curve between two permuted minima. */
class ModeConnectivityTest {
    @Test
    void barrierOfAKnownFunctionIsItsLargestExcessOverTheChord() {
        double[] ts = Landscape.grid(0, 1, 21);
        double[] bump = new double[ts.length];
        double[] bowl = new double[ts.length];
        for (int i = 0; i < ts.length; i++) {
            // the chord from L(0) = 2 to L(1) = 1 is 2 - t; the excess is 0.7 sin(pi t), largest at t = 0.5
            bump[i] = 2 - ts[i] + 0.7 * Math.sin(Math.PI * ts[i]);
            bowl[i] = 2 - ts[i] - 0.3 * ts[i] * (1 - ts[i]);
        }
        assertEquals(0.7, ModeConnectivity.barrier(ts, bump), 1e-12);
        assertEquals(0, ModeConnectivity.barrier(ts, bowl), "a path below its chord has no barrier");
        assertThrows(IllegalArgumentException.class, () -> ModeConnectivity.barrier(Landscape.grid(-0.5, 1, 5), new double[5]));
    }

    @Test
    void bezierCurveHitsItsEndsAndIsTheLineWhenTheControlIsTheMidpoint() {
        Random r = new Random(2);
        var specs = java.util.List.of(new org.lipa.tensor.TensorSpec(org.lipa.tensor.Shape.of(5), org.lipa.tensor.DType.F64));
        Weights a = Directions.gaussian(specs, r);
        Weights b = Directions.gaussian(specs, r);
        Weights c = Directions.gaussian(specs, r);
        for (double t : new double[] {0, 0.25, 0.6, 1}) {
            double[] p = ModeConnectivity.bezierPoint(a, c, b, t).values();
            double[] line = ModeConnectivity.bezierPoint(a, ModeConnectivity.midpoint(a, b), b, t).values();
            for (int i = 0; i < 5; i++) {
                double ref = (1 - t) * (1 - t) * a.values()[i] + 2 * t * (1 - t) * c.values()[i] + t * t * b.values()[i];
                assertEquals(ref, p[i], 1e-15);
                assertEquals((1 - t) * a.values()[i] + t * b.values()[i], line[i], 1e-15);
            }
        }
    }

    /** Full-batch Adam on the flat weights, from the net's own parameters. */
    private static Weights train(Evaluation eval, Weights start, int steps, double lr) {
        double[] w = start.values().clone();
        double[] m = new double[w.length];
        double[] v = new double[w.length];
        for (int s = 1; s <= steps; s++) {
            double[] g = eval.gradient(new Weights(start.specs(), w)).gradient().values();
            for (int i = 0; i < w.length; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                w[i] -= lr * (m[i] / (1 - Math.pow(0.9, s))) / (Math.sqrt(v[i] / (1 - Math.pow(0.999, s))) + 1e-8);
            }
        }
        return new Weights(start.specs(), w);
    }

    /** The same network with its hidden units in another order (rows of w1 and b1, columns of w2): the same function. */
    private static Weights permuteHidden(Weights w, int in, int hidden, int[] perm) {
        double[] src = w.values();
        double[] p = src.clone();
        for (int h = 0; h < hidden; h++) {
            int from = perm[h];
            System.arraycopy(src, from * in, p, h * in, in);
            p[hidden * in + h] = src[hidden * in + from];
            p[hidden * in + hidden + h] = src[hidden * in + hidden + from];
        }
        return new Weights(w.specs(), p);
    }

    @Test
    void aTrainedBezierCurveBetweenTwoMinimaHasALowerBarrierThanTheLine() {
        try (Arena a = Arena.ofConfined()) {
            int in = 2;
            int hidden = 4;
            Random r = new Random(21);
            TinyNet teacher = new TinyNet(a, new Random(99), in, 3);
            var tp = java.util.List.copyOf(teacher.parameters().values());
            double[] tw = Weights.of(tp.stream().map(org.lipa.tensor.Tensor::spec).toList(), tp).values();
            TinyNet.Data data = TinyNet.data(a, r, in, 2, 16, x -> net(tw, 3, x));
            TinyNet first = new TinyNet(a, new Random(31), in, hidden);
            TinyNet second = new TinyNet(a, new Random(32), in, hidden);
            Evaluation eval = first.evaluation(data);
            Weights thetaA = train(eval, eval.current(), 600, 0.03);
            // a minimum from another seed, its hidden units reversed: a different point of an equivalent basin
            Weights thetaB = permuteHidden(train(eval, Weights.of(eval.specs(), java.util.List.copyOf(second.parameters().values())), 600, 0.03),
                    in, hidden, new int[] {3, 2, 1, 0});
            double[] ts = Landscape.grid(0, 1, 21);
            Landscape.Curve line = Landscape.line(eval, thetaA, thetaB, ts, Landscape.Progress.NONE);
            double lineBarrier = ModeConnectivity.barrier(ts, line.loss());
            ModeConnectivity.Fit fit = ModeConnectivity.fitBezier(eval, thetaA, thetaB, new ModeConnectivity.Settings(400, 0.02, 5),
                    Landscape.Progress.NONE);
            Landscape.Curve curve = ModeConnectivity.bezier(eval, thetaA, fit.control(), thetaB, ts, Landscape.Progress.NONE);
            double curveBarrier = ModeConnectivity.barrier(ts, curve.loss());
            assertEquals(line.loss()[0], curve.loss()[0], 1e-12, "the curve starts at theta0");
            assertEquals(line.loss()[20], curve.loss()[20], 1e-12, "and ends at theta1");
            double ends = Math.max(line.loss()[0], line.loss()[20]);
            assertTrue(lineBarrier > 2 * ends, "the line crosses a real barrier: " + lineBarrier + " over ends " + ends);
            assertTrue(curveBarrier < 0.5 * lineBarrier, "the trained curve's barrier " + curveBarrier + " is well below the line's "
                    + lineBarrier);
            double[] reference = new double[ts.length];
            for (int i = 0; i < ts.length; i++) {
                reference[i] = first.loss(ModeConnectivity.bezierPoint(thetaA, fit.control(), thetaB, ts[i]).values(), data.xs(), data.ys());
                assertEquals(reference[i], curve.loss()[i], 1e-12 * (1 + reference[i]), "curve loss at t = " + ts[i]);
            }
        }
    }

    /** The teacher's output at x, in plain Java. */
    private static double net(double[] w, int hidden, double[] x) {
        int in = x.length;
        double out = w[hidden * in + 2 * hidden];
        for (int h = 0; h < hidden; h++) {
            double pre = w[hidden * in + h];
            for (int i = 0; i < in; i++) {
                pre += w[h * in + i] * x[i];
            }
            out += w[hidden * in + hidden + h] * Math.tanh(pre);
        }
        return out;
    }
}

package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.models.train.TrainingRun;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.TensorSpec;

/** Interpolation, surfaces, projections, filter normalization and PCA against plain-Java double computations. */
class LandscapeTest {
    private static double teacher(double[] x) {
        return Math.sin(x[0]) - 0.5 * x[1] * x[0];
    }

    private static double[] gaussian(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    @Test
    void interpolationCurveAndSurfaceEqualThePlainJavaLossAtEveryGridPoint() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(3);
            TinyNet net = new TinyNet(a, r, 2, 3);
            TinyNet.Data data = TinyNet.data(a, r, 2, 3, 5, LandscapeTest::teacher);
            Evaluation eval = net.evaluation(data);
            Weights theta0 = eval.current();
            double[] t1 = theta0.values().clone();
            for (int i = 0; i < t1.length; i++) {
                t1[i] += 0.8 * r.nextGaussian();
            }
            Weights theta1 = new Weights(theta0.specs(), t1);
            double[] alphas = Landscape.grid(-0.5, 1.5, 9);
            List<Integer> seen = new ArrayList<>();
            Landscape.Curve c = Landscape.line(eval, theta0, theta1, alphas, (stage, done, total) -> seen.add(done));
            assertEquals(9, seen.size(), "one progress call per point");
            assertEquals(-0.5, alphas[0]);
            assertEquals(1.5, alphas[8]);
            for (int k = 0; k < alphas.length; k++) {
                double[] w = new double[t1.length];
                for (int i = 0; i < w.length; i++) {
                    w[i] = (1 - alphas[k]) * theta0.values()[i] + alphas[k] * t1[i];
                }
                double ref = net.loss(w, data.xs(), data.ys());
                assertEquals(ref, c.loss()[k], 1e-12 * (1 + ref), "loss at alpha " + alphas[k]);
                assertTrue(Double.isNaN(c.accuracy()[k]), "a regression has no accuracy");
            }
            double[] d1 = gaussian(r, t1.length);
            double[] d2 = gaussian(r, t1.length);
            double[] as = Landscape.grid(-1, 1, 4);
            double[] bs = Landscape.grid(-0.5, 0.5, 3);
            Landscape.Surface s = Landscape.surface(eval, theta0, new Weights(theta0.specs(), d1), new Weights(theta0.specs(), d2), as, bs,
                    Landscape.Progress.NONE);
            assertEquals(3, s.loss().length);
            for (int i = 0; i < bs.length; i++) {
                assertEquals(4, s.loss()[i].length);
                for (int j = 0; j < as.length; j++) {
                    double[] w = new double[t1.length];
                    for (int k = 0; k < w.length; k++) {
                        w[k] = theta0.values()[k] + as[j] * d1[k] + bs[i] * d2[k];
                    }
                    double ref = net.loss(w, data.xs(), data.ys());
                    assertEquals(ref, s.loss()[i][j], 1e-12 * (1 + ref), "loss at (" + as[j] + ", " + bs[i] + ")");
                }
            }
        }
    }

    @Test
    void gradientMatchesCentralDifferencesOfThePlainJavaLoss() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(5);
            TinyNet net = new TinyNet(a, r, 2, 3);
            TinyNet.Data data = TinyNet.data(a, r, 2, 2, 4, LandscapeTest::teacher);
            Evaluation eval = net.evaluation(data);
            Weights w = eval.current();
            Evaluation.Gradient g = eval.gradient(w);
            assertEquals(net.loss(w.values(), data.xs(), data.ys()), g.loss(), 1e-12);
            for (int i = 0; i < w.size(); i++) {
                double[] p = w.values().clone();
                double[] m = w.values().clone();
                p[i] += 1e-6;
                m[i] -= 1e-6;
                double fd = (net.loss(p, data.xs(), data.ys()) - net.loss(m, data.xs(), data.ys())) / 2e-6;
                assertEquals(fd, g.gradient().values()[i], 1e-7, "d loss / d w[" + i + "]");
            }
        }
    }

    @Test
    void projectionOfHandMadePointsGivesTheirAlphaAndBeta() {
        Random r = new Random(7);
        List<TensorSpec> specs = List.of(new TensorSpec(Shape.of(3, 2), DType.F64), new TensorSpec(Shape.of(3), DType.F64));
        Weights theta0 = new Weights(specs, gaussian(r, 9));
        Weights d = new Weights(specs, gaussian(r, 9));
        Weights theta1 = theta0.plus(1, d);
        double[][] ab = {{0, 0}, {1, 0}, {0.3, 0.7}, {-0.4, -1.2}, {1.6, 2.5}, {0.5, 1e-9}};
        List<Weights> points = new ArrayList<>();
        List<Double> expectedBeta = new ArrayList<>();
        for (double[] p : ab) {
            // a fresh direction orthogonal to d (Gram-Schmidt) for each point
            Weights e = new Weights(specs, gaussian(r, 9));
            e = e.plus(-e.dot(d) / d.dot(d), d);
            points.add(theta0.plus(p[0], d).plus(p[1], e));
            expectedBeta.add(Math.abs(p[1]) * e.norm() / d.norm());
        }
        Landscape.Projection proj = Landscape.project(points, theta0, theta1);
        for (int t = 0; t < ab.length; t++) {
            assertEquals(ab[t][0], proj.alpha()[t], 1e-12, "alpha of point " + t);
            assertEquals(expectedBeta.get(t), proj.beta()[t], 1e-12, "beta of point " + t);
        }
        assertThrows(IllegalArgumentException.class, () -> Landscape.project(points, theta0, theta0));
    }

    private static final List<TensorSpec> LAYERS = List.of(
            new TensorSpec(Shape.of(4, 3), DType.F32),          // linear weight: 4 filters of 3
            new TensorSpec(Shape.of(4), DType.F32),             // its bias
            new TensorSpec(Shape.of(2, 3, 2, 2), DType.F32),    // conv weight: 2 output channels of 12
            new TensorSpec(Shape.of(2), DType.F32));            // a norm's scale

    @Test
    void filterNormalizationGivesEachFilterItsWeightsNormAndFollowsTheBiasPolicy() {
        Random r = new Random(11);
        Weights w = new Weights(LAYERS, gaussian(r, 12 + 4 + 24 + 2));
        w.values()[5] = 0;                                     // a zero weight filter gives a zero direction filter
        w.values()[6] = 0;
        w.values()[7] = 0;
        Weights raw = Directions.gaussian(LAYERS, new Random(42));
        for (Directions.BiasPolicy policy : Directions.BiasPolicy.values()) {
            Weights d = Directions.filterNormalized(w, policy, new Random(42));
            double[] dv = d.values();
            double[] wv = w.values();
            int[][] filters = {{0, 3}, {3, 3}, {6, 3}, {9, 3}, {16, 12}, {28, 12}};
            for (int[] f : filters) {
                double dn = 0;
                double wn = 0;
                double dot = 0;
                double rn = 0;
                for (int i = f[0]; i < f[0] + f[1]; i++) {
                    dn += dv[i] * dv[i];
                    wn += wv[i] * wv[i];
                    dot += dv[i] * raw.values()[i];
                    rn += raw.values()[i] * raw.values()[i];
                }
                assertEquals(Math.sqrt(wn), Math.sqrt(dn), 1e-12, policy + ": norm of the filter at " + f[0]);
                if (wn > 0) {
                    assertEquals(Math.sqrt(dn * rn), dot, 1e-9, policy + ": the filter keeps the Gaussian's direction");
                }
            }
            int[] biases = {12, 13, 14, 15, 40, 41};
            switch (policy) {
                case IGNORE -> {
                    for (int i : biases) {
                        assertEquals(0, dv[i], policy + ": rank-1 parameters are left alone");
                    }
                }
                case FILTER -> {
                    for (int i : biases) {
                        assertEquals(Math.abs(wv[i]), Math.abs(dv[i]), 1e-15);
                        assertEquals(Math.signum(raw.values()[i]), Math.signum(dv[i]));
                    }
                }
                case WHOLE -> {
                    for (int[] f : new int[][] {{12, 4}, {40, 2}}) {
                        double dn = 0;
                        double wn = 0;
                        for (int i = f[0]; i < f[0] + f[1]; i++) {
                            dn += dv[i] * dv[i];
                            wn += wv[i] * wv[i];
                        }
                        assertEquals(Math.sqrt(wn), Math.sqrt(dn), 1e-12);
                    }
                }
            }
            assertArrayEquals(dv, Directions.filterNormalized(w, policy, new Random(42)).values(), 0, "the same seed, the same direction");
            assertNotEquals(Arrays.toString(dv), Arrays.toString(Directions.filterNormalized(w, policy, new Random(43)).values()));
        }
    }

    /** A synthetic path: a dominant direction u with scale 1..0, a weaker v, and small noise; the last point is the center. */
    private static List<Weights> path(Random r, List<TensorSpec> specs, int n, int t, double[] u, double[] v) {
        Weights center = new Weights(specs, gaussian(r, n));
        List<Weights> pts = new ArrayList<>();
        for (int k = 0; k < t; k++) {
            double s = 1 - (double) k / (t - 1);
            double[] p = center.values().clone();
            for (int i = 0; i < n; i++) {
                p[i] += 3 * s * u[i] + 0.8 * Math.sin(4 * s) * v[i] + 0.05 * r.nextGaussian();
            }
            pts.add(new Weights(specs, p));
        }
        pts.add(center);
        return pts;
    }

    @Test
    void pcaMatchesAPlainJavaCovarianceEigendecomposition() {
        Random r = new Random(13);
        int n = 7;
        int t = 9;
        List<TensorSpec> specs = List.of(new TensorSpec(Shape.of(7), DType.F64));
        double[] u = gaussian(r, n);
        double[] v = gaussian(r, n);
        List<Weights> pts = path(r, specs, n, t, unit(u), unit(v));
        Weights center = pts.get(t);
        Trajectory.Pca pca = Trajectory.pca(pts.subList(0, t), center);
        // reference: the n x n covariance of the centered rows, diagonalized by cyclic Jacobi rotations
        double[][] rows = new double[t][n];
        double[] mean = new double[n];
        for (int k = 0; k < t; k++) {
            for (int i = 0; i < n; i++) {
                rows[k][i] = pts.get(k).values()[i] - center.values()[i];
                mean[i] += rows[k][i] / t;
            }
        }
        double[][] cov = new double[n][n];
        for (int k = 0; k < t; k++) {
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    cov[i][j] += (rows[k][i] - mean[i]) * (rows[k][j] - mean[j]);
                }
            }
        }
        double trace = 0;
        for (int i = 0; i < n; i++) {
            trace += cov[i][i];
        }
        double[][] vecs = new double[n][n];
        double[] vals = jacobi(cov, vecs);
        Integer[] order = {0, 1, 2, 3, 4, 5, 6};
        Arrays.sort(order, (x, y) -> Double.compare(vals[y], vals[x]));
        Weights[] dirs = {pca.first(), pca.second()};
        double[][] coords = {pca.x(), pca.y()};
        double sum = 0;
        for (int c = 0; c < 2; c++) {
            double[] e = new double[n];
            for (int i = 0; i < n; i++) {
                e[i] = vecs[i][order[c]];
            }
            assertEquals(vals[order[c]] / trace, pca.explained()[c], 1e-10, "explained variance ratio " + c);
            double cos = 0;
            for (int i = 0; i < n; i++) {
                cos += e[i] * dirs[c].values()[i];
            }
            assertEquals(1, Math.abs(cos), 1e-9, "direction " + c + " is the covariance's eigenvector " + c);
            assertEquals(1, dirs[c].norm(), 1e-12);
            for (int k = 0; k < t; k++) {
                double ref = 0;
                for (int i = 0; i < n; i++) {
                    ref += rows[k][i] * e[i];
                }
                assertEquals(Math.signum(cos) * ref, coords[c][k], 1e-9, "coordinate " + c + " of point " + k);
            }
            sum += pca.explained()[c];
        }
        assertTrue(sum <= 1 + 1e-12, "explained variance ratios sum to at most 1: " + sum);
        assertTrue(pca.explained()[0] > 0.8, "the dominant direction explains most of the path: " + pca.explained()[0]);
        assertEquals(1, Math.abs(pca.first().dot(new Weights(specs, unit(u)))), 0.05, "and it is u");
        assertTrue(pca.x()[0] <= 0, "sign convention: the first point has coordinate <= 0");
        assertEquals(0, pca.first().dot(pca.second()), 1e-10, "orthogonal directions");
    }

    @Test
    void trajectoryRecordsEveryNthStepAndItsPcaPutsTheLastPointAtTheOrigin() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(17);
            TinyNet net = new TinyNet(a, r, 2, 3);
            Trajectory path = new Trajectory(net);
            path.record();
            int[] forwarded = {0};
            TrainingRun.Listener l = path.listener(2, new TrainingRun.Listener() {
                @Override
                public void step(int epoch, int batch, int batches, double loss) {
                    forwarded[0]++;
                }
            });
            List<double[]> expected = new ArrayList<>();
            expected.add(Weights.of(path.points().get(0).specs(), List.copyOf(net.parameters().values())).values());
            for (int s = 1; s <= 7; s++) {
                var w1 = net.parameters().get("w1");
                double[] w = w1.toDoubleArray();
                for (int i = 0; i < w.length; i++) {
                    w[i] += (i == s % w.length ? 1.0 : 0.1) * s;
                }
                w1.copyFrom(w);
                l.step(0, s - 1, 7, 0);
                if (s % 2 == 0) {
                    expected.add(Weights.of(path.points().get(0).specs(), List.copyOf(net.parameters().values())).values());
                }
            }
            path.record();
            expected.add(Weights.of(path.points().get(0).specs(), List.copyOf(net.parameters().values())).values());
            assertEquals(7, forwarded[0]);
            assertEquals(5, path.points().size(), "initial, steps 2, 4, 6, final");
            for (int k = 0; k < 5; k++) {
                assertArrayEquals(expected.get(k), path.points().get(k).values(), 0);
            }
            Trajectory.Pca pca = path.pca();
            assertEquals(5, pca.x().length);
            assertEquals(0, pca.x()[4], 1e-12);
            assertEquals(0, pca.y()[4], 1e-12);
        }
    }

    private static double[] unit(double[] v) {
        double n = 0;
        for (double x : v) {
            n += x * x;
        }
        double[] u = v.clone();
        for (int i = 0; i < u.length; i++) {
            u[i] /= Math.sqrt(n);
        }
        return u;
    }

    /** Eigenvalues of symmetric {@code a} (destroyed) by cyclic Jacobi; eigenvectors into the columns of {@code v}. */
    private static double[] jacobi(double[][] a, double[][] v) {
        int n = a.length;
        for (int i = 0; i < n; i++) {
            v[i][i] = 1;
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                }
            }
            if (off < 1e-30) {
                break;
            }
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    if (a[p][q] == 0) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta == 0 ? 1 : theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k][p];
                        double vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
            }
        }
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = a[i][i];
        }
        return d;
    }
}

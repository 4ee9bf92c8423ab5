package org.lipa.models.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.lipa.analysis.Dense;
import org.lipa.models.nn.Module;
import org.lipa.models.train.TrainingRun;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The weights a training run passes through, copied every few steps, and their principal directions
 * (Li et al., 2018, section 7): random directions in millions of dimensions are nearly orthogonal to
 * the path optimization takes, so the path is plotted in the plane that captures most of its variation.
 *
 * <pre>{@code
 * Trajectory path = new Trajectory(mlp);
 * path.record();                                                  // the initial weights
 * run.fit(epochs, seed, null, 0, path.listener(20, TrainingRun.Listener.NONE));
 * path.record();                                                  // the final weights
 * Trajectory.Pca pca = path.pca();
 * }</pre>
 *
 * <p>Thread safety: not thread-safe: {@link #record} appends to a list, call it from the training thread; read the points once training is done.
 */
public final class Trajectory {
    private final Module module;
    private final List<TensorSpec> specs;
    private final List<Weights> points = new ArrayList<>();

    /** Records {@code module}'s parameters, in {@link Module#parameters()} order (that of {@link ParameterLoss}). */
    public Trajectory(Module module) {
        this.module = module;
        this.specs = module.parameters().values().stream().map(Tensor::spec).toList();
    }

    /** Copies the parameters now. */
    public Weights record() {
        Map<String, Tensor> p = module.parameters();
        Weights w = Weights.of(specs, List.copyOf(p.values()));
        points.add(w);
        return w;
    }

    /** A listener that records after every {@code every}-th step of the run, then calls {@code then}. */
    public TrainingRun.Listener listener(int every, TrainingRun.Listener then) {
        if (every <= 0) {
            throw new IllegalArgumentException("every must be > 0, got " + every);
        }
        return new TrainingRun.Listener() {
            private long steps;

            @Override
            public void step(int epoch, int batch, int batches, double loss) {
                if (++steps % every == 0) {
                    record();
                }
                then.step(epoch, batch, batches, loss);
            }

            @Override
            public void epoch(TrainingRun.Epoch e) {
                then.epoch(e);
            }
        };
    }

    /** The recorded points, oldest first. */
    public List<Weights> points() {
        return List.copyOf(points);
    }

    /**
     * Principal directions of a path around {@code center}.
     *
     * @param first     unit direction of largest variance
     * @param second    unit direction of second largest variance, orthogonal to {@code first}
     * @param explained the fraction of the total variance along {@code first} and {@code second}
     * @param x         each point's coordinate {@code <theta_t - center, first>}
     * @param y         each point's coordinate {@code <theta_t - center, second>}
     */
    public record Pca(Weights center, Weights first, Weights second, double[] explained, double[] x, double[] y) {
    }

    /** The {@link #pca(List, Weights)} of the recorded points about the last one (the trained weights). */
    public Pca pca() {
        if (points.size() < 3) {
            throw new IllegalArgumentException("a PCA of the path needs at least 3 recorded points, got " + points.size());
        }
        Weights last = points.get(points.size() - 1);
        Pca p = pca(points.subList(0, points.size() - 1), last);
        double[] x = java.util.Arrays.copyOf(p.x(), points.size());
        double[] y = java.util.Arrays.copyOf(p.y(), points.size());
        return new Pca(p.center(), p.first(), p.second(), p.explained(), x, y);
    }

    /**
     * Principal component analysis of the rows {@code r_t = points[t] - center}, as scikit-learn's PCA (which
     * Li et al. use) does it: the rows are centered on their mean {@code m}, the directions are the top two
     * eigenvectors of the covariance {@code sum_t (r_t - m)(r_t - m)^T}, and the explained-variance ratios
     * are their eigenvalues over the covariance's trace (so they sum to at most 1). The eigenvectors come
     * from the small {@code T x T} Gram matrix {@code G = R_c R_c^T}: if {@code G u = lambda u} then
     * {@code R_c^T u / sqrt(lambda)} is a unit eigenvector of the covariance with the same eigenvalue. The
     * path coordinates are projections of the uncentered rows, so {@code center} sits at (0, 0). Signs: each
     * direction is turned so that the first point's coordinate is at most 0.
     */
    public static Pca pca(List<Weights> points, Weights center) {
        int t = points.size();
        if (t < 2) {
            throw new IllegalArgumentException("points: a PCA needs at least 2, got " + t);
        }
        int n = center.size();
        double[][] rows = new double[t][];
        double[] mean = new double[n];
        for (int i = 0; i < t; i++) {
            rows[i] = points.get(i).minus(center).values();
            for (int k = 0; k < n; k++) {
                mean[k] += rows[i][k] / t;
            }
        }
        // centered in place (one T x n copy of the path is all the memory this takes)
        double[][] centered = rows;
        for (int i = 0; i < t; i++) {
            for (int k = 0; k < n; k++) {
                centered[i][k] -= mean[k];
            }
        }
        double[] gram = new double[t * t];
        double trace = 0;
        for (int i = 0; i < t; i++) {
            for (int j = 0; j <= i; j++) {
                double s = dot(centered[i], centered[j]);
                gram[i * t + j] = s;
                gram[j * t + i] = s;
            }
            trace += gram[i * t + i];
        }
        if (trace == 0) {
            throw new IllegalArgumentException("points: all equal, the path has no variance");
        }
        // the Gram matrix is symmetric positive semidefinite: its singular values are its eigenvalues and
        // its right singular vectors its eigenvectors
        Dense.Svd svd = Dense.svd(gram, t, t);
        double[] lambda = svd.values();
        Weights[] dirs = new Weights[2];
        double[] explained = new double[2];
        for (int c = 0; c < 2; c++) {
            double[] v = new double[n];
            if (c < lambda.length && lambda[c] > 1e-13 * trace) {
                double[] u = svd.right()[c];
                for (int i = 0; i < t; i++) {
                    for (int k = 0; k < n; k++) {
                        v[k] += u[i] * centered[i][k];
                    }
                }
                double norm = Math.sqrt(dot(v, v));
                for (int k = 0; k < n; k++) {
                    v[k] /= norm;
                }
                explained[c] = lambda[c] / trace;
            }
            if (dot(centered[0], v) + dot(mean, v) > 0) {
                for (int k = 0; k < n; k++) {
                    v[k] = -v[k];
                }
            }
            dirs[c] = new Weights(center.specs(), v);
        }
        double[] x = new double[t];
        double[] y = new double[t];
        double mx = dot(mean, dirs[0].values());
        double my = dot(mean, dirs[1].values());
        for (int i = 0; i < t; i++) {
            x[i] = dot(centered[i], dirs[0].values()) + mx;
            y[i] = dot(centered[i], dirs[1].values()) + my;
        }
        return new Pca(center, dirs[0], dirs[1], explained, x, y);
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}

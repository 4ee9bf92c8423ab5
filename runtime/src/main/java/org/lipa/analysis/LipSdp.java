package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.CommonOps_MT_DDRM;
import org.ejml.dense.row.decomposition.TriangularSolver_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;

/**
 * LipSDP (Fazlyab, Robey, Hassani, Morari and Pappas, NeurIPS 2019) without an SDP solver: a certified
 * upper bound on the l2 Lipschitz constant of a feed-forward network whose activation is slope-restricted
 * in {@code [alpha, beta]}.
 *
 * <p>For nonnegative multipliers {@code T = diag(t)} on the hidden neurons, every input pair satisfies
 * {@code ||f(x) - f(y)||^2 <= rho ||x - y||^2} as soon as the block-tridiagonal matrix {@code G(rho, T)}
 * (variables: the input and each hidden layer) is positive semidefinite, where
 * <pre>
 *   D_0 = rho I + 2 alpha beta W_0^T T_1 W_0
 *   D_k = 2 T_k + 2 alpha beta W_k^T T_{k+1} W_k           (hidden layers 1 .. L-2)
 *   D_{L-1} = 2 T_{L-1} - W_{L-1}^T W_{L-1}                (the last hidden layer; W_{L-1} is the output layer)
 *   C_k = -(alpha + beta) W_{k-1}^T T_k                     (coupling layer k - 1 to layer k)
 * </pre>
 * (each neuron's incremental quadratic constraint {@code (b - alpha a)(beta a - b) >= 0} on its
 * pre-activation difference a and activation difference b, weighted by {@code 2 t}). LipSDP-Neuron has
 * one multiplier per neuron, LipSDP-Layer one per layer. (The original paper's coupled "LipSDP-Network"
 * multipliers are not used: they were later shown invalid for repeated nonlinearities.)
 *
 * <p>How it is solved: for fixed T, eliminating the hidden blocks from the output backwards (Schur
 * complements {@code S_k}, each factored by Cholesky) leaves the smallest feasible
 * {@code rho*(T) = lambda_max(Z(T))} of an input-sized matrix Z. That is a convex function of T; its
 * gradient comes from the null vector z of {@code G(rho*, T)} ({@code z_0} the top eigenvector of Z,
 * {@code z_k = -S_k^{-1} C_k^T z_{k-1}}): {@code d rho* / d t_ki = -2 (z_ki - alpha a_i)(z_ki - beta a_i)}
 * with {@code a = W_{k-1} z_{k-1}}. BFGS with a weak Wolfe line search (which copes with the nonsmooth
 * maximum eigenvalue, Lewis and Overton 2013) minimizes {@code log rho*} over {@code log t}: LipSDP-Layer
 * from ECLipsE-Fast's closed-form layer multipliers (Xu and Sivaranjani, NeurIPS 2024), LipSDP-Neuron from
 * LipSDP-Layer's optimum, so that it never ends above it. The optimizer
 * need not be exact: the final multipliers are certified by {@link PsdCertificate} on
 * {@code G(rho* + delta, T)}, rounding included, so the bound {@code sqrt(rho* + delta)} holds for the
 * exact network whatever the optimizer did.
 *
 * <pre>{@code
 * LipSdp.Result r = LipSdp.solve(net, LipSdp.Options.neuron());
 * double certified = r.bound();      // >= the exact Lipschitz constant of net
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class LipSdp {
    private LipSdp() {
    }

    /** One multiplier per neuron or per layer. */
    public enum Multipliers { NEURON, LAYER }

    /**
     * @param multipliers  per neuron (LipSDP-Neuron) or per layer (LipSDP-Layer)
     * @param maxIterations BFGS iterations at most (0: certify the start, ECLipsE-Fast's multipliers)
     * @param maxSeconds   the time budget, certificate included: the optimizer stops early enough to certify the best
     *                     multipliers so far within it (the certificate's factorizations are estimated from the evaluations')
     * @param tolerance    stop when ten iterations lower rho by less than this, relatively
     * @param progress     a line now and then
     */
    public record Options(Multipliers multipliers, int maxIterations, double maxSeconds, double tolerance, Consumer<String> progress) {
        public Options {
            Objects.requireNonNull(multipliers, "multipliers");
            Objects.requireNonNull(progress, "progress");
            if (maxIterations < 0 || !(maxSeconds > 0) || !(tolerance >= 0)) {
                throw new IllegalArgumentException("options: need maxIterations >= 0, maxSeconds > 0, tolerance >= 0; got " + maxIterations
                        + ", " + maxSeconds + ", " + tolerance);
            }
        }

        /** LipSDP-Neuron: 500 iterations, 50 s, tolerance 1e-9, silent. */
        public static Options neuron() {
            return new Options(Multipliers.NEURON, 500, 50, 1e-9, s -> { });
        }

        /** LipSDP-Layer: 200 iterations, 50 s, tolerance 1e-10, silent. */
        public static Options layer() {
            return new Options(Multipliers.LAYER, 200, 50, 1e-10, s -> { });
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(multipliers, maxIterations, maxSeconds, tolerance, p);
        }

        public Options withBudget(int iterations, double seconds) {
            return new Options(multipliers, iterations, seconds, tolerance, progress);
        }
    }

    /**
     * @param bound       the certified upper bound on the Lipschitz constant
     * @param estimate    {@code sqrt(rho*)} at the final multipliers, before the certificate's margin
     * @param start       {@code sqrt(rho*)} at the starting multipliers (ECLipsE-Fast's when it applies)
     * @param multipliers the final multipliers, per hidden layer
     * @param iterations  BFGS iterations
     * @param evaluations evaluations of rho* and its gradient
     * @param seconds     wall time, certificate included
     * @param startMethod what the start was
     */
    public record Result(double bound, double estimate, double start, double[][] multipliers, int iterations, int evaluations,
                         double seconds, String startMethod) {
    }

    /**
     * The certified LipSDP bound of {@code net} (at least one hidden layer; for a single linear layer use
     * {@link OperatorNorm#dense}).
     *
     * @throws IllegalArgumentException when the net has no hidden layer
     * @throws ArithmeticException when no multipliers can be certified (not seen for finite weights)
     */
    public static Result solve(FeedForward net, Options o) {
        long t0 = System.nanoTime();
        Problem p = new Problem(net);
        Start start = start(p);
        double[][] t = start.t;
        if (o.multipliers() == Multipliers.LAYER) {
            t = layerwise(t);
        }
        int iterations = 0;
        int evaluations = 0;
        if (o.multipliers() == Multipliers.NEURON) {
            // per-layer multipliers first (a handful of variables, so BFGS converges in a few steps), then per neuron from
            // there: LipSDP-Neuron then ends no higher than LipSDP-Layer would
            Optimizer layer = new Optimizer(p, new Options(Multipliers.LAYER, Math.min(o.maxIterations(), 100), o.maxSeconds() / 4,
                    o.tolerance(), o.progress()));
            t = layer.run(layerwise(t), t0).t();
            iterations += layer.iterations;
            evaluations += layer.evaluations;
        }
        Optimizer opt = new Optimizer(p, o);
        Problem.Evaluation best = opt.run(t, t0);
        iterations += opt.iterations;
        evaluations += opt.evaluations;
        o.progress().accept(String.format(java.util.Locale.ROOT, "LipSDP-%s: %d iterations, %d evaluations, sqrt(rho) %.8g -> %.8g; certifying",
                o.multipliers().name().toLowerCase(java.util.Locale.ROOT), iterations, evaluations, Math.sqrt(start.rho),
                Math.sqrt(best.rho())));
        double bound = certify(p, best, p.evaluate(start.t));
        return new Result(bound, Math.sqrt(best.rho()), Math.sqrt(start.rho), best.t(), iterations, evaluations,
                (System.nanoTime() - t0) / 1e9, start.method);
    }

    /** ECLipsE-Fast's closed form alone, certified: no optimization. */
    public static Result eclipseFast(FeedForward net) {
        long t0 = System.nanoTime();
        Problem p = new Problem(net);
        Start start = start(p);
        Problem.Evaluation e = p.evaluate(start.t);
        if (e == null) {
            throw new ArithmeticException("ECLipsE-Fast: its multipliers are not feasible for this network");
        }
        return new Result(certify(p, e, e), Math.sqrt(e.rho()), Math.sqrt(start.rho), e.t(), 0, 1, (System.nanoTime() - t0) / 1e9,
                start.method);
    }

    private record Start(double[][] t, double rho, String method) {
    }

    /**
     * ECLipsE-Fast's multipliers (valid when alpha beta >= 0, where dropping the alpha-beta terms only
     * removes positive semidefinite parts of G): with {@code m = (alpha + beta) / 2}, {@code X_0 = I},
     * {@code A_k = W_{k-1} X_{k-1}^{-1} W_{k-1}^T}, {@code l_k = 1 / (2 m^2 lambda_max(A_k))},
     * {@code X_k = l_k I - l_k^2 m^2 A_k}, {@code rho_E = lambda_max(W^T W X_{L-1}^{-1})} and then
     * {@code T_k = rho_E l_k / 2}. Otherwise, or if those fail, layer multipliers chosen from the output
     * backwards so that each Schur complement stays positive definite.
     */
    private static Start start(Problem p) {
        if (p.alpha * p.beta >= 0) {
            double[][] t = eclipse(p);
            if (t != null) {
                Problem.Evaluation e = p.evaluate(t);
                if (e != null) {
                    return new Start(e.t(), e.rho(), "ECLipsE-Fast");
                }
            }
        }
        double[][] t = backwards(p);
        Problem.Evaluation e = p.evaluate(t);
        if (e == null) {
            throw new ArithmeticException("LipSDP: no feasible starting multipliers found");
        }
        return new Start(e.t(), e.rho(), "layer multipliers chosen from the output backwards");
    }

    private static double[][] eclipse(Problem p) {
        double m = (p.alpha + p.beta) / 2;
        int hidden = p.layers - 1;
        double[] l = new double[hidden + 1];
        DMatrixRMaj xFactor = null; // Cholesky factor R of X_{k-1}, null for the identity
        for (int k = 1; k <= hidden; k++) {
            DMatrixRMaj w = p.w[k - 1];
            DMatrixRMaj y = CommonOps_DDRM.transpose(w, null); // W^T, then R^{-T} W^T
            if (xFactor != null) {
                lowerSolve(xFactor, y);
            }
            DMatrixRMaj a = new DMatrixRMaj(w.numRows, w.numRows);
            CommonOps_DDRM.multTransA(y, y, a);
            double amax = Linalg.largestEigenvalue(a);
            if (!(amax > 0)) {
                return null;
            }
            l[k] = 1 / (2 * m * m * amax);
            CommonOps_DDRM.scale(-l[k] * l[k] * m * m, a);
            for (int i = 0; i < a.numRows; i++) {
                a.add(i, i, l[k]);
            }
            xFactor = Linalg.cholesky(a);
            if (xFactor == null) {
                return null;
            }
        }
        DMatrixRMaj y = CommonOps_DDRM.transpose(p.w[hidden], null); // W_{L-1}^T, then R^{-T} W^T
        lowerSolve(xFactor, y);
        DMatrixRMaj g = new DMatrixRMaj(y.numCols, y.numCols);
        CommonOps_DDRM.multTransA(y, y, g);
        double rho = Linalg.largestEigenvalue(g);
        double[][] t = new double[hidden + 1][];
        for (int k = 1; k <= hidden; k++) {
            t[k] = new double[p.width(k)];
            java.util.Arrays.fill(t[k], rho * l[k] / 2);
        }
        return t;
    }

    /** y <- R^{-T} y for the upper Cholesky factor R. */
    private static void lowerSolve(DMatrixRMaj r, DMatrixRMaj y) {
        DMatrixRMaj lower = CommonOps_DDRM.transpose(r, null);
        TriangularSolver_DDRM.solveL(lower.data, y.data, lower.numRows, y.numCols);
    }

    /** Layer multipliers from the output backwards: S_{L-1} = 2 tau I - W^T W >= ||W||^2 I, then each S_k >= tau_k I. */
    private static double[][] backwards(Problem p) {
        int hidden = p.layers - 1;
        double[][] t = new double[hidden + 1][];
        double last = Linalg.largestEigenvalue(p.lastGram);
        t[hidden] = filled(p.width(hidden), Math.max(last, Double.MIN_NORMAL));
        DMatrixRMaj s = p.schurLast(t, hidden);
        for (int k = hidden; k >= 2; k--) {
            DMatrixRMaj factor = Linalg.cholesky(s);
            if (factor == null) {
                throw new ArithmeticException("LipSDP: layer " + k + "'s Schur complement lost definiteness while choosing multipliers");
            }
            DMatrixRMaj q = p.coupled(t, k, factor);
            double lowest = Linalg.smallestEigenvalue(q);
            double tau = Math.max(-lowest, 1e-6 * Math.abs(lowest) + Double.MIN_NORMAL);
            t[k - 1] = filled(p.width(k - 1), tau);
            s = q;
            for (int i = 0; i < s.numRows; i++) {
                s.add(i, i, 2 * tau); // S_{k-1} = 2 tau I + q >= tau I
            }
        }
        return t;
    }

    private static double[] filled(int n, double value) {
        double[] a = new double[n];
        java.util.Arrays.fill(a, value);
        return a;
    }

    private static double[][] layerwise(double[][] t) {
        double[][] r = new double[t.length][];
        for (int k = 1; k < t.length; k++) {
            r[k] = filled(t[k].length, java.util.Arrays.stream(t[k]).average().orElseThrow());
        }
        return r;
    }

    /**
     * Certifies {@code G(rho* + delta, T)} positive definite, raising delta a few times; if the optimizer
     * left T where G has other near-zero eigenvalues (a multiplier driven towards its boundary), steps
     * back towards the starting multipliers: rho* is convex in T, so on the segment it stays below the
     * interpolation of the two ends. Returns the certified {@code sqrt(rho* + delta)}, rounded up.
     */
    static double certify(Problem p, Problem.Evaluation best, Problem.Evaluation anchor) {
        double[] steps = {0, 1e-8, 1e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1};
        for (double lambda : steps) {
            Problem.Evaluation e = lambda == 0 ? best : p.evaluate(mix(best.t(), anchor.t(), lambda));
            if (e == null) {
                continue;
            }
            double bound = certifyAt(p, e, lambda == 0 ? 4 : lambda == 1 ? 12 : 2);
            if (!Double.isNaN(bound)) {
                return bound;
            }
        }
        throw new ArithmeticException("LipSDP: the multipliers found could not be certified (rho " + best.rho() + ")");
    }

    private static double certifyAt(Problem p, Problem.Evaluation e, int attempts) {
        double[][] t = e.t();
        Problem.Blocks blocks = p.blocks(t, e.rho());
        double shift = PsdCertificate.suggestedShift(blocks.diagonal(), blocks.upper(), blocks.formingError());
        // lambda_min(G(rho + delta)) grows like delta ||z_0||^2 / ||z||^2 while it is the smallest eigenvalue
        double zRatio = Math.max(1, e.nullVectorNorm2());
        double delta = 4 * shift * zRatio + 1e-14 * Math.abs(e.rho());
        for (int attempt = 0; attempt < attempts; attempt++) {
            double rho = e.rho() + delta;
            Problem.Blocks b = p.blocks(t, rho);
            double s = PsdCertificate.suggestedShift(b.diagonal(), b.upper(), b.formingError());
            PsdCertificate.Result r = PsdCertificate.certify(b.diagonal(), b.upper(), b.formingError(), s);
            if (r.certified()) {
                return Math.nextUp(Math.sqrt(rho));
            }
            delta *= 8;
        }
        return Double.NaN;
    }

    private static double[][] mix(double[][] a, double[][] b, double lambda) {
        double[][] m = new double[a.length][];
        for (int k = 1; k < a.length; k++) {
            m[k] = new double[a[k].length];
            for (int i = 0; i < m[k].length; i++) {
                m[k][i] = (1 - lambda) * a[k][i] + lambda * b[k][i];
            }
        }
        return m;
    }

    /** BFGS on log rho* over log t with a weak Wolfe line search. */
    private static final class Optimizer {
        private final Problem p;
        private final Options o;
        int iterations;
        int evaluations;
        double evaluationSeconds;

        Optimizer(Problem p, Options o) {
            this.p = p;
            this.o = o;
        }

        Problem.Evaluation run(double[][] t0, long started) {
            boolean layer = o.multipliers() == Multipliers.LAYER;
            double[] x = pack(t0, layer);
            Problem.Evaluation e = evaluate(x, layer);
            if (e == null) {
                throw new ArithmeticException("LipSDP: the starting multipliers are not feasible");
            }
            Problem.Evaluation best = e;
            int n = x.length;
            double[] g = gradient(e, layer);
            double[][] h = null; // inverse Hessian approximation, identity scaled after the first step
            List<Double> history = new ArrayList<>();
            history.add(Math.log(e.rho()));
            // stop early enough to leave the certificate (about four evaluations' worth of factorizations) within the budget
            while (iterations < o.maxIterations()
                    && (System.nanoTime() - started) / 1e9 + 4 * evaluationSeconds / Math.max(1, evaluations) < o.maxSeconds()) {
                double[] d = new double[n];
                if (h == null) {
                    double gn = Math.sqrt(Vectors.dot(g, g));
                    if (gn == 0) {
                        break;
                    }
                    for (int i = 0; i < n; i++) {
                        d[i] = -g[i] / gn; // a unit first step in log t
                    }
                } else {
                    for (int i = 0; i < n; i++) {
                        d[i] = -Vectors.dot(h[i], g);
                    }
                }
                double slope = Vectors.dot(g, d);
                if (!(slope < 0)) {
                    h = null; // lost descent: restart from the gradient
                    if (iterations > 0 && history.size() > 1 && slope == 0) {
                        break;
                    }
                    continue;
                }
                double f = Math.log(e.rho());
                double lo = 0;
                double hi = Double.POSITIVE_INFINITY;
                double step = 1;
                Problem.Evaluation next = null;
                double[] xNext = null;
                double[] gNext = null;
                for (int ls = 0; ls < 20; ls++) {
                    double[] xs = x.clone();
                    for (int i = 0; i < n; i++) {
                        xs[i] += step * d[i];
                    }
                    Problem.Evaluation es = evaluate(xs, layer);
                    boolean armijo = es != null && Math.log(es.rho()) <= f + 1e-4 * step * slope;
                    if (!armijo) {
                        hi = step;
                    } else {
                        double[] gs = gradient(es, layer);
                        if (Vectors.dot(gs, d) >= 0.5 * slope) {
                            next = es;
                            xNext = xs;
                            gNext = gs;
                            break;
                        }
                        lo = step;
                        next = es; // Armijo holds: keep it in case the bracket collapses
                        xNext = xs;
                        gNext = gs;
                    }
                    step = Double.isInfinite(hi) ? 2 * lo : (lo + hi) / 2;
                    if (hi - lo < 1e-16 * Math.max(1, lo)) {
                        break;
                    }
                }
                if (next == null) {
                    if (h == null) {
                        break; // not even a gradient step lowers rho: done
                    }
                    h = null;
                    continue;
                }
                iterations++;
                double[] s = new double[n];
                double[] y = new double[n];
                for (int i = 0; i < n; i++) {
                    s[i] = xNext[i] - x[i];
                    y[i] = gNext[i] - g[i];
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
                    bfgsUpdate(h, s, y, sy);
                }
                x = xNext;
                e = next;
                g = gNext;
                if (e.rho() < best.rho()) {
                    best = e;
                }
                history.add(Math.log(e.rho()));
                if (iterations % 10 == 0) {
                    o.progress().accept(String.format(java.util.Locale.ROOT, "LipSDP: iteration %d, sqrt(rho) %.10g", iterations,
                            Math.sqrt(e.rho())));
                }
                int m = history.size();
                if (m > 10 && history.get(m - 11) - history.get(m - 1) < o.tolerance()) {
                    break;
                }
            }
            return best;
        }

        private Problem.Evaluation evaluate(double[] x, boolean layer) {
            long t0 = System.nanoTime();
            evaluations++;
            Problem.Evaluation e = p.evaluate(unpack(x, layer));
            evaluationSeconds += (System.nanoTime() - t0) / 1e9;
            return e;
        }

        /** d log rho / d log t. */
        private double[] gradient(Problem.Evaluation e, boolean layer) {
            double[][] gt = e.gradient();
            double[][] t = e.t();
            List<Double> g = new ArrayList<>();
            for (int k = 1; k < t.length; k++) {
                double layerSum = 0;
                for (int i = 0; i < t[k].length; i++) {
                    double gi = gt[k][i] * t[k][i] / e.rho();
                    if (layer) {
                        layerSum += gi;
                    } else {
                        g.add(gi);
                    }
                }
                if (layer) {
                    g.add(layerSum);
                }
            }
            return g.stream().mapToDouble(Double::doubleValue).toArray();
        }

        private double[] pack(double[][] t, boolean layer) {
            List<Double> x = new ArrayList<>();
            for (int k = 1; k < t.length; k++) {
                if (layer) {
                    x.add(Math.log(t[k][0]));
                } else {
                    for (double v : t[k]) {
                        x.add(Math.log(v));
                    }
                }
            }
            return x.stream().mapToDouble(Double::doubleValue).toArray();
        }

        private double[][] unpack(double[] x, boolean layer) {
            double[][] t = new double[p.layers][];
            int at = 0;
            for (int k = 1; k < p.layers; k++) {
                t[k] = new double[p.width(k)];
                for (int i = 0; i < t[k].length; i++) {
                    t[k][i] = Math.exp(layer ? x[at] : x[at + i]);
                }
                at += layer ? 1 : t[k].length;
            }
            return t;
        }

        /** H <- (I - s y^T / sy) H (I - y s^T / sy) + s s^T / sy. */
        private static void bfgsUpdate(double[][] h, double[] s, double[] y, double sy) {
            int n = s.length;
            double[] hy = new double[n];
            for (int i = 0; i < n; i++) {
                hy[i] = Vectors.dot(h[i], y);
            }
            double yhy = Vectors.dot(y, hy);
            double c = (sy + yhy) / (sy * sy);
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < n; j++) {
                    h[i][j] += c * s[i] * s[j] - (hy[i] * s[j] + s[i] * hy[j]) / sy;
                }
            }
        }
    }

    /** The network's matrices and the maps from multipliers to rho*, its gradient and G's blocks. */
    static final class Problem {
        /** Z's top eigenpair is found densely when the first layer has at most this many inputs or outputs. */
        private static final int DENSE_SIDE = 256;
        final int layers;
        final double alpha;
        final double beta;
        final DMatrixRMaj[] w;       // w[k]: n_{k+1} x n_k
        final DMatrixRMaj lastGram;  // W_{L-1}^T W_{L-1}
        final double lastGramError;  // its rounding, spectral norm
        private final DMatrixRMaj inputQ; // thin Q of W_0^T when n_0 > n_1 (for lambda_max of Z), else null
        private final DMatrixRMaj inputR;

        Problem(FeedForward net) {
            if (net.layers() < 2) {
                throw new IllegalArgumentException("net: LipSDP needs at least one hidden layer, got " + net.layers() + " layer(s)");
            }
            layers = net.layers();
            alpha = net.activation().slopeLower();
            beta = net.activation().slopeUpper();
            int[] widths = net.widths();
            w = new DMatrixRMaj[layers];
            for (int k = 0; k < layers; k++) {
                w[k] = new DMatrixRMaj(widths[k + 1], widths[k], true, net.weightView(k));
            }
            DMatrixRMaj last = w[layers - 1];
            lastGram = new DMatrixRMaj(last.numCols, last.numCols);
            CommonOps_DDRM.multTransA(last, last, lastGram);
            lastGramError = PsdCertificate.gamma(last.numRows) * PsdCertificate.sumSquares(last) * (1 + 1e-6);
            if (widths[0] > widths[1] && widths[1] <= DENSE_SIDE) {
                QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(widths[0], widths[1]);
                DMatrixRMaj wt = CommonOps_DDRM.transpose(w[0], null);
                if (!qr.decompose(wt)) {
                    throw new ArithmeticException("LipSDP: QR of the first layer failed");
                }
                inputQ = qr.getQ(null, true);
                inputR = qr.getR(null, true);
            } else {
                inputQ = null;
                inputR = null;
            }
        }

        int width(int k) {
            return w[k].numCols;
        }

        /**
         * rho*, the multipliers, the null vector's pieces and the gradient d rho* / d t.
         *
         * @param nullVectorNorm2 ||z||^2 / ||z_0||^2 (z_0 is a unit vector)
         */
        record Evaluation(double rho, double[][] t, double[][] gradient, double nullVectorNorm2) {
        }

        /** S_{L-1} = 2 T_{L-1} - W_{L-1}^T W_{L-1}. */
        DMatrixRMaj schurLast(double[][] t, int k) {
            if (k == layers - 1) {
                DMatrixRMaj s = lastGram.copy();
                CommonOps_DDRM.scale(-1, s);
                for (int i = 0; i < s.numRows; i++) {
                    s.add(i, i, 2 * t[k][i]);
                }
                return s;
            }
            throw new IllegalStateException("schurLast: only for the last hidden layer");
        }

        /**
         * {@code W_{k-1}^T Y_k W_{k-1}} with {@code Y_k = 2 alpha beta T_k - (alpha + beta)^2 T_k S_k^{-1} T_k},
         * given S_k's upper Cholesky factor: the part of S_{k-1} (or -Z) that comes from layer k.
         */
        DMatrixRMaj coupled(double[][] t, int k, DMatrixRMaj factor) {
            DMatrixRMaj wk = w[k - 1]; // n_k x n_{k-1}
            DMatrixRMaj x = wk.copy();
            scaleRows(x, t[k], alpha + beta);
            lowerSolve(factor, x); // X = (alpha + beta) R^{-T} T W
            DMatrixRMaj out = new DMatrixRMaj(wk.numCols, wk.numCols);
            CommonOps_MT_DDRM.multInner(x, out);
            CommonOps_DDRM.scale(-1, out);
            if (alpha * beta != 0) {
                DMatrixRMaj tw = wk.copy();
                scaleRows(tw, t[k], 2 * alpha * beta);
                CommonOps_DDRM.multAddTransA(wk, tw, out);
            }
            return out;
        }

        /** rho*(t) and its gradient, or null when some S_k is not positive definite. */
        Evaluation evaluate(double[][] t) {
            int hidden = layers - 1;
            DMatrixRMaj[] factors = new DMatrixRMaj[hidden + 1];
            DMatrixRMaj s = schurLast(t, hidden);
            for (int k = hidden; k >= 1; k--) {
                factors[k] = Linalg.cholesky(s);
                if (factors[k] == null) {
                    return null;
                }
                if (k >= 2) {
                    s = coupled(t, k, factors[k]);
                    for (int i = 0; i < s.numRows; i++) {
                        s.add(i, i, 2 * t[k - 1][i]);
                    }
                }
            }
            // Z = -W_0^T Y_1 W_0; its top eigenpair
            double[] top = topOfZ(t, factors[1]);
            double rho = top[0];
            double[] u = java.util.Arrays.copyOfRange(top, 1, top.length);
            if (!(rho > 0)) {
                return null; // only the zero network has rho* = 0: nothing to optimize
            }
            // the null vector z and the gradient
            double[][] grad = new double[layers][];
            double[] z = u;
            double norm2 = 1;
            for (int k = 1; k <= hidden; k++) {
                double[] a = multiply(w[k - 1], z);
                double[] rhs = new double[a.length];
                for (int i = 0; i < a.length; i++) {
                    rhs[i] = (alpha + beta) * t[k][i] * a[i];
                }
                double[] zk = solve(factors[k], rhs);
                grad[k] = new double[a.length];
                for (int i = 0; i < a.length; i++) {
                    grad[k][i] = -2 * (zk[i] - alpha * a[i]) * (zk[i] - beta * a[i]);
                    norm2 += zk[i] * zk[i];
                }
                z = zk;
            }
            double[][] copy = new double[t.length][];
            for (int k = 1; k < t.length; k++) {
                copy[k] = t[k].clone();
            }
            return new Evaluation(rho, copy, grad, norm2);
        }

        /**
         * {@code lambda_max(Z)} and its unit eigenvector, {@code Z = X^T X - 2 alpha beta W_0^T T_1 W_0} with
         * {@code X = (alpha + beta) R_1^{-T} T_1 W_0}: dense on the smaller side when that is small, else by
         * Lanczos on products with Z.
         */
        private double[] topOfZ(double[][] t, DMatrixRMaj factor) {
            int n0 = w[0].numCols;
            int n1 = w[0].numRows;
            if (Math.min(n0, n1) <= DENSE_SIDE) {
                DMatrixRMaj y1 = coupledCore(t, factor); // -Y_1, n_1 x n_1
                if (inputQ != null) {
                    DMatrixRMaj ry = new DMatrixRMaj(inputR.numRows, inputR.numRows);
                    DMatrixRMaj tmp = new DMatrixRMaj(inputR.numRows, y1.numCols);
                    CommonOps_DDRM.mult(inputR, y1, tmp);
                    CommonOps_DDRM.multTransB(tmp, inputR, ry);
                    double[] pair = Linalg.topEigenpair(ry);
                    double[] r = new double[n0 + 1];
                    r[0] = pair[0];
                    double[] v = java.util.Arrays.copyOfRange(pair, 1, pair.length);
                    for (int i = 0; i < n0; i++) {
                        double acc = 0;
                        for (int j = 0; j < v.length; j++) {
                            acc += inputQ.get(i, j) * v[j];
                        }
                        r[i + 1] = acc;
                    }
                    return r;
                }
                DMatrixRMaj z = new DMatrixRMaj(n0, n0);
                DMatrixRMaj tmp = new DMatrixRMaj(y1.numRows, n0);
                CommonOps_DDRM.mult(y1, w[0], tmp);
                CommonOps_DDRM.multTransA(w[0], tmp, z);
                return Linalg.topEigenpair(z);
            }
            DMatrixRMaj x = w[0].copy();
            scaleRows(x, t[1], alpha + beta);
            lowerSolve(factor, x);
            double[] t1 = t[1];
            return Linalg.topEigenpair(n0, v -> {
                double[] zv = multiplyTranspose(x, multiply(x, v));
                if (alpha * beta != 0) {
                    double[] a = multiply(w[0], v);
                    for (int i = 0; i < a.length; i++) {
                        a[i] *= 2 * alpha * beta * t1[i];
                    }
                    double[] b = multiplyTranspose(w[0], a);
                    for (int i = 0; i < zv.length; i++) {
                        zv[i] -= b[i];
                    }
                }
                return zv;
            });
        }

        private static double[] multiplyTranspose(DMatrixRMaj m, double[] v) {
            double[] r = new double[m.numCols];
            for (int i = 0; i < m.numRows; i++) {
                double vi = v[i];
                int at = i * m.numCols;
                for (int j = 0; j < m.numCols; j++) {
                    r[j] += m.data[at + j] * vi;
                }
            }
            return r;
        }

        /** -Y_1 = (alpha + beta)^2 T_1 S_1^{-1} T_1 - 2 alpha beta T_1 (n_1 x n_1). */
        private DMatrixRMaj coupledCore(double[][] t, DMatrixRMaj factor) {
            int n = t[1].length;
            DMatrixRMaj x = new DMatrixRMaj(n, n);
            for (int i = 0; i < n; i++) {
                x.set(i, i, (alpha + beta) * t[1][i]);
            }
            lowerSolve(factor, x);
            DMatrixRMaj out = new DMatrixRMaj(n, n);
            CommonOps_DDRM.multTransA(x, x, out);
            for (int i = 0; i < n; i++) {
                out.add(i, i, -2 * alpha * beta * t[1][i]);
            }
            return out;
        }

        /**
         * The blocks of G(rho, T) (rho = 0 leaves D_0 without its rho I) and a bound on the spectral norm of
         * their rounding.
         */
        record Blocks(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper, double formingError) {
        }

        Blocks blocks(double[][] t, double rho) {
            int hidden = layers - 1;
            List<DMatrixRMaj> diagonal = new ArrayList<>();
            List<DMatrixRMaj> upper = new ArrayList<>();
            double error = 0;
            for (int k = 0; k <= hidden; k++) {
                int n = w[k].numCols;
                DMatrixRMaj d = new DMatrixRMaj(n, n);
                double termError = 0;
                if (alpha * beta != 0 && k < hidden) {
                    // 2 alpha beta W_k^T T_{k+1} W_k: |error| <= gamma_{n+2} |2 alpha beta| sum_i t_i ||w_i||^2
                    DMatrixRMaj tw = w[k].copy();
                    scaleRows(tw, t[k + 1], 2 * alpha * beta);
                    CommonOps_DDRM.multTransA(w[k], tw, d);
                    double weighted = 0;
                    for (int i = 0; i < w[k].numRows; i++) {
                        double row = 0;
                        for (int j = 0; j < n; j++) {
                            row += w[k].get(i, j) * w[k].get(i, j);
                        }
                        weighted += t[k + 1][i] * row;
                    }
                    termError += PsdCertificate.gamma(w[k].numRows + 3) * Math.abs(2 * alpha * beta) * weighted;
                }
                if (k == hidden) {
                    CommonOps_DDRM.subtractEquals(d, lastGram);
                    termError += lastGramError;
                }
                for (int i = 0; i < n; i++) {
                    d.add(i, i, k == 0 ? rho : 2 * t[k][i]);
                }
                // the additions above round once more per entry
                termError += 2 * PsdCertificate.U * Math.sqrt(PsdCertificate.sumSquares(d));
                error += termError;
                diagonal.add(d);
                if (k >= 1) {
                    // C_k = -(alpha + beta) W_{k-1}^T T_k: two roundings per entry
                    DMatrixRMaj c = CommonOps_DDRM.transpose(w[k - 1], null);
                    scaleColumns(c, t[k], -(alpha + beta));
                    error += 2 * 2 * PsdCertificate.U * Math.sqrt(PsdCertificate.sumSquares(c));
                    upper.add(c);
                }
            }
            return new Blocks(diagonal, upper, error * (1 + 1e-6));
        }

        private static void scaleRows(DMatrixRMaj m, double[] s, double factor) {
            for (int i = 0; i < m.numRows; i++) {
                double f = s[i] * factor;
                for (int j = 0; j < m.numCols; j++) {
                    m.data[i * m.numCols + j] *= f;
                }
            }
        }

        private static void scaleColumns(DMatrixRMaj m, double[] s, double factor) {
            for (int i = 0; i < m.numRows; i++) {
                for (int j = 0; j < m.numCols; j++) {
                    m.data[i * m.numCols + j] *= s[j] * factor;
                }
            }
        }

        static double[] multiply(DMatrixRMaj m, double[] v) {
            double[] r = new double[m.numRows];
            for (int i = 0; i < m.numRows; i++) {
                double acc = 0;
                for (int j = 0; j < m.numCols; j++) {
                    acc += m.data[i * m.numCols + j] * v[j];
                }
                r[i] = acc;
            }
            return r;
        }

        /** S^{-1} b with S = R^T R. */
        private static double[] solve(DMatrixRMaj r, double[] b) {
            double[] x = b.clone();
            TriangularSolver_DDRM.solveTranU(r.data, x, r.numRows);
            TriangularSolver_DDRM.solveU(r.data, x, r.numRows);
            return x;
        }
    }

    /** Small dense helpers over EJML. */
    static final class Linalg {
        private Linalg() {
        }

        /** The upper Cholesky factor, or null when the matrix is not (numerically) positive definite. */
        static DMatrixRMaj cholesky(DMatrixRMaj a) {
            return PsdCertificate.upperCholesky(a);
        }

        static DMatrixRMaj symmetrized(DMatrixRMaj a) {
            DMatrixRMaj s = a.copy();
            for (int i = 0; i < s.numRows; i++) {
                for (int j = 0; j < i; j++) {
                    double v = (s.get(i, j) + s.get(j, i)) / 2;
                    s.set(i, j, v);
                    s.set(j, i, v);
                }
            }
            return s;
        }

        static double largestEigenvalue(DMatrixRMaj a) {
            double[] v = Dense.symmetricEigenvalues(symmetrized(a).data, a.numRows);
            return v[v.length - 1];
        }

        static double smallestEigenvalue(DMatrixRMaj a) {
            return Dense.symmetricEigenvalues(symmetrized(a).data, a.numRows)[0];
        }

        /** The top eigenpair {@code [lambda, v...]} of a symmetric matrix. */
        static double[] topEigenpair(DMatrixRMaj a) {
            DMatrixRMaj s = symmetrized(a);
            return topEigenpair(s.numRows, v -> Problem.multiply(s, v));
        }

        /** The spectral stack's settings for Z's top eigenpair: residual 1e-12 of the value, dense up to 64 dimensions. */
        private static final Lanczos.Options TOP = Lanczos.Options.defaults().withTolerance(1e-12).withDenseLimit(64);

        /** The largest eigenvalue and its unit eigenvector ({@code [lambda, v...]}) of a symmetric operator. */
        static double[] topEigenpair(int n, java.util.function.UnaryOperator<double[]> a) {
            Eigenpairs e = Lanczos.eigenpairs(LinearOperator.symmetric(n, a), 1, Eigenpairs.Which.LARGEST, TOP);
            double[] r = new double[n + 1];
            r[0] = e.values()[0];
            System.arraycopy(e.vectors()[0], 0, r, 1, n);
            return r;
        }
    }
}

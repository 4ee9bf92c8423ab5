package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

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
        return solve(new LipSdpProblem(net), o);
    }

    /** {@link #solve(FeedForward, Options)} on a problem whose starting multipliers other methods may share. */
    static Result solve(LipSdpProblem p, Options o) {
        long t0 = System.nanoTime();
        LipSdpProblem.Start start = start(p);
        double[][] t = start.evaluation().t();
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
        LipSdpProblem.Evaluation best = opt.run(t, t0);
        iterations += opt.iterations;
        evaluations += opt.evaluations;
        o.progress().accept(String.format(java.util.Locale.ROOT, "LipSDP-%s: %d iterations, %d evaluations, sqrt(rho) %.8g -> %.8g; certifying",
                o.multipliers().name().toLowerCase(java.util.Locale.ROOT), iterations, evaluations, Math.sqrt(start.evaluation().rho()),
                Math.sqrt(best.rho())));
        double bound = certify(p, best, start.evaluation());
        return new Result(bound, Math.sqrt(best.rho()), Math.sqrt(start.evaluation().rho()), best.t(), iterations, evaluations,
                (System.nanoTime() - t0) / 1e9, o.multipliers() == Multipliers.NEURON ? start.method() + ", then LipSDP-Layer's optimum"
                        : start.method());
    }

    /** ECLipsE-Fast's closed form alone, certified: no optimization. */
    public static Result eclipseFast(FeedForward net) {
        return eclipseFast(new LipSdpProblem(net));
    }

    /** {@link #eclipseFast(FeedForward)} on a problem whose starting multipliers other methods may share. */
    static Result eclipseFast(LipSdpProblem p) {
        long t0 = System.nanoTime();
        LipSdpProblem.Start start = start(p);
        LipSdpProblem.Evaluation e = start.evaluation();
        return new Result(certify(p, e, e), Math.sqrt(e.rho()), Math.sqrt(e.rho()), e.t(), 0, 1, (System.nanoTime() - t0) / 1e9,
                start.method());
    }

    /**
     * ECLipsE-Fast's multipliers (valid when alpha beta >= 0, where dropping the alpha-beta terms only
     * removes positive semidefinite parts of G): with {@code m = (alpha + beta) / 2}, {@code X_0 = I},
     * {@code A_k = W_{k-1} X_{k-1}^{-1} W_{k-1}^T}, {@code l_k = 1 / (2 m^2 lambda_max(A_k))},
     * {@code X_k = l_k I - l_k^2 m^2 A_k}, {@code rho_E = lambda_max(W^T W X_{L-1}^{-1})} and then
     * {@code T_k = rho_E l_k / 2}. Otherwise, or if those fail, layer multipliers chosen from the output
     * backwards so that each Schur complement stays positive definite.
     */
    private static LipSdpProblem.Start start(LipSdpProblem p) {
        if (p.start != null) {
            return p.start; // computed once per problem, shared by ECLipsE-Fast, LipSDP-Layer and LipSDP-Neuron
        }
        if (p.alpha * p.beta >= 0) {
            double[][] t = eclipse(p);
            if (t != null) {
                LipSdpProblem.Evaluation e = p.evaluate(t);
                if (e != null) {
                    p.start = new LipSdpProblem.Start(e, "ECLipsE-Fast");
                    return p.start;
                }
            }
        }
        LipSdpProblem.Evaluation e = p.evaluate(backwards(p));
        if (e == null) {
            throw new ArithmeticException("LipSDP: no feasible starting multipliers found");
        }
        p.start = new LipSdpProblem.Start(e, "layer multipliers chosen from the output backwards");
        return p.start;
    }

    private static double[][] eclipse(LipSdpProblem p) {
        double m = (p.alpha + p.beta) / 2;
        int hidden = p.layers - 1;
        double[] l = new double[hidden + 1];
        DMatrixRMaj xFactor = null; // Cholesky factor R of X_{k-1}, null for the identity
        for (int k = 1; k <= hidden; k++) {
            DMatrixRMaj w = p.w[k - 1];
            DMatrixRMaj y = CommonOps_DDRM.transpose(w, null); // W^T, then R^{-T} W^T
            if (xFactor != null) {
                LipSdpProblem.lowerSolve(xFactor, y);
            }
            DMatrixRMaj a = new DMatrixRMaj(w.numRows, w.numRows);
            CommonOps_DDRM.multTransA(y, y, a);
            double amax = LipSdpProblem.Linalg.largestEigenvalue(a);
            if (!(amax > 0)) {
                return null;
            }
            l[k] = 1 / (2 * m * m * amax);
            CommonOps_DDRM.scale(-l[k] * l[k] * m * m, a);
            for (int i = 0; i < a.numRows; i++) {
                a.add(i, i, l[k]);
            }
            xFactor = LipSdpProblem.Linalg.cholesky(a);
            if (xFactor == null) {
                return null;
            }
        }
        DMatrixRMaj y = CommonOps_DDRM.transpose(p.w[hidden], null); // W_{L-1}^T, then R^{-T} W^T
        LipSdpProblem.lowerSolve(xFactor, y);
        DMatrixRMaj g = new DMatrixRMaj(y.numCols, y.numCols);
        CommonOps_DDRM.multTransA(y, y, g);
        double rho = LipSdpProblem.Linalg.largestEigenvalue(g);
        double[][] t = new double[hidden + 1][];
        for (int k = 1; k <= hidden; k++) {
            t[k] = new double[p.width(k)];
            java.util.Arrays.fill(t[k], rho * l[k] / 2);
        }
        return t;
    }

    /** Layer multipliers from the output backwards: S_{L-1} = 2 tau I - W^T W >= ||W||^2 I, then each S_k >= tau_k I. */
    private static double[][] backwards(LipSdpProblem p) {
        int hidden = p.layers - 1;
        double[][] t = new double[hidden + 1][];
        double last = LipSdpProblem.Linalg.largestEigenvalue(p.lastGram);
        t[hidden] = filled(p.width(hidden), Math.max(last, Double.MIN_NORMAL));
        DMatrixRMaj s = p.schurLast(t, hidden);
        for (int k = hidden; k >= 2; k--) {
            DMatrixRMaj factor = LipSdpProblem.Linalg.cholesky(s);
            if (factor == null) {
                throw new ArithmeticException("LipSDP: layer " + k + "'s Schur complement lost definiteness while choosing multipliers");
            }
            DMatrixRMaj q = p.coupled(t, k, factor);
            double lowest = LipSdpProblem.Linalg.smallestEigenvalue(q);
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
    static double certify(LipSdpProblem p, LipSdpProblem.Evaluation best, LipSdpProblem.Evaluation anchor) {
        double[] steps = {0, 1e-8, 1e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1};
        for (double lambda : steps) {
            LipSdpProblem.Evaluation e = lambda == 0 ? best : p.evaluate(mix(best.t(), anchor.t(), lambda));
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

    private static double certifyAt(LipSdpProblem p, LipSdpProblem.Evaluation e, int attempts) {
        double[][] t = e.t();
        LipSdpProblem.Blocks blocks = p.blocks(t, e.rho());
        double shift = PsdCertificate.suggestedShift(blocks.diagonal(), blocks.upper(), blocks.formingError());
        // lambda_min(G(rho + delta)) grows like delta ||z_0||^2 / ||z||^2 while it is the smallest eigenvalue
        double zRatio = Math.max(1, e.nullVectorNorm2());
        double delta = 4 * shift * zRatio + 1e-14 * Math.abs(e.rho());
        for (int attempt = 0; attempt < attempts; attempt++) {
            double rho = e.rho() + delta;
            LipSdpProblem.Blocks b = p.blocks(t, rho);
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

    /** BFGS on log rho* over log t (per neuron or per layer): {@link Bfgs}, with the time budget and the counts. */
    private static final class Optimizer {
        private final LipSdpProblem p;
        private final Options o;
        private final boolean layer;
        int iterations;
        int evaluations;
        double evaluationSeconds;

        Optimizer(LipSdpProblem p, Options o) {
            this.p = p;
            this.o = o;
            this.layer = o.multipliers() == Multipliers.LAYER;
        }

        LipSdpProblem.Evaluation run(double[][] t0, long started) {
            Bfgs.Point<LipSdpProblem.Evaluation> start = at(pack(t0));
            if (start == null) {
                throw new ArithmeticException("LipSDP: the starting multipliers are not feasible");
            }
            // stop early enough to leave the certificate (about four evaluations' worth of factorizations) within the budget
            Bfgs.Result<LipSdpProblem.Evaluation> r = Bfgs.minimize(this::at, start, o.maxIterations(),
                    () -> (System.nanoTime() - started) / 1e9 + 4 * evaluationSeconds / Math.max(1, evaluations) >= o.maxSeconds(),
                    o.tolerance(), k -> {
                        if (k % 10 == 0) {
                            o.progress().accept(String.format(java.util.Locale.ROOT, "LipSDP: iteration %d", k));
                        }
                    });
            iterations = r.iterations();
            return r.best().payload();
        }

        /** log rho* and its gradient in log t, or null where some Schur complement is not positive definite. */
        private Bfgs.Point<LipSdpProblem.Evaluation> at(double[] x) {
            long t0 = System.nanoTime();
            evaluations++;
            LipSdpProblem.Evaluation e = p.evaluate(unpack(x));
            evaluationSeconds += (System.nanoTime() - t0) / 1e9;
            return e == null ? null : new Bfgs.Point<>(x, Math.log(e.rho()), gradient(e), e);
        }

        /** d log rho / d log t. */
        private double[] gradient(LipSdpProblem.Evaluation e) {
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

        private double[] pack(double[][] t) {
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

        private double[][] unpack(double[] x) {
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
    }
}

package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.lipa.analysis.DeflatedPowerIteration;
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.Lanczos;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.Probe;
import org.lipa.analysis.SpectralDensity;
import org.lipa.analysis.SpectralMethod;
import org.lipa.analysis.TraceEstimate;
import org.lipa.analysis.Vectors;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The Hessian of a module's loss with respect to its parameters, averaged over a fixed list of batches
 * ({@code H v = (1/B) sum_b H_b v}, as PyHessian's data-loader mode with equal batches), studied through
 * Hessian-vector products from {@link ParameterLoss#hvp} as a symmetric {@link LinearOperator}
 * ({@link #operator()}) with the runtime's spectral methods: top eigenvalues by Lanczos to a residual
 * tolerance (written out and decomposed exactly when small; PyHessian's deflated power iteration on request),
 * each with its residual bound; the trace exactly when small, else by Hutchinson with a confidence interval;
 * the eigenvalue density by stochastic Lanczos quadrature; and the same for the diagonal block of one layer's
 * parameters ({@link #restrict}).
 *
 * <pre>{@code
 * ParameterLoss f = ParameterLoss.of(cpu, mlp, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
 * Hessian h = Hessian.of(f, f.current(), List.of(new Hessian.Batch(x, y)));
 * Hessian.Options o = Hessian.Options.defaults().withTopK(3);
 * Eigenpairs top = h.top(o);              // top.values()[0]: the largest |eigenvalue|, within top.residuals()[0]
 * TraceEstimate tr = h.trace(o);          // tr.lower() <= trace <= tr.upper() at 95%, or tr.exact()
 * SpectralDensity.Curve d = h.density(o).smooth(o.sigmaSquared(), o.gridPoints());
 * List<Hessian.Block> layers = h.blocks(Hessian.modules(f.names()), o);
 * }</pre>
 *
 * <p>The point, the batches and their arenas must stay alive while the Hessian is used; each product runs in
 * its own confined arena. Not thread-safe (products run one at a time anyway).
 */
public final class Hessian {
    private final ParameterLoss loss;
    private final List<Tensor> point;
    private final List<Batch> batches;
    private final String name;
    private final List<String> parameters;
    /** Per parameter tensor in the full layout, whether it belongs to this (block) Hessian. */
    private final boolean[] inside;
    private final int dimension;
    private long products;

    /** One batch of inputs and targets of the specs the loss was traced for. */
    public record Batch(Tensor x, Tensor y) {
        public Batch {
            Objects.requireNonNull(x, "x");
            Objects.requireNonNull(y, "y");
        }
    }

    private Hessian(ParameterLoss loss, List<Tensor> point, List<Batch> batches, String name, boolean[] inside) {
        this.loss = loss;
        this.point = point;
        this.batches = batches;
        this.name = name;
        this.inside = inside;
        List<String> in = new ArrayList<>();
        int n = 0;
        for (int i = 0; i < inside.length; i++) {
            if (inside[i]) {
                in.add(loss.names().get(i));
                n = Math.addExact(n, Math.toIntExact(loss.specs().get(i).shape().size()));
            }
        }
        this.parameters = List.copyOf(in);
        this.dimension = n;
    }

    /**
     * The Hessian at {@code point} (one tensor per parameter, in {@link ParameterLoss#names()} order) of the
     * loss averaged over {@code batches}.
     *
     * @throws IllegalArgumentException when there are no batches or a batch or the point does not fit the traced specs
     */
    public static Hessian of(ParameterLoss loss, List<Tensor> point, List<Batch> batches) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("batches: need at least one");
        }
        if (point.size() != loss.specs().size()) {
            throw new IllegalArgumentException("point: expected " + loss.specs().size() + " tensors, got " + point.size());
        }
        for (int i = 0; i < point.size(); i++) {
            if (!point.get(i).spec().equals(loss.specs().get(i))) {
                throw new IllegalArgumentException("point: " + loss.names().get(i) + " should be " + loss.specs().get(i) + ", got "
                        + point.get(i).spec());
            }
        }
        Batch first = batches.get(0);
        for (int b = 1; b < batches.size(); b++) {
            Batch other = batches.get(b);
            if (!other.x().spec().equals(first.x().spec()) || !other.y().spec().equals(first.y().spec())) {
                throw new IllegalArgumentException("batches: #" + b + " is " + other.x().spec() + " -> " + other.y().spec()
                        + " but #0 is " + first.x().spec() + " -> " + first.y().spec() + " (the loss is traced for one shape)");
            }
        }
        boolean[] all = new boolean[point.size()];
        java.util.Arrays.fill(all, true);
        return new Hessian(loss, List.copyOf(point), List.copyOf(batches), "all", all);
    }

    /**
     * The diagonal block of the named parameters: the Hessian of the loss as a function of those parameters
     * alone, the others held fixed. Vectors of the block are the parameters' coordinates; {@link #embed}
     * places them in the full layout.
     *
     * @throws IllegalArgumentException when a name is not a parameter or the list is empty
     */
    public Hessian restrict(String blockName, Collection<String> parameterNames) {
        if (parameterNames.isEmpty()) {
            throw new IllegalArgumentException("parameterNames: a block needs at least one parameter");
        }
        boolean[] in = new boolean[inside.length];
        for (String p : parameterNames) {
            int i = loss.names().indexOf(p);
            if (i < 0) {
                throw new IllegalArgumentException("parameterNames: no parameter '" + p + "' (there are " + loss.names() + ")");
            }
            in[i] = true;
        }
        return new Hessian(loss, point, batches, blockName, in);
    }

    /** "all", or the block's name. */
    public String name() {
        return name;
    }

    /** The parameters this Hessian differentiates twice, in layout order. */
    public List<String> parameters() {
        return parameters;
    }

    /** The number of parameters this Hessian differentiates twice: it is {@code dimension x dimension}. */
    public int dimension() {
        return dimension;
    }

    /** This Hessian as a symmetric operator on {@code R^dimension} ({@link #apply}), for the runtime's spectral methods. */
    public LinearOperator operator() {
        return LinearOperator.symmetric(dimension, this::apply);
    }

    /** Hessian-vector products computed so far (each one a product per batch). */
    public long products() {
        return products;
    }

    /** H v for v in this Hessian's coordinates (its parameters' values concatenated in layout order). */
    public double[] apply(double[] v) {
        if (v.length != dimension) {
            throw new IllegalArgumentException("v: expected " + dimension + " values, got " + v.length);
        }
        List<TensorSpec> specs = loss.specs();
        double[] full = embed(v).values();
        double[] sum = new double[full.length];
        try (Arena product = Arena.ofConfined()) {
            List<Tensor> dirs = new Weights(specs, full).tensors(product);
            for (Batch b : batches) {
                try (Arena step = Arena.ofConfined()) { // one batch's activations and tape at a time
                    List<Tensor> hv = loss.hvp(step, point, b.x(), b.y(), dirs);
                    int at = 0;
                    for (int i = 0; i < specs.size(); i++) {
                        int n = Math.toIntExact(specs.get(i).shape().size());
                        if (inside[i]) {
                            double[] part = hv.get(i).toDoubleArray();
                            for (int k = 0; k < n; k++) {
                                sum[at + k] += part[k];
                            }
                        }
                        at += n;
                    }
                }
            }
        }
        products++;
        double[] r = extract(sum);
        Vectors.scale(r, 1.0 / batches.size());
        return r;
    }

    /** This Hessian's coordinates placed in the full parameter layout, zeros elsewhere. */
    public Weights embed(double[] v) {
        List<TensorSpec> specs = loss.specs();
        double[] full = new double[Math.toIntExact(specs.stream().mapToLong(s -> s.shape().size()).sum())];
        int at = 0;
        int from = 0;
        for (int i = 0; i < specs.size(); i++) {
            int n = Math.toIntExact(specs.get(i).shape().size());
            if (inside[i]) {
                System.arraycopy(v, from, full, at, n);
                from += n;
            }
            at += n;
        }
        return new Weights(specs, full);
    }

    private double[] extract(double[] full) {
        double[] r = new double[dimension];
        int at = 0;
        int to = 0;
        for (int i = 0; i < inside.length; i++) {
            int n = Math.toIntExact(loss.specs().get(i).shape().size());
            if (inside[i]) {
                System.arraycopy(full, at, r, to, n);
                to += n;
            }
            at += n;
        }
        return r;
    }

    /**
     * The settings of every estimate.
     *
     * @param topK         eigenvalues to find
     * @param which        which end of the spectrum: largest magnitude (PyHessian's and the default), largest, or smallest
     * @param method       {@code LANCZOS} (the default: symmetric Lanczos to a relative residual of {@code tol}, or
     *                     {@code DENSE} when the dimension is at most {@code denseLimit}), {@code DENSE} (always write
     *                     the Hessian out: dimension products) or {@code POWER_ITERATION} (PyHessian's deflated power
     *                     iteration: largest magnitude only, stopping when the value changes by less than {@code tol}
     *                     relatively, then checked; see {@link DeflatedPowerIteration})
     * @param tol          the relative residual a value must reach to count as converged ({@code r <= tol |lambda|});
     *                     power iteration also stops on a relative change below it
     * @param maxIter      Lanczos' cap on steps (at least topK are taken), power iteration's cap on products per eigenvalue
     * @param denseLimit   {@code LANCZOS} writes the Hessian out (dimension products, exact) up to this dimension
     * @param trace        Hutchinson's stopping rule and interval, and the dimension up to which the trace is exact
     * @param slqRuns      SLQ's random starting vectors
     * @param slqSteps     Lanczos steps per run (capped at the dimension)
     * @param probe        SLQ's starting vectors (Hutchinson always uses Rademacher vectors)
     * @param sigmaSquared the density's Gaussian kernel variance relative to the spectrum's spread, see {@link SpectralDensity#smooth}
     * @param gridPoints   points of the density's grid
     * @param seed         seeds every random vector
     * @param progress     receives a line now and then during long runs
     */
    public record Options(int topK, Eigenpairs.Which which, SpectralMethod method, double tol, int maxIter, int denseLimit,
                          Hutchinson.Options trace, int slqRuns, int slqSteps, Probe probe, double sigmaSquared, int gridPoints, long seed,
                          Consumer<String> progress) {
        public Options {
            Objects.requireNonNull(which, "which");
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(trace, "trace");
            Objects.requireNonNull(probe, "probe");
            Objects.requireNonNull(progress, "progress");
            if (topK < 1 || maxIter < 1 || slqRuns < 1 || slqSteps < 1 || gridPoints < 2 || denseLimit < 0) {
                throw new IllegalArgumentException("options: need topK, maxIter, slqRuns, slqSteps >= 1, gridPoints >= 2, denseLimit >= 0;"
                        + " got " + topK + ", " + maxIter + ", " + slqRuns + ", " + slqSteps + ", " + gridPoints + ", " + denseLimit);
            }
            if (!(tol > 0 && tol < 1) || !(sigmaSquared > 0)) {
                throw new IllegalArgumentException("options: need tol in (0, 1) and sigmaSquared > 0; got " + tol + ", " + sigmaSquared);
            }
            if (method == SpectralMethod.POWER_ITERATION && which != Eigenpairs.Which.LARGEST_MAGNITUDE) {
                throw new IllegalArgumentException("options: power iteration finds the largest magnitudes only, not " + which.label());
            }
        }

        /**
         * Top 1 by magnitude by Lanczos to a relative residual of 1e-3 in at most 100 steps (dense up to dimension 100);
         * the trace exact up to dimension 200, else Hutchinson to a 95% interval of +-1% with 10 to 200 samples; one
         * SLQ run of 100 Rademacher steps, sigma^2 1e-5, 10000 grid points; seed 0; silent.
         */
        public static Options defaults() {
            return new Options(1, Eigenpairs.Which.LARGEST_MAGNITUDE, SpectralMethod.LANCZOS, 1e-3, 100, 100, Hutchinson.Options.defaults(),
                    1, 100, Probe.RADEMACHER, 1e-5, 10_000, 0, s -> { });
        }

        public Options withTopK(int k) {
            return new Options(k, which, method, tol, maxIter, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed,
                    progress);
        }

        public Options withWhich(Eigenpairs.Which w) {
            return new Options(topK, w, method, tol, maxIter, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed,
                    progress);
        }

        /** Lanczos (dense up to {@code denseLimit}) to relative residual t in at most {@code steps} steps. */
        public Options withLanczos(double t, int steps) {
            return new Options(topK, which, SpectralMethod.LANCZOS, t, steps, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared,
                    gridPoints, seed, progress);
        }

        /** PyHessian's deflated power iteration with its tolerance and cap on products per eigenvalue. */
        public Options withPower(double t, int cap) {
            return new Options(topK, Eigenpairs.Which.LARGEST_MAGNITUDE, SpectralMethod.POWER_ITERATION, t, cap, denseLimit, trace, slqRuns,
                    slqSteps, probe, sigmaSquared, gridPoints, seed, progress);
        }

        /** The exact path: write the Hessian out (dimension products) and decompose it. */
        public Options withDense() {
            return new Options(topK, which, SpectralMethod.DENSE, tol, maxIter, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared,
                    gridPoints, seed, progress);
        }

        public Options withDenseLimit(int limit) {
            return new Options(topK, which, method, tol, maxIter, limit, trace, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed,
                    progress);
        }

        /** Hutchinson's settings and the exact trace's limit. */
        public Options withTrace(Hutchinson.Options t) {
            return new Options(topK, which, method, tol, maxIter, denseLimit, t, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed,
                    progress);
        }

        /** SLQ's runs and steps. */
        public Options withSlq(int runs, int steps) {
            return new Options(topK, which, method, tol, maxIter, denseLimit, trace, runs, steps, probe, sigmaSquared, gridPoints, seed,
                    progress);
        }

        public Options withSeed(long s) {
            return new Options(topK, which, method, tol, maxIter, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, s,
                    progress);
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(topK, which, method, tol, maxIter, denseLimit, trace, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed,
                    p);
        }
    }

    /**
     * The {@code topK} eigenvalues {@code which} by the options' method, each with its residual
     * {@code ||H y - lambda y||} measured with Hessian-vector products (a bound on its distance to an eigenvalue
     * of H) and whether it met {@code tol}; vectors in this Hessian's coordinates ({@link #embed} places them in
     * the full layout). See {@link Lanczos#eigenpairs} and {@link DeflatedPowerIteration#run}.
     *
     * @throws IllegalArgumentException when topK exceeds the dimension, or the method is {@code DENSE} and the dimension
     *                                  exceeds {@link Lanczos#DENSE_MAX}
     */
    public Eigenpairs top(Options o) {
        if (o.method() == SpectralMethod.DENSE && dimension > Lanczos.DENSE_MAX) {
            throw new IllegalArgumentException("method: writing out " + dimension + " parameters exceeds the dense limit of "
                    + Lanczos.DENSE_MAX + "; use Lanczos");
        }
        Consumer<String> progress = tagged(o);
        return switch (o.method()) {
            case POWER_ITERATION -> DeflatedPowerIteration.run(operator(), o.topK(), o.tol(), o.maxIter(), o.seed(), progress);
            case LANCZOS, DENSE -> Lanczos.eigenpairs(operator(), o.topK(), o.which(), new Lanczos.Options(o.tol(),
                    Math.max(o.maxIter(), o.topK()), o.method() == SpectralMethod.DENSE ? dimension : o.denseLimit(), o.seed(), progress));
        };
    }

    /** The trace: exact (dimension products) up to {@code o.trace().exactLimit()}, else Hutchinson's estimate; see {@link Hutchinson}. */
    public TraceEstimate trace(Options o) {
        return Hutchinson.trace(operator(), o.trace(), o.seed(), tagged(o));
    }

    /** SLQ nodes and weights; smooth them with {@link SpectralDensity#smooth}. */
    public SpectralDensity density(Options o) {
        return SpectralDensity.slq(operator(), o.slqRuns(), o.slqSteps(), o.probe(), o.seed(), tagged(o));
    }

    /**
     * One block's figures.
     *
     * @param name       the block (a module prefix such as "0" or "layer1.0")
     * @param parameters its parameters
     * @param size       its number of scalars
     * @param top        its top eigenvalue (one, {@code which} of the options) with residual and convergence
     * @param trace      its trace, exact or estimated
     */
    public record Block(String name, List<String> parameters, int size, Eigenpairs top, TraceEstimate trace) {
        /** The top eigenvalue. */
        public double topValue() {
            return top.values()[0];
        }
    }

    /** The top eigenvalue and the trace of each block's diagonal Hessian block (topK of the options is ignored: 1). */
    public List<Block> blocks(Map<String, List<String>> groups, Options o) {
        List<Block> out = new ArrayList<>();
        for (var g : groups.entrySet()) {
            Hessian h = restrict(g.getKey(), g.getValue());
            Options bo = o.withTopK(1);
            out.add(new Block(g.getKey(), h.parameters(), h.dimension(), h.top(bo), h.trace(bo)));
        }
        return out;
    }

    /**
     * Parameter names grouped by the module that owns them: the name without its last component
     * ({@code 0.weight -> 0}, {@code layer1.0.conv1.weight -> layer1.0.conv1}), keeping at most
     * {@code depth} components ({@code depth = 2}: {@code layer1.0.conv1.weight -> layer1.0}); a name with
     * no dot is its own group. Groups keep the order in which their first parameter appears.
     *
     * @throws IllegalArgumentException when depth is below 1
     */
    public static Map<String, List<String>> modules(List<String> names, int depth) {
        if (depth < 1) {
            throw new IllegalArgumentException("depth must be at least 1, got " + depth);
        }
        Map<String, List<String>> groups = new LinkedHashMap<>();
        for (String n : names) {
            String[] parts = n.split("\\.");
            int keep = Math.min(depth, Math.max(1, parts.length - 1));
            String key = parts.length == 1 ? n : String.join(".", java.util.Arrays.copyOf(parts, keep));
            groups.computeIfAbsent(key, k -> new ArrayList<>()).add(n);
        }
        Map<String, List<String>> out = new LinkedHashMap<>();
        groups.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }

    /** {@link #modules(List, int)} with no depth limit: one group per module that owns parameters. */
    public static Map<String, List<String>> modules(List<String> names) {
        return modules(names, Integer.MAX_VALUE);
    }

    private Consumer<String> tagged(Options o) {
        return name.equals("all") ? o.progress() : s -> o.progress().accept("[" + name + "] " + s);
    }
}

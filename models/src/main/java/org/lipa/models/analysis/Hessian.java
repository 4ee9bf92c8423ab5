package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The Hessian of a module's loss with respect to its parameters, averaged over a fixed list of batches
 * ({@code H v = (1/B) sum_b H_b v}, as PyHessian's data-loader mode with equal batches), studied through
 * Hessian-vector products from {@link ParameterLoss#hvp}: top eigenvalues by power iteration with
 * deflation, the trace by Hutchinson, the eigenvalue density by stochastic Lanczos quadrature, and the same
 * for the diagonal block of one layer's parameters ({@link #restrict}).
 *
 * <pre>{@code
 * ParameterLoss f = ParameterLoss.of(cpu, mlp, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
 * Hessian h = Hessian.of(f, f.current(), List.of(new Hessian.Batch(x, y)));
 * Hessian.Options o = Hessian.Options.defaults().withTopK(3);
 * Hessian.Eigen top = h.top(o);                       // top.values()[0]: the largest |eigenvalue|
 * SymmetricSpectrum.TraceEstimate tr = h.trace(o);
 * HessianDensity.Curve d = h.density(o).smooth(o.sigmaSquared(), o.gridPoints());
 * List<Hessian.Block> layers = h.blocks(Hessian.modules(f.names()), o);
 * }</pre>
 *
 * <p>The point, the batches and their arenas must stay alive while the Hessian is used; each product runs in
 * its own confined arena. Not thread-safe (products run one at a time anyway).
 */
public final class Hessian implements SymmetricSpectrum.Operator {
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

    @Override
    public int dimension() {
        return dimension;
    }

    /** Hessian-vector products computed so far (each one a product per batch). */
    public long products() {
        return products;
    }

    /** H v for v in this Hessian's coordinates (its parameters' values concatenated in layout order). */
    @Override
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
        SymmetricSpectrum.scale(r, 1.0 / batches.size());
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
     * The settings of every estimate, PyHessian's defaults where it has them.
     *
     * @param topK         eigenvalues of largest magnitude to find
     * @param tol          power iteration stops when the eigenvalue changes by less than this, relatively
     * @param maxIter      power iteration's cap on products per eigenvalue
     * @param traceTol     Hutchinson stops when the running mean changes by less than this, relatively
     * @param traceMaxIter Hutchinson's cap on samples
     * @param slqRuns      SLQ's random starting vectors
     * @param slqSteps     Lanczos steps per run (capped at the dimension)
     * @param probe        SLQ's starting vectors (Hutchinson always uses Rademacher vectors)
     * @param sigmaSquared the density's Gaussian kernel variance relative to the spectrum's spread, see {@link HessianDensity#smooth}
     * @param gridPoints   points of the density's grid
     * @param seed         seeds every random vector
     * @param progress     receives a line now and then during long runs
     */
    public record Options(int topK, double tol, int maxIter, double traceTol, int traceMaxIter, int slqRuns, int slqSteps,
                          SymmetricSpectrum.Probe probe, double sigmaSquared, int gridPoints, long seed, Consumer<String> progress) {
        public Options {
            Objects.requireNonNull(probe, "probe");
            Objects.requireNonNull(progress, "progress");
            if (topK < 1 || maxIter < 1 || traceMaxIter < 2 || slqRuns < 1 || slqSteps < 1 || gridPoints < 2) {
                throw new IllegalArgumentException("options: need topK, maxIter, slqRuns, slqSteps >= 1, traceMaxIter, gridPoints >= 2; got "
                        + topK + ", " + maxIter + ", " + slqRuns + ", " + slqSteps + ", " + traceMaxIter + ", " + gridPoints);
            }
            if (!(tol >= 0) || !(traceTol >= 0) || !(sigmaSquared > 0)) {
                throw new IllegalArgumentException("options: need tol, traceTol >= 0 and sigmaSquared > 0; got " + tol + ", " + traceTol
                        + ", " + sigmaSquared);
            }
        }

        /** Top 1, tolerances 1e-3, caps 100, one SLQ run of 100 Rademacher steps, sigma^2 1e-5, 10000 grid points, seed 0, silent. */
        public static Options defaults() {
            return new Options(1, 1e-3, 100, 1e-3, 100, 1, 100, SymmetricSpectrum.Probe.RADEMACHER, 1e-5, 10_000, 0, s -> { });
        }

        public Options withTopK(int k) {
            return new Options(k, tol, maxIter, traceTol, traceMaxIter, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed, progress);
        }

        /** Power iteration's tolerance and cap. */
        public Options withPower(double t, int cap) {
            return new Options(topK, t, cap, traceTol, traceMaxIter, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed, progress);
        }

        /** Hutchinson's tolerance and cap. */
        public Options withTrace(double t, int cap) {
            return new Options(topK, tol, maxIter, t, cap, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed, progress);
        }

        /** SLQ's runs and steps. */
        public Options withSlq(int runs, int steps) {
            return new Options(topK, tol, maxIter, traceTol, traceMaxIter, runs, steps, probe, sigmaSquared, gridPoints, seed, progress);
        }

        public Options withSeed(long s) {
            return new Options(topK, tol, maxIter, traceTol, traceMaxIter, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, s, progress);
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(topK, tol, maxIter, traceTol, traceMaxIter, slqRuns, slqSteps, probe, sigmaSquared, gridPoints, seed, p);
        }
    }

    /**
     * @param values     eigenvalues in the order found, by decreasing magnitude (signed: a dominant negative one is negative)
     * @param vectors    unit eigenvectors in the full parameter layout (zero outside a block)
     * @param iterations Hessian-vector products spent on each
     * @param converged  whether each met the tolerance before the cap
     */
    public record Eigen(double[] values, List<Weights> vectors, int[] iterations, boolean[] converged) {
    }

    /** The {@code topK} eigenvalues of largest magnitude; see {@link SymmetricSpectrum#powerIteration}. */
    public Eigen top(Options o) {
        SymmetricSpectrum.Eigenpairs e = SymmetricSpectrum.powerIteration(this, o.topK(), o.tol(), o.maxIter(), o.seed(), tagged(o));
        List<Weights> vectors = new ArrayList<>();
        for (double[] v : e.vectors()) {
            vectors.add(embed(v));
        }
        return new Eigen(e.values(), List.copyOf(vectors), e.iterations(), e.converged());
    }

    /** The trace by Hutchinson's estimator; see {@link SymmetricSpectrum#hutchinson}. */
    public SymmetricSpectrum.TraceEstimate trace(Options o) {
        return SymmetricSpectrum.hutchinson(this, o.traceTol(), o.traceMaxIter(), o.seed(), tagged(o));
    }

    /** SLQ nodes and weights; smooth them with {@link HessianDensity#smooth}. */
    public HessianDensity density(Options o) {
        return HessianDensity.slq(this, o.slqRuns(), o.slqSteps(), o.probe(), o.seed(), tagged(o));
    }

    /**
     * One block's figures.
     *
     * @param name       the block (a module prefix such as "0" or "layer1.0")
     * @param parameters its parameters
     * @param size       its number of scalars
     * @param top        its eigenvalue of largest magnitude
     * @param iterations products spent on it
     * @param converged  whether power iteration met the tolerance
     * @param trace      its trace estimate
     */
    public record Block(String name, List<String> parameters, int size, double top, int iterations, boolean converged,
                        SymmetricSpectrum.TraceEstimate trace) {
    }

    /** The top eigenvalue and the trace of each block's diagonal Hessian block (topK of the options is ignored: 1). */
    public List<Block> blocks(Map<String, List<String>> groups, Options o) {
        List<Block> out = new ArrayList<>();
        for (var g : groups.entrySet()) {
            Hessian h = restrict(g.getKey(), g.getValue());
            Options bo = o.withTopK(1);
            Eigen e = h.top(bo);
            SymmetricSpectrum.TraceEstimate t = h.trace(bo);
            out.add(new Block(g.getKey(), h.parameters(), h.dimension(), e.values()[0], e.iterations()[0], e.converged()[0], t));
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

package org.lipa.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.lipa.autodiff.Autodiff;
import org.lipa.autodiff.Differentiable;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A Lipschitz report for a network: an upper bound from the layers and a certified lower bound from
 * the network itself, with the gap between them.
 *
 * <p>Upper: the product over layers of each layer's operator norm times its activation's Lipschitz
 * constant (1 for relu, tanh, sigmoid/4 ...), the naive bound. Lower: for any input x,
 * {@code L >= ||J(x)||}, so the largest local Jacobian norm found is a certified lower bound; it is
 * searched over a data set and then improved by gradient ascent on {@code ||J(x)|| = u^T J(x) v} (u, v
 * the top singular vectors at x; the gradient of that bilinear form is one reverse pass through a JVP).
 * Power iteration underestimates each local norm, so the bound stays certified.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Lipschitz {
    private Lipschitz() {
    }

    /**
     * A layer of the upper bound.
     *
     * @param name       for the report
     * @param operator   the layer's linear part
     * @param activation the Lipschitz constant of what follows it (1 for relu)
     */
    public record Layer(String name, LinearOperator operator, double activation) {
    }

    /** A layer's measured norm. */
    public record LayerNorm(String name, double norm, double activation, double residual) {
    }

    /**
     * @param layers       per-layer operator norms
     * @param upperBound   the product of layer norms and activation constants
     * @param datasetBest  the largest local Jacobian norm over the data set
     * @param lowerBound   the largest local Jacobian norm found (data set, then ascent)
     * @param worstInput   where the lower bound was found
     * @param ascentTrace  the local norm after each ascent step
     */
    public record Report(List<LayerNorm> layers, double upperBound, double datasetBest, double lowerBound, Tensor worstInput,
                         double[] ascentTrace) {
        /** Upper over lower: 1 when the naive bound is tight. */
        public double gap() {
            return upperBound / lowerBound;
        }
    }

    /** How hard to look: power-iteration tolerance and cap, ascent steps and step size (relative to ||x||). */
    public record Options(double tolerance, int maxIterations, int ascentSteps, double stepSize, long seed) {
        public static Options defaults() {
            return new Options(1e-6, 500, 20, 0.05, 42);
        }
    }

    /**
     * Measures the report for {@code net} (one input, one output) with the given layers and data set
     * points (each shaped like the network's input). Intermediate results live in {@code arena}.
     */
    public static Report measure(Arena arena, List<Layer> layers, Differentiable net, List<Tensor> data, Options o) {
        if (net.graph().inputs().size() != 1 || net.graph().outputs().size() != 1) {
            throw new IllegalArgumentException("the network must have one input and one output");
        }
        if (data.isEmpty()) {
            throw new IllegalArgumentException("the data set is empty: at least one point is needed for the lower bound");
        }
        List<LayerNorm> norms = new ArrayList<>();
        double upper = 1;
        for (Layer l : layers) {
            PowerIteration.Result r = PowerIteration.run(l.operator(), o.tolerance(), o.maxIterations(), o.seed());
            norms.add(new LayerNorm(l.name(), r.sigma(), l.activation(), r.residual()));
            upper *= r.sigma() * l.activation();
        }
        double best = -1;
        Tensor worst = null;
        for (Tensor x : data) {
            double s = local(arena, net, x, o).sigma();
            if (s > best) {
                best = s;
                worst = x;
            }
        }
        double datasetBest = best;
        Ascent ascent = new Ascent(net);
        double[] trace = new double[o.ascentSteps()];
        Tensor x = worst;
        for (int k = 0; k < o.ascentSteps(); k++) {
            try (Arena step = Arena.ofConfined()) {
                Local at = local(step, net, x, o);
                Tensor g = ascent.gradient(step, x, at);
                double gn = norm(g.toDoubleArray());
                double xn = Math.max(norm(x.toDoubleArray()), 1);
                double[] next = x.toDoubleArray();
                double[] gv = g.toDoubleArray();
                for (int i = 0; i < next.length; i++) {
                    next[i] += gn == 0 ? 0 : o.stepSize() * xn * gv[i] / gn;
                }
                x = Tensor.of(arena, x.dtype(), next, x.shape().toArray());
            }
            double s;
            try (Arena step = Arena.ofConfined()) {
                s = local(step, net, x, o).sigma();
            }
            trace[k] = s;
            if (s > best) {
                best = s;
                worst = x;
            }
        }
        return new Report(List.copyOf(norms), upper, datasetBest, best, worst, trace);
    }

    /** A local Jacobian norm with its top singular vectors: {@code J v = sigma u}. */
    public record Local(double sigma, Tensor u, Tensor v) {
    }

    /**
     * ||J(x)|| of {@code net} (one input, one output) by power iteration, with its singular vectors as tensors
     * allocated in {@code arena}.
     */
    public static Local local(Arena arena, Differentiable net, Tensor x, Options o) {
        LinearOperator jac = LinearOperator.jacobian(net, arena, List.of(x), 0, 0);
        PowerIteration.Result r = PowerIteration.run(jac, o.tolerance(), o.maxIterations(), o.seed());
        TensorSpec in = jac.domain();
        Tensor v = Tensor.of(arena, in.dtype(), r.v(), in.shape().toArray());
        Tensor av = jac.apply(arena, v);
        double[] u = av.toDoubleArray();
        double n = norm(u);
        for (int i = 0; i < u.length; i++) {
            u[i] = n == 0 ? 0 : u[i] / n;
        }
        return new Local(r.sigma(), Tensor.of(arena, av.dtype(), u, av.shape().toArray()), v);
    }

    /**
     * The gradient in x of {@code <u, J(x) v>}, which at the top singular pair is the gradient of ||J(x)||:
     * a reverse pass through the network's JVP, planned once. Searches for large local norms step along it.
     */
    public static final class Ascent {
        private final Executable grad;

        public Ascent(Differentiable net) {
            Graph jvp = Autodiff.jvp(net.graph());
            TensorSpec xs = net.graph().inputs().get(0).spec();
            TensorSpec ys = net.graph().outputs().get(0).spec();
            Graph bilinear = Graph.trace(List.of(xs, xs, ys), (ops, in) -> {
                List<Node> out = jvp.replay(ops, List.of(in.get(0), in.get(1)));
                return List.of(ops.sum(ops.mul(out.get(1), in.get(2)), false));
            });
            Graph g = Autodiff.grad(bilinear);
            this.grad = g.compile(net.backend());
        }

        /** d/dx {@code <at.u, J(x) at.v>}, allocated in {@code arena}. */
        public Tensor gradient(Arena arena, Tensor x, Local at) {
            return grad.run(arena, List.of(x, at.v(), at.u())).get(1);
        }
    }

    private static double norm(double[] a) {
        double s = 0;
        for (double v : a) {
            s += v * v;
        }
        return Math.sqrt(s);
    }
}

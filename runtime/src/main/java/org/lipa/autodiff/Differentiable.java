package org.lipa.autodiff;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.lipa.backend.Backend;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A traced function on a backend with its derivatives, JAX-style: {@link #jvp}, {@link #vjp} (a reusable
 * pullback), {@link #linearize} (a reusable linear map), {@link #grad}, {@link #hvp}, and full
 * Jacobians and Hessians for small problems. Each transformed graph is built and planned once, on
 * first use, and reused by every later call.
 *
 * <pre>{@code
 * Differentiable f = Differentiable.trace(cpu, List.of(x.spec()),
 *         (ops, in) -> List.of(ops.tanh(ops.matmul(in.get(0), ops.constant(w)))));
 * try (Arena step = Arena.ofConfined()) {
 *     Differentiable.Jvp r = f.jvp(step, List.of(x), List.of(v));   // f(x) and J v in one pass
 *     Differentiable.Pullback back = f.vjp(step, List.of(x));         // f(x); then u -> J^T u, many times
 *     Tensor jtu = back.apply(step, List.of(u)).get(0);
 * }
 * }</pre>
 *
 * <p>Thread safety: safe to share; calls may run concurrently when the backend allows it and each
 * has its own arena.
 */
public final class Differentiable {
    private final Graph graph;
    private final Backend backend;
    private Executable forward;
    private Executable jvp;
    private Graph vjp;
    private Graph jvpGraph;
    private Executable grad;
    private Executable hvp;

    private Differentiable(Graph graph, Backend backend) {
        this.graph = graph;
        this.backend = backend;
    }

    /** Traces {@code f} on inputs of the given specs, for {@code backend}. */
    public static Differentiable trace(Backend backend, List<TensorSpec> inputs, Graph.Function f) {
        return of(Graph.trace(inputs, f), backend);
    }

    /** Wraps a traced graph. */
    public static Differentiable of(Graph graph, Backend backend) {
        return new Differentiable(Objects.requireNonNull(graph, "graph"), Objects.requireNonNull(backend, "backend"));
    }

    public Graph graph() {
        return graph;
    }

    /** The backend the function runs on. */
    public Backend backend() {
        return backend;
    }

    /** The function's outputs. */
    public synchronized List<Tensor> apply(Arena arena, List<Tensor> x) {
        if (forward == null) {
            forward = graph.compile(backend);
        }
        return forward.run(arena, x);
    }

    /** Outputs and tangents of a forward-mode pass. */
    public record Jvp(List<Tensor> outputs, List<Tensor> tangents) {
    }

    /** f(x) and J v in one pass (one tangent per input, one result per output). */
    public Jvp jvp(Arena arena, List<Tensor> x, List<Tensor> v) {
        List<Tensor> in = new ArrayList<>(x);
        in.addAll(v);
        List<Tensor> out = jvpExecutable().run(arena, in);
        int m = graph.outputs().size();
        return new Jvp(out.subList(0, m), out.subList(m, 2 * m));
    }

    /** The reverse pass at a fixed point: the outputs, and {@code u -> J^T u} to call as often as needed. */
    public static final class Pullback {
        private final List<Tensor> outputs;
        private final Executable back;

        private Pullback(List<Tensor> outputs, Executable back) {
            this.outputs = outputs;
            this.back = back;
        }

        /** f(x). */
        public List<Tensor> outputs() {
            return outputs;
        }

        /** J^T u: one cotangent per output in, one per input out. Only the cotangent part runs. */
        public List<Tensor> apply(Arena arena, List<Tensor> u) {
            List<Tensor> r = back.run(arena, u);
            return r.subList(outputs.size(), r.size());
        }
    }

    /**
     * The forward pass at {@code x} (its results and residuals kept in {@code arena}) and the pullback.
     * {@code arena} and {@code x} must stay open while the pullback is used.
     */
    public Pullback vjp(Arena arena, List<Tensor> x) {
        Graph residual = vjpGraph().partial(x, backend, arena);
        Executable back = residual.compile(backend);
        // the primal outputs are constants of the residual graph: evaluate them without cotangents
        List<Tensor> all = back.run(arena, zeros(arena, graph.outputs()));
        return new Pullback(List.copyOf(all.subList(0, graph.outputs().size())), back);
    }

    /** The linearization at a point: {@code v -> J v}, reusing the forward pass. */
    public static final class Linearization {
        private final List<Tensor> outputs;
        private final Executable map;

        private Linearization(List<Tensor> outputs, Executable map) {
            this.outputs = outputs;
            this.map = map;
        }

        public List<Tensor> outputs() {
            return outputs;
        }

        /** J v: one tangent per input in, one per output out. */
        public List<Tensor> apply(Arena arena, List<Tensor> v) {
            List<Tensor> r = map.run(arena, v);
            return r.subList(outputs.size(), r.size());
        }
    }

    /** Linearizes at {@code x}; {@code arena} and {@code x} must stay open while the map is used. */
    public Linearization linearize(Arena arena, List<Tensor> x) {
        Graph residual = jvpGraph().partial(x, backend, arena);
        Executable map = residual.compile(backend);
        List<Tensor> all = map.run(arena, zeros(arena, graph.inputs()));
        return new Linearization(List.copyOf(all.subList(0, graph.outputs().size())), map);
    }

    /** The gradient of a scalar function with respect to every input. */
    public synchronized List<Tensor> grad(Arena arena, List<Tensor> x) {
        if (grad == null) {
            grad = Autodiff.grad(graph).compile(backend);
        }
        List<Tensor> r = grad.run(arena, x);
        return r.subList(1, r.size());
    }

    /** Hessian-vector products of a scalar function: H v, one per input. */
    public synchronized List<Tensor> hvp(Arena arena, List<Tensor> x, List<Tensor> v) {
        if (hvp == null) {
            hvp = Autodiff.hvp(graph).compile(backend);
        }
        List<Tensor> in = new ArrayList<>(x);
        in.addAll(v);
        List<Tensor> r = hvp.run(arena, in);
        return r.subList(x.size(), r.size());
    }

    /**
     * The Jacobian of output {@code out} with respect to input {@code in}, by columns (one JVP per input
     * element): a {@code [outputSize, inputSize]} f64 tensor. For small problems.
     */
    public Tensor jacfwd(Arena arena, List<Tensor> x, int out, int in) {
        Linearization lin = linearize(arena, x);
        TensorSpec is = graph.inputs().get(in).spec();
        int n = Math.toIntExact(is.shape().size());
        int m = Math.toIntExact(graph.outputs().get(out).spec().shape().size());
        double[] jac = new double[m * n];
        for (int j = 0; j < n; j++) {
            try (Arena step = Arena.ofConfined()) {
                List<Tensor> v = basis(step, graph.inputs().stream().map(nd -> nd.spec()).toList(), in, j);
                double[] col = lin.apply(step, v).get(out).toDoubleArray();
                for (int i = 0; i < m; i++) {
                    jac[i * n + j] = col[i];
                }
            }
        }
        return Tensor.of(arena, jac, m, n);
    }

    /** The same Jacobian by rows (one VJP per output element). */
    public Tensor jacrev(Arena arena, List<Tensor> x, int out, int in) {
        Pullback back = vjp(arena, x);
        int n = Math.toIntExact(graph.inputs().get(in).spec().shape().size());
        int m = Math.toIntExact(graph.outputs().get(out).spec().shape().size());
        double[] jac = new double[m * n];
        for (int i = 0; i < m; i++) {
            try (Arena step = Arena.ofConfined()) {
                List<Tensor> u = basis(step, graph.outputs().stream().map(nd -> nd.spec()).toList(), out, i);
                System.arraycopy(back.apply(step, u).get(in).toDoubleArray(), 0, jac, i * n, n);
            }
        }
        return Tensor.of(arena, jac, m, n);
    }

    /** The Hessian of a scalar function with respect to input {@code in}, by HVPs: {@code [n, n]} f64. */
    public Tensor hessian(Arena arena, List<Tensor> x, int in) {
        int n = Math.toIntExact(graph.inputs().get(in).spec().shape().size());
        double[] h = new double[n * n];
        for (int j = 0; j < n; j++) {
            try (Arena step = Arena.ofConfined()) {
                List<Tensor> v = basis(step, graph.inputs().stream().map(nd -> nd.spec()).toList(), in, j);
                System.arraycopy(hvp(step, x, v).get(in).toDoubleArray(), 0, h, j * n, n); // H is symmetric
            }
        }
        return Tensor.of(arena, h, n, n);
    }

    private static List<Tensor> zeros(Arena arena, List<org.lipa.graph.Node> like) {
        return like.stream().map(n -> Tensor.zeros(arena, n.spec().dtype(), n.spec().shape())).toList();
    }

    /** Zero tensors of the given specs, with a 1 at element {@code j} of tensor {@code which}. */
    private static List<Tensor> basis(Arena arena, List<TensorSpec> specs, int which, int j) {
        List<Tensor> out = new ArrayList<>();
        for (int k = 0; k < specs.size(); k++) {
            Tensor t = Tensor.zeros(arena, specs.get(k).dtype(), specs.get(k).shape());
            if (k == which) {
                double[] v = new double[Math.toIntExact(t.size())];
                v[j] = 1;
                t.copyFrom(v);
            }
            out.add(t);
        }
        return out;
    }

    private synchronized Executable jvpExecutable() {
        if (jvp == null) {
            jvp = jvpGraph().compile(backend);
        }
        return jvp;
    }

    private synchronized Graph jvpGraph() {
        if (jvpGraph == null) {
            jvpGraph = Autodiff.jvp(graph);
        }
        return jvpGraph;
    }

    private synchronized Graph vjpGraph() {
        if (vjp == null) {
            vjp = Autodiff.vjp(graph);
        }
        return vjp;
    }
}

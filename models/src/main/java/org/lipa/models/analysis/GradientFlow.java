package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.graph.Node;
import org.lipa.models.arch.Mlp;
import org.lipa.models.arch.ModuleInit;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.models.train.Trainer;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * How gradients flow through a deep {@link Mlp} at initialization: per layer, the norm of the loss gradient
 * with respect to the layer's weight and with respect to the hidden representation it produces (the
 * back-propagated signal that vanishes or explodes with depth), and the singular values of the deep part's
 * input-output Jacobian {@code dh_L / dh_0} ({@link JacobianSpectrum}, Pennington et al. 2017).
 *
 * <p>Parameters are inputs of the traced graphs, so one trace per architecture serves every initializer:
 * {@link #initialize} draws a new parameter list, {@link #gradients} and {@link #jacobian} evaluate at it. The
 * parameters are computed in the dtype of the batch ({@code f64} on the reference backend, {@code f32} on
 * oneDNN). Gradients use training mode (batch norm on batch statistics: what the first step of training sees);
 * the Jacobian uses evaluation mode, so that it is a map of one example (batch norm at initialization is then
 * the identity).
 *
 * <pre>{@code
 * GradientFlow.Network net = new GradientFlow.Network(784, 64, 32, 10, Activation.RELU, GradientFlow.Variant.PLAIN);
 * GradientFlow flow = GradientFlow.of(cpu, arena, net, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
 * List<Tensor> p = flow.initialize(arena, Init.Scheme.HE_NORMAL_IN, 1, 0);
 * GradientFlow.Profile g = flow.gradients(arena, p, x, y);        // g.signalRatio(): |dL/dh_0| / |dL/dh_L|
 * JacobianSpectrum s = flow.jacobian(arena, p, x, 4);              // s.meanSquared(), s.fractionWithin(0.5, 2)
 * }</pre>
 *
 * <p>Thread safety: the measuring methods may run on several threads at once, each with its own arena (the traced functions are shared and thread-safe); {@link #current} reads the module's parameters, which must not change meanwhile.
 */
public final class GradientFlow {
    /** Where each hidden block has a skip connection and which normalization comes first in it. */
    public enum Variant {
        PLAIN(false, Mlp.Norm.NONE), RESIDUAL(true, Mlp.Norm.NONE), NORM(false, Mlp.Norm.LAYER),
        RESIDUAL_NORM(true, Mlp.Norm.LAYER), BATCH_NORM(false, Mlp.Norm.BATCH), RESIDUAL_BATCH_NORM(true, Mlp.Norm.BATCH);

        private final boolean residual;
        private final Mlp.Norm norm;

        Variant(boolean residual, Mlp.Norm norm) {
            this.residual = residual;
            this.norm = norm;
        }

        public boolean residual() {
            return residual;
        }

        public Mlp.Norm norm() {
            return norm;
        }

        /** Lowercase with dashes, for file names and JSON ({@code residual-norm}). */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** An {@link Mlp} {@code in -> width (x depth blocks) -> out}. */
    public record Network(int in, int width, int depth, int out, Activation activation, Variant variant) {
        public Network {
            if (in <= 0 || width <= 0 || depth < 1 || out <= 0) {
                throw new IllegalArgumentException("network: in, width, out must be > 0 and depth >= 1, got " + in + ", " + width
                        + ", " + depth + ", " + out);
            }
        }

        /** The module, with PyTorch's default initialization (which {@link GradientFlow#initialize} replaces). */
        public Mlp build(Arena arena, long seed) {
            return new Mlp(arena, new Random(seed), in, width, depth, out, activation, variant.residual(), variant.norm());
        }
    }

    /**
     * Gradient norms at one parameter point on one batch.
     *
     * @param layers      the weights (rank-2 parameters named {@code weight}), input layer first and head last
     * @param weightNorms Frobenius norm of {@code dL/dW} for each of {@link #layers}
     * @param signalNorms Frobenius norm (over the batch) of {@code dL/dh_l}, for {@code h_0} (after the input layer
     *                    and its activation) and each block's output {@code h_1 .. h_depth}
     * @param loss        the loss
     */
    public record Profile(List<String> layers, double[] weightNorms, double[] signalNorms, double loss) {
        public Profile {
            layers = List.copyOf(layers);
            if (weightNorms.length != layers.size()) {
                throw new IllegalArgumentException("weightNorms: " + weightNorms.length + " values for " + layers.size() + " layers");
            }
        }

        /** The weight-gradient norms of the hidden blocks only (input layer and head left out: their shapes differ). */
        public double[] blockWeightNorms() {
            return java.util.Arrays.copyOfRange(weightNorms, 1, weightNorms.length - 1);
        }

        /** First hidden block's weight-gradient norm over the last one's. */
        public double weightRatio() {
            double[] b = blockWeightNorms();
            return b[0] / b[b.length - 1];
        }

        /** {@code |dL/dh_0| / |dL/dh_depth|}: below 1 the signal vanishes on its way down, above 1 it explodes. */
        public double signalRatio() {
            return signalNorms[0] / signalNorms[signalNorms.length - 1];
        }

        /** Largest over smallest of {@link #blockWeightNorms()}: how far apart the layers' gradients are. */
        public double weightSpread() {
            return spread(blockWeightNorms());
        }

        /** Largest over smallest of {@link #signalNorms()}. */
        public double signalSpread() {
            return spread(signalNorms);
        }

        private static double spread(double[] v) {
            double lo = Double.POSITIVE_INFINITY;
            double hi = 0;
            for (double d : v) {
                lo = Math.min(lo, d);
                hi = Math.max(hi, d);
            }
            return hi / lo;
        }
    }

    private final Network network;
    private final Mlp module;
    private final List<String> names;
    private final List<String> weightNames;
    private final Differentiable loss;
    private final Differentiable deep;
    private final DType dtype;
    private final int batch;

    private GradientFlow(Network network, Mlp module, List<String> names, List<String> weightNames, Differentiable loss,
            Differentiable deep, DType dtype, int batch) {
        this.network = network;
        this.module = module;
        this.names = names;
        this.weightNames = weightNames;
        this.loss = loss;
        this.deep = deep;
        this.dtype = dtype;
        this.batch = batch;
    }

    /**
     * Builds the network (its tensors in {@code arena}) and traces its loss and its deep part for batches of the given
     * specs; the parameters take the input's dtype.
     */
    public static GradientFlow of(Backend backend, Arena arena, Network network, TensorSpec input, TensorSpec target,
            Trainer.Loss loss) {
        if (input.shape().rank() != 2 || input.shape().dim(1) != network.in()) {
            throw new IllegalArgumentException("input: expected [batch, " + network.in() + "], got " + input.shape());
        }
        Mlp m = network.build(arena, 0);
        List<String> names = List.copyOf(m.parameters().keySet());
        List<String> weightNames = new ArrayList<>();
        List<TensorSpec> specs = new ArrayList<>();
        m.parameters().forEach((name, t) -> {
            specs.add(new TensorSpec(t.shape(), input.dtype()));
            if (t.rank() >= 2 && (name.equals("weight") || name.endsWith(".weight"))) {
                weightNames.add(name);
            }
        });
        int b = Math.toIntExact(input.shape().dim(0));
        int w = network.width();
        int p = names.size();
        // buffers (batch norm's running statistics) are constants of the graphs, in the compute dtype
        Map<String, Tensor> buffers = new LinkedHashMap<>();
        m.buffers().forEach((name, t) -> buffers.put(name, t.dtype() == input.dtype() ? t : t.to(arena, input.dtype())));

        // the loss, with a zero probe added to every hidden representation: its gradient is dL/dh_l
        List<TensorSpec> in = new ArrayList<>(specs);
        in.add(input);
        in.add(target);
        for (int l = 0; l <= network.depth(); l++) {
            in.add(new TensorSpec(Shape.of(b, w), input.dtype()));
        }
        m.train(true);
        Differentiable lossFn = Differentiable.trace(backend, in, (ops, nodes) -> {
            Map<String, Node> s = state(ops, names, nodes, buffers);
            List<Node> probes = nodes.subList(p + 2, nodes.size());
            Node h = hidden(ops, network, m, s, nodes.get(p), probes);
            return List.of(loss.apply(ops, head(ops, m, s, h), nodes.get(p + 1)));
        });

        // the deep part h_0 -> h_L, for `width` copies of one example at once: the tangent I of the extra input t
        // pushes all basis vectors through in one JVP
        List<TensorSpec> jin = new ArrayList<>(specs);
        jin.add(new TensorSpec(Shape.of(w, network.in()), input.dtype()));
        jin.add(new TensorSpec(Shape.of(w, w), input.dtype()));
        m.train(false);
        Differentiable deepFn = Differentiable.trace(backend, jin, (ops, nodes) -> {
            Map<String, Node> s = state(ops, names, nodes, buffers);
            List<Node> probes = new ArrayList<>();
            probes.add(nodes.get(p + 1));
            return List.of(hidden(ops, network, m, s, nodes.get(p), probes));
        });
        return new GradientFlow(network, m, names, List.copyOf(weightNames), lossFn, deepFn, input.dtype(), b);
    }

    public Network network() {
        return network;
    }

    /** The module whose parameters {@link #initialize} redraws. */
    public Mlp module() {
        return module;
    }

    /** The weights whose gradients {@link Profile#weightNorms()} holds, in order. */
    public List<String> weightNames() {
        return weightNames;
    }

    /**
     * Redraws every weight of the module from {@code scheme} times {@code gain}, zeroes the biases (normalization
     * layers keep weight 1, bias 0) and returns the parameters in the batch's dtype, allocated in {@code arena}.
     */
    public List<Tensor> initialize(Arena arena, Init.Scheme scheme, double gain, long seed) {
        if (!(gain > 0) || !Double.isFinite(gain)) {
            throw new IllegalArgumentException("gain must be finite and > 0, got " + gain);
        }
        ModuleInit.reinitialize(module, scheme, new Random(seed));
        List<Tensor> out = new ArrayList<>();
        module.parameters().forEach((name, t) -> {
            double[] v = t.toDoubleArray();
            if (weightNames.contains(name)) {
                for (int i = 0; i < v.length; i++) {
                    v[i] *= gain;
                }
            }
            out.add(Tensor.of(arena, dtype, v, t.shape().toArray()));
        });
        return out;
    }

    /** The module's current parameters in the batch's dtype. */
    public List<Tensor> current(Arena arena) {
        return module.parameters().values().stream().map(t -> t.to(arena, dtype)).toList();
    }

    /** Gradient norms per layer at {@code params} on the batch {@code (x, y)}. */
    public Profile gradients(Arena arena, List<Tensor> params, Tensor x, Tensor y) {
        check(params);
        if (x.shape().dim(0) != batch) {
            throw new IllegalArgumentException("x: traced for batches of " + batch + ", got " + x.shape());
        }
        List<Tensor> in = new ArrayList<>(params);
        in.add(x);
        in.add(y);
        for (int l = 0; l <= network.depth(); l++) {
            in.add(Tensor.zeros(arena, dtype, batch, network.width()));
        }
        double value = loss.apply(arena, in).get(0).toDoubleArray()[0];
        List<Tensor> g = loss.grad(arena, in);
        double[] weights = new double[weightNames.size()];
        for (int i = 0; i < weightNames.size(); i++) {
            weights[i] = norm(g.get(names.indexOf(weightNames.get(i))));
        }
        double[] signal = new double[network.depth() + 1];
        for (int l = 0; l <= network.depth(); l++) {
            signal[l] = norm(g.get(params.size() + 2 + l));
        }
        return new Profile(weightNames, weights, signal, value);
    }

    /**
     * The singular values of {@code dh_depth / dh_0} at each of the first {@code examples} rows of {@code x}: a
     * {@code width x width} Jacobian per example, formed densely by one JVP and decomposed by
     * {@link org.lipa.analysis.Dense#singularValues}.
     */
    public JacobianSpectrum jacobian(Arena arena, List<Tensor> params, Tensor x, int examples) {
        check(params);
        if (examples < 1 || examples > x.shape().dim(0)) {
            throw new IllegalArgumentException("examples must be in [1, " + x.shape().dim(0) + "], got " + examples);
        }
        int w = network.width();
        int n = network.in();
        double[] xs = x.toDoubleArray();
        double[] eye = new double[w * w];
        for (int i = 0; i < w; i++) {
            eye[i * w + i] = 1;
        }
        List<double[]> sigma = new ArrayList<>();
        for (int e = 0; e < examples; e++) {
            try (Arena step = Arena.ofConfined()) {
                double[] copies = new double[w * n];
                for (int i = 0; i < w; i++) {
                    System.arraycopy(xs, e * n, copies, i * n, n);
                }
                List<Tensor> in = new ArrayList<>(params);
                in.add(Tensor.of(step, dtype, copies, w, n));
                in.add(Tensor.zeros(step, dtype, w, w));
                List<Tensor> dirs = new ArrayList<>();
                for (Tensor t : params) {
                    dirs.add(Tensor.zeros(step, dtype, t.shape()));
                }
                dirs.add(Tensor.zeros(step, dtype, w, n));
                dirs.add(Tensor.of(step, dtype, eye, w, w));
                // row i of the tangent is J e_i: the tangent is J^T, which has J's singular values
                double[] jt = deep.jvp(step, in, dirs).tangents().get(0).toDoubleArray();
                sigma.add(JacobianSpectrum.singularValues(jt, w, w));
            }
        }
        return new JacobianSpectrum(sigma);
    }

    private void check(List<Tensor> params) {
        if (params.size() != names.size()) {
            throw new IllegalArgumentException("params: expected " + names.size() + " tensors, got " + params.size());
        }
    }

    private static double norm(Tensor t) {
        double s = 0;
        for (double v : t.toDoubleArray()) {
            s += v * v;
        }
        return Math.sqrt(s);
    }

    /** Parameters from the graph's inputs, buffers as constants. */
    private static Map<String, Node> state(Ops<Node> ops, List<String> names, List<Node> nodes, Map<String, Tensor> buffers) {
        Map<String, Node> s = new LinkedHashMap<>();
        for (int i = 0; i < names.size(); i++) {
            s.put(names.get(i), nodes.get(i));
        }
        buffers.forEach((name, t) -> s.put(name, ops.constant(t)));
        return s;
    }

    /** {@code h_depth}, with {@code probes.get(l)} added to {@code h_l} (for l below {@code probes.size()}). */
    private static Node hidden(Ops<Node> ops, Network network, Mlp m, Map<String, Node> s, Node x, List<Node> probes) {
        Node h = network.activation().forward(ops, sub(s, "input."), child(m, "input").forward(ops, sub(s, "input."), x));
        h = ops.add(h, probes.get(0));
        List<Module> blocks = ((Sequential) child(m, "blocks")).modules();
        for (int l = 0; l < blocks.size(); l++) {
            h = blocks.get(l).forward(ops, sub(s, "blocks." + l + "."), h);
            if (l + 1 < probes.size()) {
                h = ops.add(h, probes.get(l + 1));
            }
        }
        return h;
    }

    private static Node head(Ops<Node> ops, Mlp m, Map<String, Node> s, Node h) {
        return child(m, "head").forward(ops, sub(s, "head."), h);
    }

    private static Module child(Mlp m, String name) {
        return m.named().get(name);
    }

    /** The entries of {@code s} under {@code prefix}, with the prefix removed (what a container hands its child). */
    private static Map<String, Node> sub(Map<String, Node> s, String prefix) {
        Map<String, Node> r = new LinkedHashMap<>();
        s.forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                r.put(k.substring(prefix.length()), v);
            }
        });
        return r;
    }
}

package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.models.nn.Module;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A module's loss on a batch as a function of its parameters: the object the Hessian and loss-landscape
 * analyses study. The module runs in evaluation mode (batch norm on its running statistics, no dropout),
 * so the function is deterministic and its buffers are constants; inputs are the parameters in
 * {@link Module#parameters()} order followed by the batch's inputs and targets, and the output is the
 * scalar loss. Gradients and Hessian-vector products come from {@link #function()}.
 *
 * <pre>{@code
 * ParameterLoss f = ParameterLoss.of(cpu, mlp, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
 * double l = f.loss(arena, f.current(), x, y);
 * List<Tensor> hv = f.hvp(arena, f.current(), x, y, v);    // H v, one tensor per parameter
 * }</pre>
 *
 * <p>Thread-safe: each call has its own arena; the module is only read.
 */
public final class ParameterLoss {
    private final Module module;
    private final List<String> names;
    private final List<TensorSpec> specs;
    private final Differentiable function;

    private ParameterLoss(Module module, List<String> names, List<TensorSpec> specs, Differentiable function) {
        this.module = module;
        this.names = names;
        this.specs = specs;
        this.function = function;
    }

    /** Traces the loss of {@code module} (switched to evaluation mode for the trace) for batches of the given specs. */
    public static ParameterLoss of(Backend backend, Module module, TensorSpec input, TensorSpec target, Trainer.Loss loss) {
        Map<String, Tensor> params = module.parameters();
        if (params.isEmpty()) {
            throw new IllegalArgumentException("module has no parameters: nothing to study");
        }
        List<String> names = List.copyOf(params.keySet());
        List<TensorSpec> specs = params.values().stream().map(Tensor::spec).toList();
        List<TensorSpec> in = new ArrayList<>(specs);
        in.add(input);
        in.add(target);
        Map<String, Tensor> buffers = module.buffers();
        module.train(false);
        Graph g = Graph.trace(in, (ops, nodes) -> {
            Map<String, Node> state = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                state.put(names.get(i), nodes.get(i));
            }
            buffers.forEach((name, t) -> state.put(name, ops.constant(t)));
            return List.of(loss.apply(ops, module.forward(ops, state, nodes.get(names.size())), nodes.get(names.size() + 1)));
        });
        return new ParameterLoss(module, names, specs, Differentiable.of(g, backend));
    }

    /** Parameter names, in input order. */
    public List<String> names() {
        return names;
    }

    /** Parameter shapes and dtypes, in input order. */
    public List<TensorSpec> specs() {
        return specs;
    }

    /** The module's own parameters now, in input order (views of the live tensors, not copies). */
    public List<Tensor> current() {
        Map<String, Tensor> p = module.parameters();
        return names.stream().map(p::get).toList();
    }

    /** The traced function: inputs {@code (params..., x, y)}, output the loss. */
    public Differentiable function() {
        return function;
    }

    /** The loss at {@code params} on the batch. */
    public double loss(Arena arena, List<Tensor> params, Tensor x, Tensor y) {
        return function.apply(arena, inputs(params, x, y)).get(0).toDoubleArray()[0];
    }

    /** The gradient with respect to each parameter. */
    public List<Tensor> grad(Arena arena, List<Tensor> params, Tensor x, Tensor y) {
        return function.grad(arena, inputs(params, x, y)).subList(0, params.size());
    }

    /** The Hessian (with respect to the parameters) times {@code v}, one tensor per parameter. */
    public List<Tensor> hvp(Arena arena, List<Tensor> params, Tensor x, Tensor y, List<Tensor> v) {
        List<Tensor> dirs = new ArrayList<>(v);
        dirs.add(Tensor.zeros(arena, x.dtype(), x.shape()));
        dirs.add(Tensor.zeros(arena, y.dtype(), y.shape()));
        return function.hvp(arena, inputs(params, x, y), dirs).subList(0, params.size());
    }

    private List<Tensor> inputs(List<Tensor> params, Tensor x, Tensor y) {
        if (params.size() != names.size()) {
            throw new IllegalArgumentException("params: expected " + names.size() + " tensors, got " + params.size());
        }
        for (int i = 0; i < params.size(); i++) {
            if (!params.get(i).spec().equals(specs.get(i))) {
                throw new IllegalArgumentException("params: " + names.get(i) + " should be " + specs.get(i) + ", got " + params.get(i).spec());
            }
        }
        List<Tensor> in = new ArrayList<>(params);
        in.add(x);
        in.add(y);
        return in;
    }
}

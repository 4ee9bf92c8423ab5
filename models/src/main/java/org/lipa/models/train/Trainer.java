package org.lipa.models.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.autodiff.Autodiff;
import org.lipa.backend.Backend;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.models.nn.Module;
import org.lipa.models.optim.Optimizer;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Supervised training steps: the loss of a module on a batch, traced once with the parameters as
 * inputs, differentiated into one graph that returns the loss and every parameter's gradient, planned
 * for the backend, and run once per step; the optimizer then updates the parameters in place.
 *
 * <pre>{@code
 * Trainer t = new Trainer(cpu, mlp, xSpec, ySpec, (ops, pred, target) -> ops.crossEntropy(pred, target),
 *         Optimizer.adam(List.copyOf(mlp.parameters().values()), modelArena, 1e-3, 0.9, 0.999, 1e-8, 0));
 * double loss = t.step(x, y);
 * }</pre>
 */
public final class Trainer {
    /** A loss of a prediction against a target, as a scalar, written while tracing. */
    @FunctionalInterface
    public interface Loss {
        Node apply(Ops<Node> ops, Node prediction, Node target);
    }

    private final Module module;
    private final Optimizer optimizer;
    private final Executable step;
    private final List<Tensor> params;

    public Trainer(Backend backend, Module module, TensorSpec input, TensorSpec target, Loss loss, Optimizer optimizer) {
        this.module = module;
        this.optimizer = optimizer;
        this.params = List.copyOf(module.parameters().values());
        List<String> names = List.copyOf(module.parameters().keySet());
        List<TensorSpec> specs = new ArrayList<>(List.of(input, target));
        params.forEach(p -> specs.add(p.spec()));
        Graph g = Graph.trace(specs, (ops, in) -> {
            Map<String, Node> bound = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                bound.put(names.get(i), in.get(2 + i));
            }
            return List.of(loss.apply(ops, module.forward(ops, bound, in.get(0)), in.get(1)));
        });
        Graph grad = Autodiff.grad(g);
        // keep the loss and the parameters' gradients: the data's gradients are then dead code and never run
        Graph lossAndParams = Graph.trace(specs, (ops, in) -> {
            List<Node> r = grad.replay(ops, in);
            List<Node> kept = new ArrayList<>(List.of(r.get(0)));
            kept.addAll(r.subList(3, r.size()));
            return kept;
        });
        this.step = lossAndParams.compile(backend);
    }

    public Module module() {
        return module;
    }

    /** One step on a batch: returns the loss before the update. */
    public double step(Tensor x, Tensor y) {
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> in = new ArrayList<>(List.of(x, y));
            in.addAll(params);
            List<Tensor> out = step.run(arena, in);
            double loss = out.get(0).item();
            optimizer.step(out.subList(1, out.size()));
            return loss;
        }
    }
}

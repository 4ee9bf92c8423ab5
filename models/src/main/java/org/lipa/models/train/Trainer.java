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
import org.lipa.ops.ViewOp;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Supervised training steps: the loss of a module (in training mode) on a batch, traced once with the
 * parameters and buffers as inputs, differentiated into one graph that returns the loss, the buffers'
 * new values (running statistics, random keys) and every parameter's gradient, planned for the backend
 * and run once per step; the optimizer then updates the parameters in place and the buffers are stored.
 *
 * <p>Not thread-safe: a step updates the module's tensors.
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
    private final List<Tensor> buffers;
    /** The buffers the forward pass updates, in output order. */
    private final List<Tensor> updated = new ArrayList<>();

    public Trainer(Backend backend, Module module, TensorSpec input, TensorSpec target, Loss loss, Optimizer optimizer) {
        this.module = module.train(true);
        this.optimizer = optimizer;
        this.params = List.copyOf(module.parameters().values());
        this.buffers = List.copyOf(module.buffers().values());
        List<String> names = new ArrayList<>(module.parameters().keySet());
        names.addAll(module.buffers().keySet());
        List<TensorSpec> specs = new ArrayList<>(List.of(input, target));
        params.forEach(p -> specs.add(p.spec()));
        buffers.forEach(b -> specs.add(b.spec()));
        int nb = buffers.size();
        Graph g = Graph.trace(specs, (ops, in) -> {
            Map<String, Node> state = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                state.put(names.get(i), in.get(2 + i));
            }
            List<Node> out = new ArrayList<>();
            out.add(loss.apply(ops, module.forward(ops, state, in.get(0)), in.get(1)));
            List<String> bufferNames = names.subList(params.size(), names.size());
            for (int i = 0; i < nb; i++) {
                Node now = state.get(bufferNames.get(i));
                if (now != in.get(2 + params.size() + i)) {
                    out.add(now);
                    updated.add(buffers.get(i));
                }
            }
            return out;
        });
        Graph grad = Autodiff.gradWithAux(g);
        int aux = updated.size();
        // keep the loss, the new buffers and the parameters' gradients: the data's and the buffers' gradients
        // are then dead code and never run
        Graph kept = Graph.trace(specs, (ops, in) -> {
            List<Node> r = grad.replay(ops, in);
            List<Node> out = new ArrayList<>(r.subList(0, 1 + aux));
            for (Node gradient : r.subList(1 + aux + 2, 1 + aux + 2 + params.size())) {
                // a view (a linear layer's weight gradient is a transposed product) becomes contiguous in the graph:
                // a oneDNN reorder, where the optimizer's flat read of a strided view costs several times more
                boolean view = gradient.producer() != null && gradient.producer().op() instanceof ViewOp;
                out.add(view ? ops.contiguous(gradient) : gradient);
            }
            return out;
        });
        this.step = kept.compile(backend);
    }

    public Module module() {
        return module;
    }

    /** One step on a batch: returns the loss before the update. */
    public double step(Tensor x, Tensor y) {
        // shared, so that the optimizer may update large parameters from their gradients on both cores
        // (1.99 against 2.24 ms per MLP step; closing it costs a handshake, a few microseconds here)
        try (Arena arena = Arena.ofShared()) {
            List<Tensor> in = new ArrayList<>(List.of(x, y));
            in.addAll(params);
            in.addAll(buffers);
            List<Tensor> out = step.run(arena, in);
            double loss = out.get(0).item();
            for (int i = 0; i < updated.size(); i++) {
                updated.get(i).copyFrom(out.get(1 + i));
            }
            optimizer.step(out.subList(1 + updated.size(), out.size()));
            return loss;
        }
    }
}

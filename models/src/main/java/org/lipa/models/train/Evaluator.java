package org.lipa.models.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.backend.Backend;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.models.data.Dataset;
import org.lipa.models.nn.Module;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A module's forward pass in evaluation mode, traced once for a batch shape and planned, with the
 * module's current parameters and buffers passed on each run (so it follows training without retracing).
 * Classification accuracy over a data set comes with it.
 *
 * <p>Thread-safe while the module's tensors are not being updated: each run has its own arena.
 */
public final class Evaluator {
    private final Module module;
    private final Executable forward;
    private final List<Tensor> state;
    private final int batch;
    private final long[] inputDims;

    public Evaluator(Backend backend, Module module, TensorSpec input) {
        this.module = module;
        this.batch = Math.toIntExact(input.shape().dim(0));
        this.inputDims = input.shape().toArray();
        Map<String, Tensor> s = module.state();
        this.state = List.copyOf(s.values());
        List<String> names = List.copyOf(s.keySet());
        List<TensorSpec> specs = new ArrayList<>(List.of(input));
        state.forEach(t -> specs.add(t.spec()));
        module.train(false);
        try {
            Graph g = Graph.trace(specs, (ops, in) -> {
                Map<String, Node> bound = new LinkedHashMap<>();
                for (int i = 0; i < names.size(); i++) {
                    bound.put(names.get(i), in.get(1 + i));
                }
                return List.of(module.forward(ops, bound, in.get(0)));
            });
            this.forward = g.compile(backend);
        } finally {
            module.train(true);
        }
    }

    /** The module's output for {@code x}, a batch of the traced shape, allocated in {@code arena}. */
    public Tensor apply(Arena arena, Tensor x) {
        List<Tensor> in = new ArrayList<>(List.of(x));
        in.addAll(state);
        return forward.run(arena, in).get(0);
    }

    /**
     * The fraction of {@code data}'s examples whose largest output is their label; a last partial batch is
     * evaluated too. Each example is viewed in the traced input's shape ({@code [784]} as {@code [1, 28, 28]}).
     */
    public double accuracy(Dataset data) {
        int[] order = new int[data.size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        long correct = 0;
        for (int from = 0; from < order.length; from += batch) {
            int n = Math.min(batch, order.length - from);
            try (Arena arena = Arena.ofConfined()) {
                // a partial last batch is padded by repeating its first example; only its n rows are scored
                int[] idx = new int[batch];
                for (int i = 0; i < batch; i++) {
                    idx[i] = order[from + (i < n ? i : 0)];
                }
                Tensor[] xy = data.batch(arena, idx, 0, batch);
                double[] logits = apply(arena, xy[0].reshape(inputDims)).toDoubleArray();
                int classes = logits.length / batch;
                for (int i = 0; i < n; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) {
                        if (logits[i * classes + c] > logits[i * classes + best]) {
                            best = c;
                        }
                    }
                    if (best == data.labels()[idx[i]]) {
                        correct++;
                    }
                }
            }
        }
        return (double) correct / data.size();
    }

    public Module module() {
        return module;
    }
}

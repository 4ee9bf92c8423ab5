package org.lipa.models.analysis;

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
import org.lipa.models.data.Dataset;
import org.lipa.models.nn.Module;
import org.lipa.models.train.Trainer;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The loss (and, for a classifier, the accuracy) of a module's parameters on a fixed evaluation set of a
 * few batches of one shape, in evaluation mode: the function every landscape plot samples. Values at any
 * point come from one traced graph returning the loss and the prediction; gradients come from
 * {@link ParameterLoss}. The module's buffers (batch-norm running statistics) are the constants they
 * were when this was built: a landscape moves the parameters only.
 *
 * <pre>{@code
 * Evaluation eval = Evaluation.classifier(cpu, arena, mlp, data.test(), 256, 4, 784);
 * Evaluation.Point p = eval.at(eval.current());     // mean loss and accuracy over 1024 examples
 * Weights g = eval.gradient(eval.current(), 0).gradient();     // on the first batch
 * }</pre>
 *
 * <p>Thread safety: {@link #at} and {@link #gradient} may be called from several threads at once: each call has its own arena, the traced graphs are shared and thread-safe, the gradient graph is made once under a lock; the batches and the module's buffers must not change meanwhile.
 */
public final class Evaluation {
    /** Mean loss over the evaluation set and the fraction classified right ({@code NaN} when not a classifier). */
    public record Point(double loss, double accuracy) {
    }

    private final ParameterLoss loss;
    private final Executable values;
    private final List<Tensor[]> batches;
    private final boolean classifier;
    private Executable grad;

    private Evaluation(ParameterLoss loss, Executable values, List<Tensor[]> batches, boolean classifier) {
        this.loss = loss;
        this.values = values;
        this.batches = batches;
        this.classifier = classifier;
    }

    /**
     * The loss of {@code module} on {@code batches} (pairs {x, y} of one shape, owned by the caller and kept
     * open while this is used). A classifier's accuracy counts the rows whose largest prediction is at the
     * target row's largest entry (one-hot targets).
     */
    public static Evaluation of(Backend backend, Module module, List<Tensor[]> batches, Trainer.Loss lossFn, boolean classifier) {
        if (batches.isEmpty()) {
            throw new IllegalArgumentException("batches: at least one is needed");
        }
        TensorSpec x = batches.get(0)[0].spec();
        TensorSpec y = batches.get(0)[1].spec();
        for (int b = 0; b < batches.size(); b++) {
            if (!batches.get(b)[0].spec().equals(x) || !batches.get(b)[1].spec().equals(y)) {
                throw new IllegalArgumentException("batches: #" + b + " is " + batches.get(b)[0].spec() + ", "
                        + batches.get(b)[1].spec() + "; the first is " + x + ", " + y);
            }
        }
        ParameterLoss pl = ParameterLoss.of(backend, module, x, y, lossFn);
        List<String> names = pl.names();
        Map<String, Tensor> buffers = module.buffers();
        List<TensorSpec> in = new ArrayList<>(pl.specs());
        in.add(x);
        in.add(y);
        Graph g = Graph.trace(in, (ops, nodes) -> {
            Map<String, Node> state = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                state.put(names.get(i), nodes.get(i));
            }
            buffers.forEach((name, t) -> state.put(name, ops.constant(t)));
            Node prediction = module.forward(ops, state, nodes.get(names.size()));
            Node l = lossFn.apply(ops, prediction, nodes.get(names.size() + 1));
            return classifier ? List.of(l, prediction) : List.of(l);
        });
        return new Evaluation(pl, g.compile(backend), List.copyOf(batches), classifier);
    }

    /**
     * A classifier with cross-entropy on the first {@code count * batch} examples of {@code data} (in their
     * stored order, so the set is the same on every call), each example viewed as {@code exampleDims}.
     */
    public static Evaluation classifier(Backend backend, Arena arena, Module module, Dataset data, int batch, int count,
            long... exampleDims) {
        return of(backend, module, batches(arena, data, batch, count, exampleDims), (ops, p, t) -> ops.crossEntropy(p, t), true);
    }

    /** {@code count} batches of {@code batch} examples of {@code data} in stored order, allocated in {@code arena}. */
    public static List<Tensor[]> batches(Arena arena, Dataset data, int batch, int count, long... exampleDims) {
        if (batch <= 0 || count <= 0 || (long) batch * count > data.size()) {
            throw new IllegalArgumentException("batch * count must be in [1, " + data.size() + "], got " + batch + " * " + count);
        }
        long[] dims = new long[exampleDims.length + 1];
        dims[0] = batch;
        System.arraycopy(exampleDims, 0, dims, 1, exampleDims.length);
        int[] order = new int[batch * count];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        List<Tensor[]> out = new ArrayList<>();
        for (int b = 0; b < count; b++) {
            Tensor[] xy = data.batch(arena, order, b * batch, batch);
            out.add(new Tensor[] {xy[0].reshape(dims), xy[1]});
        }
        return out;
    }

    /** The parameters' shapes, in {@link Module#parameters()} order. */
    public List<TensorSpec> specs() {
        return loss.specs();
    }

    /** A copy of the module's parameters now. */
    public Weights current() {
        return Weights.of(loss.specs(), loss.current());
    }

    /** The traced loss, for gradients and Hessian-vector products. */
    public ParameterLoss parameterLoss() {
        return loss;
    }

    /** How many batches the set holds. */
    public int batchCount() {
        return batches.size();
    }

    public boolean isClassifier() {
        return classifier;
    }

    /** Mean loss (and accuracy) over every batch at {@code w}. */
    public Point at(Weights w) {
        double sum = 0;
        long correct = 0;
        long rows = 0;
        try (Arena arena = Arena.ofConfined()) {
            List<Tensor> params = w.tensors(arena);
            for (Tensor[] xy : batches) {
                List<Tensor> in = new ArrayList<>(params);
                in.add(xy[0]);
                in.add(xy[1]);
                List<Tensor> out = values.run(arena, in);
                sum += out.get(0).item();
                if (classifier) {
                    double[] p = out.get(1).toDoubleArray();
                    double[] t = xy[1].toDoubleArray();
                    int n = Math.toIntExact(xy[1].shape().dim(0));
                    int c = t.length / n;
                    for (int i = 0; i < n; i++) {
                        if (argmax(p, i * c, c) == argmax(t, i * c, c)) {
                            correct++;
                        }
                    }
                    rows += n;
                }
            }
        }
        return new Point(sum / batches.size(), classifier ? (double) correct / rows : Double.NaN);
    }

    /** The loss on batch {@code b} and its gradient at {@code w}. */
    public record Gradient(double loss, Weights gradient) {
    }

    /** The loss and its gradient on batch {@code b} at {@code w}, in one forward and backward pass. */
    public Gradient gradient(Weights w, int b) {
        if (b < 0 || b >= batches.size()) {
            throw new IllegalArgumentException("b: batch " + b + " outside [0, " + batches.size() + ")");
        }
        Executable g;
        synchronized (this) {
            if (grad == null) {
                // outputs: the loss, then the gradient of every input (parameters, x, y)
                grad = Autodiff.grad(loss.function().graph()).compile(loss.function().backend());
            }
            g = grad;
        }
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] xy = batches.get(b);
            List<Tensor> in = new ArrayList<>(w.tensors(arena));
            in.add(xy[0]);
            in.add(xy[1]);
            List<Tensor> out = g.run(arena, in);
            return new Gradient(out.get(0).item(), Weights.of(loss.specs(), out.subList(1, 1 + loss.specs().size())));
        }
    }

    /** The mean loss over every batch and its gradient at {@code w}. */
    public Gradient gradient(Weights w) {
        Gradient first = gradient(w, 0);
        double l = first.loss();
        Weights g = first.gradient();
        for (int b = 1; b < batches.size(); b++) {
            Gradient next = gradient(w, b);
            l += next.loss();
            g = g.plus(1, next.gradient());
        }
        return new Gradient(l / batches.size(), g.times(1.0 / batches.size()));
    }

    private static int argmax(double[] v, int from, int n) {
        int best = 0;
        for (int k = 1; k < n; k++) {
            if (v[from + k] > v[from + best]) {
                best = k;
            }
        }
        return best;
    }
}

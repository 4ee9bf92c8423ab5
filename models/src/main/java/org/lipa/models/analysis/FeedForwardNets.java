package org.lipa.models.analysis;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.lipa.analysis.FeedForward;
import org.lipa.analysis.Nonlinearity;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Dropout;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Reshape;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.Tensor;

/**
 * Plain feed-forward networks in the form the whole-network Lipschitz bounds take ({@link FeedForward}):
 * from a {@link Sequential} of linear layers and one kind of activation, or from a PyTorch
 * {@code nn.Sequential} state dict ({@code 0.weight}, {@code 0.bias}, {@code 2.weight}, ...).
 *
 * <pre>{@code
 * Optional<FeedForward> ff = FeedForwardNets.of(mlp);                     // empty for a ResNet
 * FeedForward net = FeedForwardNets.fromStateDict(SafeTensors.load(file, arena), new int[] {784, 50, 10},
 *         Nonlinearity.RELU);
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class FeedForwardNets {
    private FeedForwardNets() {
    }

    /**
     * The network as a feed-forward net when it is a {@link Sequential} of {@link Linear} layers with one
     * activation kind between them (flattening and dropout, which are identities at evaluation, allowed);
     * empty otherwise.
     */
    public static Optional<FeedForward> of(Module net) {
        if (!(net instanceof Sequential s)) {
            return Optional.empty();
        }
        List<double[]> weights = new ArrayList<>();
        List<double[]> biases = new ArrayList<>();
        List<Integer> widths = new ArrayList<>();
        Activation activation = null;
        boolean expectLinear = true;
        for (Module m : s.modules()) {
            if (m instanceof Reshape.Flatten && weights.isEmpty() || m instanceof Dropout) {
                continue;
            }
            if (expectLinear && m instanceof Linear l) {
                Tensor w = l.parameters().get("weight");
                if (widths.isEmpty()) {
                    widths.add(Math.toIntExact(w.shape().dim(1)));
                }
                widths.add(Math.toIntExact(w.shape().dim(0)));
                weights.add(w.toDoubleArray());
                Tensor b = l.parameters().get("bias");
                biases.add(b == null ? null : b.toDoubleArray());
                expectLinear = false;
            } else if (!expectLinear && m instanceof Activation a && (activation == null || activation == a)) {
                activation = a;
                expectLinear = true;
            } else {
                return Optional.empty();
            }
        }
        if (weights.isEmpty() || expectLinear) {
            return Optional.empty(); // empty, or ending in an activation
        }
        return Optional.of(FeedForward.of(widths.stream().mapToInt(Integer::intValue).toArray(), weights, biases,
                activation == null ? Nonlinearity.RELU : activation.nonlinearity()));
    }

    /**
     * The network of a PyTorch {@code nn.Sequential} state dict: the rank-2 tensors named
     * {@code <index>.weight}, in the order of their indices, with their {@code <index>.bias} (zero when
     * missing), checked against {@code widths}.
     *
     * @throws IllegalArgumentException naming the tensor whose name, rank or shape does not fit, or the widths that
     *                                  the file's layers do not chain to
     */
    public static FeedForward fromStateDict(Map<String, Tensor> tensors, int[] widths, Nonlinearity activation) {
        if (widths.length < 2) {
            throw new IllegalArgumentException("widths: need an input and an output width, got " + Arrays.toString(widths));
        }
        TreeMap<Integer, String> layers = new TreeMap<>(); // layer index -> the name without ".weight"
        for (var e : tensors.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(".weight")) {
                if (!name.endsWith(".bias")) {
                    throw new IllegalArgumentException("weights: '" + name + "' is neither <index>.weight nor <index>.bias of an nn.Sequential");
                }
                continue;
            }
            int index = index(name);
            if (e.getValue().rank() != 2) {
                throw new IllegalArgumentException("weights: '" + name + "' is " + e.getValue().spec() + ", not a matrix [out, in]");
            }
            if (layers.put(index, name.substring(0, name.length() - ".weight".length())) != null) {
                throw new IllegalArgumentException("weights: two matrices have layer index " + index + " ('" + name
                        + "' and another): not one nn.Sequential");
            }
        }
        if (layers.size() != widths.length - 1) {
            throw new IllegalArgumentException("weights: the file has " + layers.size() + " linear layers " + names(layers)
                    + " but the widths " + join(widths) + " describe " + (widths.length - 1));
        }
        List<double[]> weights = new ArrayList<>();
        List<double[]> biases = new ArrayList<>();
        int l = 0;
        for (var e : layers.entrySet()) {
            Tensor w = tensors.get(e.getValue() + ".weight");
            long out = w.shape().dim(0);
            long in = w.shape().dim(1);
            if (in != widths[l] || out != widths[l + 1]) {
                throw new IllegalArgumentException("weights: '" + e.getValue() + ".weight' is [" + out + ", " + in + "] but the widths "
                        + join(widths) + " need [" + widths[l + 1] + ", " + widths[l] + "] for layer " + l);
            }
            weights.add(w.toDoubleArray());
            Tensor b = tensors.get(e.getValue() + ".bias");
            if (b != null && (b.rank() != 1 || b.shape().dim(0) != out)) {
                throw new IllegalArgumentException("weights: '" + e.getValue() + ".bias' is " + b.spec() + ", expected [" + out + "]");
            }
            biases.add(b == null ? null : b.toDoubleArray());
            l++;
        }
        return FeedForward.of(widths, weights, biases, activation);
    }

    private static int index(String name) {
        String prefix = name.substring(0, name.lastIndexOf('.'));
        String last = prefix.substring(prefix.lastIndexOf('.') + 1);
        try {
            return Integer.parseInt(last);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("weights: '" + name + "' has no layer index (nn.Sequential names are 0.weight, 2.weight, ...)");
        }
    }

    private static String names(TreeMap<Integer, String> layers) {
        return layers.values().stream().map(p -> p + ".weight").toList().toString();
    }

    private static String join(int[] widths) {
        return String.join(",", Arrays.stream(widths).mapToObj(Integer::toString).toList());
    }
}

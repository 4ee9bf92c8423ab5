package org.lipa.models.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.analysis.FeedForward;
import org.lipa.analysis.Nonlinearity;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.models.arch.Mlp;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Modules and state dicts as feed-forward nets: the same function, or a refusal that names the tensor. */
class FeedForwardNetsTest {
    @Test
    void aSequentialMlpIsTheSameFunctionInDoublePrecision() {
        try (Arena a = Arena.ofConfined()) {
            Sequential mlp = Sequential.mlp(a, new Random(1), Activation.TANH, 5, 9, 4, 3);
            FeedForward net = FeedForwardNets.of(mlp).orElseThrow();
            assertArrayEquals(new int[] {5, 9, 4, 3}, net.widths());
            assertEquals(Nonlinearity.TANH, net.activation());
            double[] x = {0.3, -1.2, 0.5, 2.0, -0.7};
            Tensor y = mlp.forward(new Eager(new RefBackend(), a), Tensor.of(a, DType.F32, x, 1, 5));
            assertArrayEquals(y.toDoubleArray(), net.forward(x), 1e-6);
            // a residual MLP is not a plain feed-forward net
            assertTrue(FeedForwardNets.of(new Mlp(a, new Random(2), 3, 4, 1, 2, Activation.RELU, true, Mlp.Norm.NONE)).isEmpty());
        }
    }

    @Test
    void stateDictsWithAPrefixAndMissingBiasesLoad() {
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> t = new LinkedHashMap<>();
            t.put("net.0.weight", Tensor.of(a, DType.F32, new double[] {1, 2, 3, 4, 5, 6}, 3, 2));
            t.put("net.0.bias", Tensor.of(a, DType.F32, new double[] {0.5, -0.5, 1}, 3));
            t.put("net.2.weight", Tensor.of(a, DType.F32, new double[] {1, -1, 2}, 1, 3));
            FeedForward net = FeedForwardNets.fromStateDict(t, new int[] {2, 3, 1}, Nonlinearity.RELU);
            // relu(W0 x + b0) = relu([2.5, 4.5, 9]) for x = (1, 0.5) -> W1 h = 2.5 - 4.5 + 18 = 16 (no bias)
            assertEquals(16, net.forward(new double[] {1, 0.5})[0], 1e-12);
            var e = assertThrows(IllegalArgumentException.class, () -> FeedForwardNets.fromStateDict(t, new int[] {2, 4, 1},
                    Nonlinearity.RELU));
            assertTrue(e.getMessage().contains("'net.0.weight' is [3, 2]"), e.getMessage());
            t.put("other.0.weight", Tensor.of(a, DType.F32, new double[] {1, 2}, 1, 2));
            e = assertThrows(IllegalArgumentException.class, () -> FeedForwardNets.fromStateDict(t, new int[] {2, 3, 1},
                    Nonlinearity.RELU));
            assertTrue(e.getMessage().contains("layer index 0"), e.getMessage());
        }
    }
}

package org.lipa.models.arch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.Tensor;

/** Whole-model initializers: the variance each scheme promises, LSUV's unit variances, Fixup's zeros and scales. */
class ModuleInitTest {
    @ParameterizedTest
    @EnumSource(Init.Scheme.class)
    void everySchemeHasTheVarianceItPromises(Init.Scheme scheme) {
        long[] dims = {64, 32, 3, 3}; // fanIn 288, fanOut 576
        float[] w = scheme.sample(new Random(5), dims);
        double var = 0;
        for (float v : w) {
            var += v * (double) v;
        }
        var /= w.length;
        double expected = switch (scheme) {
            case LECUN_NORMAL -> 1.0 / 288;
            case XAVIER_UNIFORM, XAVIER_NORMAL -> 2.0 / (288 + 576);
            case HE_NORMAL_IN, HE_UNIFORM_IN -> 2.0 / 288;
            case HE_NORMAL_OUT, HE_UNIFORM_OUT -> 2.0 / 576;
            case ORTHOGONAL -> 1.0 / 288; // 64 orthonormal rows of length 288
            case GEOMETRIC -> 1 / Math.sqrt(288.0 * 576);
        };
        // 18432 draws: the sample variance's relative standard error is about 1.5% (normal), less for uniform
        assertEquals(expected, var, 0.05 * expected, scheme.name());
    }

    @Test
    void lsuvGivesEveryLayerUnitOutputVariance() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(2);
            Sequential mlp = Sequential.mlp(a, r, Activation.TANH, 20, 50, 50, 50, 5);
            Tensor x = Tensor.of(a, Init.normal(r, 3, 256, 20), 256, 20);
            List<Double> variances = ModuleInit.lsuv(new RefBackend(), mlp, x, 0.05, 10, r);
            assertEquals(4, variances.size());
            for (double v : variances) {
                assertEquals(1, v, 0.05);
            }
            // measured independently: the first layer's pre-activation variance on the same batch
            Eager ops = new Eager(new RefBackend(), a);
            double[] h = ops.linear(x, mlp.parameters().get("0.weight"), mlp.parameters().get("0.bias")).toDoubleArray();
            double mean = java.util.Arrays.stream(h).average().orElseThrow();
            double var = java.util.Arrays.stream(h).map(v -> (v - mean) * (v - mean)).sum() / h.length;
            assertEquals(1, var, 0.05);
        }
    }

    @Test
    void fixupZeroesTheLastLayerOfEachBranchAndScalesTheFirst() {
        try (Arena a = Arena.ofConfined()) {
            ResNet net = new ResNet(a, new Random(1), 1, 10, 8, 2, ResNet.Norm.FIXUP, true);
            ModuleInit.fixup(net, new Random(3));
            int blocks = net.blocks().size();
            for (ResNet.BasicBlock b : net.blocks()) {
                Tensor first = b.branch().get(0).parameters().get("weight");
                double var = java.util.Arrays.stream(first.toDoubleArray()).map(v -> v * v).average().orElseThrow();
                long fanIn = first.size() / first.shape().dim(0);
                double expected = 2.0 / fanIn * Math.pow(blocks, -1.0);
                assertEquals(expected, var, 0.25 * expected);
                assertTrue(java.util.Arrays.stream(b.branch().get(1).parameters().get("weight").toDoubleArray()).allMatch(v -> v == 0));
            }
            assertTrue(java.util.Arrays.stream(net.parameters().get("fc.weight").toDoubleArray()).allMatch(v -> v == 0));
            assertEquals(1, net.parameters().get("layer1.0.scale").item());
            // with zero branches and classifier, the network's output is the classifier's bias (zero) for any input
            Tensor x = Tensor.of(a, Init.normal(new Random(4), 1, 2, 1, 8, 8), 2, 1, 8, 8);
            double[] y = net.forward(new Eager(new RefBackend(), a), x).toDoubleArray();
            assertTrue(java.util.Arrays.stream(y).allMatch(v -> v == 0));
        }
    }
}

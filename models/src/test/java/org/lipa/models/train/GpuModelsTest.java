package org.lipa.models.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.TraceEstimate;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.gpu.GpuBackend;
import org.lipa.models.analysis.Evaluation;
import org.lipa.models.analysis.Hessian;
import org.lipa.models.analysis.ParameterLoss;
import org.lipa.models.analysis.Weights;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * What {@code lipa report --device gpu} relies on, against the same on oneDNN: training steps (host parameters,
 * device gradients, the host optimizer), the Hessian's top eigenvalues and trace, and evaluations of the loss at
 * other weights. Runs only where a CUDA device and the libraries are present.
 */
@Tag("gpu")
@EnabledIf("gpuPresent")
class GpuModelsTest {
    private static final int IN = 48;
    private static final int CLASSES = 10;

    static boolean gpuPresent() {
        return GpuBackend.isAvailable();
    }

    private static Sequential net(Arena arena) {
        return Sequential.mlp(arena, new Random(7), Activation.RELU, IN, 64, 64, CLASSES);
    }

    private static Tensor[] batch(Arena arena, Random r, int n) {
        Tensor x = Tensor.of(arena, Init.normal(r, 1, n, IN), n, IN);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = r.nextInt(CLASSES);
        }
        return new Tensor[] {x, Tensor.oneHot(arena, DType.F32, labels, CLASSES)};
    }

    private static double[] train(Backend backend, Sequential net, Arena arena, List<Tensor[]> batches) {
        Trainer t = new Trainer(backend, net, batches.get(0)[0].spec(), batches.get(0)[1].spec(), (ops, p, y) -> ops.crossEntropy(p, y),
                Optimizer.adam(List.copyOf(net.parameters().values()), arena, 1e-2, 0.9, 0.999, 1e-8, 0));
        double[] losses = new double[batches.size()];
        for (int i = 0; i < batches.size(); i++) {
            losses[i] = t.step(batches.get(i)[0], batches.get(i)[1]);
        }
        return losses;
    }

    @Test
    void trainingStepsMatchTheCpu() {
        try (GpuBackend gpu = GpuBackend.open(); CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Random r = new Random(1);
            List<Tensor[]> distinct = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                distinct.add(batch(arena, r, 64));
            }
            List<Tensor[]> batches = new ArrayList<>(); // five passes over five batches: enough to see them learned
            for (int i = 0; i < 25; i++) {
                batches.add(distinct.get(i % 5));
            }
            Sequential onCpu = net(arena);
            Sequential onGpu = net(arena);
            double[] cpuLoss = train(cpu, onCpu, arena, batches);
            double[] gpuLoss = train(gpu, onGpu, arena, batches);
            for (int i = 0; i < cpuLoss.length; i++) {
                assertEquals(cpuLoss[i], gpuLoss[i], 1e-4 * Math.abs(cpuLoss[i]) + 1e-6, "loss of step " + i);
            }
            double first = java.util.Arrays.stream(gpuLoss, 0, 5).sum();
            double last = java.util.Arrays.stream(gpuLoss, 20, 25).sum();
            assertTrue(last < 0.8 * first, "the GPU run learned: the first pass's loss " + first + ", the last's " + last);
            for (String name : onCpu.parameters().keySet()) {
                float[] a = onCpu.parameters().get(name).toFloatArray();
                float[] b = onGpu.parameters().get(name).toFloatArray();
                double diff = 0;
                double norm = 0;
                for (int i = 0; i < a.length; i++) {
                    diff += (a[i] - b[i]) * (double) (a[i] - b[i]);
                    norm += (double) a[i] * a[i];
                }
                assertTrue(Math.sqrt(diff) <= 1e-4 * Math.sqrt(norm), name + ": relative difference " + Math.sqrt(diff / norm));
            }
        }
    }

    @Test
    void hessianAndLossEvaluationsMatchTheCpu() {
        try (GpuBackend gpu = GpuBackend.open(); CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofShared()) {
            Sequential net = net(arena);
            Random r = new Random(2);
            Tensor[] b = batch(arena, r, 128);
            List<Hessian.Batch> data = List.of(new Hessian.Batch(b[0], b[1]));
            Hessian.Options o = Hessian.Options.defaults().withTopK(3).withLanczos(1e-6, 150).withDenseLimit(0).withSeed(3)
                    .withTrace(Hutchinson.Options.defaults().withExactLimit(0).withTolerance(0).withSamples(20, 20));
            double[][] top = new double[2][];
            double[] trace = new double[2];
            double[] loss = new double[2];
            int k = 0;
            for (Backend backend : List.of(cpu, gpu)) {
                ParameterLoss pl = ParameterLoss.of(backend, net, b[0].spec(), b[1].spec(), (ops, p, y) -> ops.crossEntropy(p, y));
                Hessian h = Hessian.of(pl, pl.current(), data);
                Eigenpairs e = h.top(o);
                assertTrue(e.converged()[0], backend.name() + ": " + e.describe(0));
                top[k] = e.values();
                TraceEstimate t = h.trace(o);
                trace[k] = t.mean();
                Evaluation eval = Evaluation.of(backend, net, List.<Tensor[]>of(b), (ops, p, y) -> ops.crossEntropy(p, y), true);
                Weights w = Weights.of(pl.specs(), pl.current()).times(1.1);
                loss[k] = eval.at(w).loss();
                k++;
            }
            for (int i = 0; i < 3; i++) {
                assertEquals(top[0][i], top[1][i], 1e-3 * Math.abs(top[0][0]), "eigenvalue " + i);
            }
            assertEquals(trace[0], trace[1], 1e-3 * Math.abs(trace[0]), "trace from the same probes");
            assertEquals(loss[0], loss[1], 1e-5 * loss[0], "loss at 1.1 times the weights");
        }
    }

    @Test
    void optimizersRefuseDeviceParameters() {
        try (GpuBackend gpu = GpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Tensor p = gpu.toDevice(Tensor.zeros(arena, DType.F32, 4, 4), arena);
            var e = assertThrows(IllegalArgumentException.class, () -> Optimizer.adam(List.of(p), arena, 1e-3, 0.9, 0.999, 1e-8, 0));
            assertTrue(e.getMessage().contains("parameter 0 is on cuda:0"), e.getMessage());
        }
    }
}

package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The input-output Jacobian of a 784-512-512-512-10 ReLU MLP at batch 128: one forward pass against one
 * power-iteration step on the Jacobian (J v through the linearization plus J^T u through the pullback,
 * both reusing the forward pass made once at the point), measured side by side; and a Hessian-vector
 * product of the cross-entropy loss {@code L(x) = crossEntropy(mlp(x), y)} with respect to the input
 * (forward-over-reverse, the whole computation from x each time). {@code bench/peers/pytorch/mlp.py}
 * times the same five in PyTorch.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class MlpJacobianBench {
    private static final int[] WIDTHS = {784, 512, 512, 512, 10};
    private static final int BATCH = 128;

    private CpuBackend cpu;
    private Arena model;
    private Executable forward;
    private Tensor x;
    private Tensor v;
    private Tensor u;
    private Differentiable.Linearization jvp;
    private Differentiable.Pullback vjp;
    private Differentiable loss;
    private Tensor target;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = CpuBackend.open();
        model = Arena.ofShared();
        Random r = new Random(1);
        Tensor[] w = new Tensor[WIDTHS.length - 1];
        Tensor[] b = new Tensor[WIDTHS.length - 1];
        for (int l = 0; l < w.length; l++) {
            w[l] = random(r, Math.sqrt(6.0 / WIDTHS[l]), WIDTHS[l + 1], WIDTHS[l]);
            b[l] = random(r, 0.01, WIDTHS[l + 1]);
        }
        Graph g = Graph.trace(List.of(new TensorSpec(Shape.of(BATCH, WIDTHS[0]), DType.F32)), (ops, in) -> {
            var h = in.get(0);
            for (int l = 0; l < w.length; l++) {
                h = ops.linear(h, ops.constant(w[l]), ops.constant(b[l]));
                if (l < w.length - 1) {
                    h = ops.relu(h);
                }
            }
            return List.of(h);
        });
        forward = g.compile(cpu);
        x = random(r, 1, BATCH, WIDTHS[0]);
        v = random(r, 1, BATCH, WIDTHS[0]);
        u = random(r, 1, BATCH, WIDTHS[WIDTHS.length - 1]);
        Differentiable f = Differentiable.of(g, cpu);
        jvp = f.linearize(model, List.of(x));
        vjp = f.vjp(model, List.of(x));
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = r.nextInt(WIDTHS[WIDTHS.length - 1]);
        }
        target = Tensor.oneHot(model, DType.F32, labels, WIDTHS[WIDTHS.length - 1]);
        Graph lossGraph = Graph.trace(List.of(new TensorSpec(Shape.of(BATCH, WIDTHS[0]), DType.F32)), (ops, in) -> {
            var h = in.get(0);
            for (int l = 0; l < w.length; l++) {
                h = ops.linear(h, ops.constant(w[l]), ops.constant(b[l]));
                if (l < w.length - 1) {
                    h = ops.relu(h);
                }
            }
            return List.of(ops.crossEntropy(h, ops.constant(target)));
        });
        loss = Differentiable.of(lossGraph, cpu);
        try (Arena step = Arena.ofConfined()) {
            loss.hvp(step, List.of(x), List.of(v)); // compiles the HVP graph outside the measurement
        }
    }

    private Tensor random(Random r, double bound, long... dims) {
        float[] a = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) ((2 * r.nextDouble() - 1) * bound);
        }
        return Tensor.of(model, a, dims);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        cpu.close();
    }

    @Benchmark
    public float forward() {
        try (Arena step = Arena.ofConfined()) {
            return (float) forward.run(step, List.of(x)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float powerIterationStep() {
        try (Arena step = Arena.ofConfined()) {
            Tensor jv = jvp.apply(step, List.of(v)).get(0);
            Tensor jtu = vjp.apply(step, List.of(u)).get(0);
            return (float) (jv.get(0, 0) + jtu.get(0, 0));
        }
    }

    @Benchmark
    public float jvpOnly() {
        try (Arena step = Arena.ofConfined()) {
            return (float) jvp.apply(step, List.of(v)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float hvp() {
        try (Arena step = Arena.ofConfined()) {
            return (float) loss.hvp(step, List.of(x), List.of(v)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float vjpOnly() {
        try (Arena step = Arena.ofConfined()) {
            return (float) vjp.apply(step, List.of(u)).get(0).get(0, 0);
        }
    }
}

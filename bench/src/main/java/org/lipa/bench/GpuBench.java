package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.lipa.autodiff.Autodiff;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.gpu.GpuBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The GPU figures, each ending with the device idle (a read of one element, or a synchronize), so a
 * measurement is the work's wall time and not its queueing: matmul 4096 in f32 (no TF32) and bf16; the
 * 784-512-512-512-10 ReLU MLP at batch 128 (forward, JVP through a linearization made once, VJP through a
 * pullback made once, HVP of the cross-entropy from x each time, one Jacobian power-iteration step) as
 * {@link MlpJacobianBench} on the CPU; and one Adam training step of the 784-256-256-10 MLP at batch 128,
 * traced once as one graph (gradient, moments, bias correction from a device step counter, update).
 * {@code bench/peers/pytorch/gpu.py} times the same in PyTorch on the same GPU.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GpuBench {
    private static final int[] WIDTHS = {784, 512, 512, 512, 10};
    private static final int[] TRAIN_WIDTHS = {784, 256, 256, 10};
    private static final int BATCH = 128;
    private static final int N = 4096;

    private GpuBackend gpu;
    private Arena model;
    private Tensor a32;
    private Tensor b32;
    private Tensor a16;
    private Tensor b16;
    private Executable forward;
    private Tensor x;
    private Tensor v;
    private Tensor u;
    private Differentiable.Linearization jvp;
    private Differentiable.Pullback vjp;
    private Differentiable loss;
    private Executable trainStep;
    private List<Tensor> state;

    @Setup(Level.Trial)
    public void setUp() {
        gpu = GpuBackend.open();
        model = Arena.ofShared();
        Random r = new Random(1);
        a32 = random(r, 1, N, N);
        b32 = random(r, 1, N, N);
        try (Arena tmp = Arena.ofConfined()) {
            a16 = gpu.toDevice(a32.toHost(tmp).to(tmp, DType.BF16), model);
            b16 = gpu.toDevice(b32.toHost(tmp).to(tmp, DType.BF16), model);
        }
        Tensor[] w = new Tensor[WIDTHS.length - 1];
        Tensor[] b = new Tensor[WIDTHS.length - 1];
        for (int l = 0; l < w.length; l++) {
            w[l] = random(r, Math.sqrt(6.0 / WIDTHS[l]), WIDTHS[l + 1], WIDTHS[l]);
            b[l] = random(r, 0.01, WIDTHS[l + 1]);
        }
        TensorSpec xs = new TensorSpec(Shape.of(BATCH, WIDTHS[0]), DType.F32);
        Graph g = Graph.trace(List.of(xs), (ops, in) -> List.of(mlp(ops, in.get(0), w, b)));
        forward = g.compile(gpu);
        x = random(r, 1, BATCH, WIDTHS[0]);
        v = random(r, 1, BATCH, WIDTHS[0]);
        u = random(r, 1, BATCH, WIDTHS[WIDTHS.length - 1]);
        Differentiable f = Differentiable.of(g, gpu);
        jvp = f.linearize(model, List.of(x));
        vjp = f.vjp(model, List.of(x));
        Tensor target = gpu.toDevice(oneHot(r, 10), model);
        loss = Differentiable.of(Graph.trace(List.of(xs), (ops, in) -> List.of(ops.crossEntropy(mlp(ops, in.get(0), w, b),
                ops.constant(target)))), gpu);
        try (Arena step = Arena.ofConfined()) {
            loss.hvp(step, List.of(x), List.of(v)); // compiles the HVP graph outside the measurement
        }
        trainStep = adamStep(r).compile(gpu);
        gpu.synchronize();
    }

    private static Node mlp(Ops<Node> ops, Node h, Tensor[] w, Tensor[] b) {
        for (int l = 0; l < w.length; l++) {
            h = ops.linear(h, ops.constant(w[l]), ops.constant(b[l]));
            if (l < w.length - 1) {
                h = ops.relu(h);
            }
        }
        return h;
    }

    /**
     * One Adam step (lr 1e-4, betas 0.9/0.999, eps 1e-8, as PyTorch's default) as one graph: inputs
     * {@code (params, m, v, t, x, y)}, outputs {@code (loss, params', m', v', t + 1)}, the bias correction
     * computed on the device from t.
     */
    private Graph adamStep(Random r) {
        int layers = TRAIN_WIDTHS.length - 1;
        List<TensorSpec> paramSpecs = new ArrayList<>();
        state = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            paramSpecs.add(new TensorSpec(Shape.of(TRAIN_WIDTHS[l + 1], TRAIN_WIDTHS[l]), DType.F32));
            paramSpecs.add(new TensorSpec(Shape.of(TRAIN_WIDTHS[l + 1]), DType.F32));
            state.add(random(r, Math.sqrt(1.0 / TRAIN_WIDTHS[l]), TRAIN_WIDTHS[l + 1], TRAIN_WIDTHS[l]));
            state.add(random(r, 0.01, TRAIN_WIDTHS[l + 1]));
        }
        int p = paramSpecs.size();
        TensorSpec xs = new TensorSpec(Shape.of(BATCH, TRAIN_WIDTHS[0]), DType.F32);
        TensorSpec ys = new TensorSpec(Shape.of(BATCH, TRAIN_WIDTHS[layers]), DType.F32);
        List<TensorSpec> lossIn = new ArrayList<>(paramSpecs);
        lossIn.add(xs);
        lossIn.add(ys);
        Graph lossGraph = Graph.trace(lossIn, (ops, in) -> {
            Node h = in.get(p);
            for (int l = 0; l < layers; l++) {
                h = ops.linear(h, in.get(2 * l), in.get(2 * l + 1));
                if (l < layers - 1) {
                    h = ops.relu(h);
                }
            }
            return List.of(ops.crossEntropy(h, in.get(p + 1)));
        });
        Graph grad = Autodiff.grad(lossGraph);
        List<TensorSpec> stepIn = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            stepIn.addAll(paramSpecs);
        }
        TensorSpec scalar = new TensorSpec(Shape.of(), DType.F32);
        stepIn.add(scalar);
        stepIn.add(xs);
        stepIn.add(ys);
        for (int k = 0; k < 2; k++) { // m and v start at zero
            for (TensorSpec s : paramSpecs) {
                state.add(Tensor.empty(gpu.memory(), model, s.dtype(), s.shape()));
                state.get(state.size() - 1).copyFrom(new float[Math.toIntExact(s.shape().size())]);
            }
        }
        Tensor t = Tensor.empty(gpu.memory(), model, DType.F32, Shape.of());
        t.copyFrom(new float[] {1});
        state.add(t);
        state.add(random(r, 1, BATCH, TRAIN_WIDTHS[0]));
        state.add(gpu.toDevice(oneHot(r, TRAIN_WIDTHS[layers]), model));
        double lr = 1e-4;
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        return Graph.trace(stepIn, (ops, in) -> {
            List<Node> args = new ArrayList<>(in.subList(0, p));
            args.add(in.get(3 * p + 1));
            args.add(in.get(3 * p + 2));
            List<Node> out = grad.replay(ops, args); // (loss, d/dparams..., d/dx, d/dy)
            Node step = in.get(3 * p);
            // lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), eps_t = eps sqrt(1 - b2^t)
            Node c2 = ops.sqrt(ops.affine(ops.exp(ops.scale(step, Math.log(b2))), -1, 1));
            Node c1 = ops.affine(ops.exp(ops.scale(step, Math.log(b1))), -1, 1);
            Node lrT = ops.div(ops.scale(c2, lr), c1);
            Node epsT = ops.scale(c2, eps);
            List<Node> params = new ArrayList<>();
            List<Node> ms = new ArrayList<>();
            List<Node> vs = new ArrayList<>();
            for (int i = 0; i < p; i++) {
                Node g = out.get(1 + i);
                Node m = ops.add(ops.scale(in.get(p + i), b1), ops.scale(g, 1 - b1));
                Node vv = ops.add(ops.scale(in.get(2 * p + i), b2), ops.scale(ops.square(g), 1 - b2));
                params.add(ops.sub(in.get(i), ops.div(ops.mul(lrT, m), ops.add(ops.sqrt(vv), epsT))));
                ms.add(m);
                vs.add(vv);
            }
            List<Node> result = new ArrayList<>();
            result.add(out.get(0));
            result.addAll(params);
            result.addAll(ms);
            result.addAll(vs);
            result.add(ops.affine(step, 1, 1));
            return result;
        });
    }

    private Tensor oneHot(Random r, int classes) {
        int[] labels = new int[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = r.nextInt(classes);
        }
        return Tensor.oneHot(model, DType.F32, labels, classes);
    }

    private Tensor random(Random r, double bound, long... dims) {
        float[] a = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) ((2 * r.nextDouble() - 1) * bound);
        }
        Tensor t = Tensor.empty(gpu.memory(), model, DType.F32, Shape.of(dims));
        t.copyFrom(a);
        return t;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        gpu.synchronize();
        model.close();
        gpu.close();
    }

    @Benchmark
    public void matmul4096F32() {
        try (Arena step = Arena.ofConfined()) {
            new Eager(gpu, step).matmul(a32, b32);
            gpu.synchronize();
        }
    }

    @Benchmark
    public void matmul4096Bf16() {
        try (Arena step = Arena.ofConfined()) {
            new Eager(gpu, step).matmul(a16, b16);
            gpu.synchronize();
        }
    }

    @Benchmark
    public float mlpForward() {
        try (Arena step = Arena.ofConfined()) {
            return (float) forward.run(step, List.of(x)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float mlpJvp() {
        try (Arena step = Arena.ofConfined()) {
            return (float) jvp.apply(step, List.of(v)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float mlpVjp() {
        try (Arena step = Arena.ofConfined()) {
            return (float) vjp.apply(step, List.of(u)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float mlpHvp() {
        try (Arena step = Arena.ofConfined()) {
            return (float) loss.hvp(step, List.of(x), List.of(v)).get(0).get(0, 0);
        }
    }

    @Benchmark
    public float mlpPowerStep() {
        try (Arena step = Arena.ofConfined()) {
            Tensor jv = jvp.apply(step, List.of(v)).get(0);
            Tensor jtu = vjp.apply(step, List.of(u)).get(0);
            return (float) (jv.get(0, 0) + jtu.get(0, 0));
        }
    }

    /** One Adam step; the new parameters and moments are copied back over the old on the device. */
    @Benchmark
    public float trainMlp() {
        try (Arena step = Arena.ofConfined()) {
            List<Tensor> out = trainStep.run(step, state);
            int n = (out.size() - 2) / 3;
            for (int i = 0; i < 3 * n + 1; i++) {
                state.get(i).copyFrom(out.get(1 + i));
            }
            return (float) out.get(0).item();
        }
    }
}

package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.lipa.analysis.Eigenpairs;
import org.lipa.analysis.Hutchinson;
import org.lipa.analysis.TraceEstimate;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.gpu.GpuBackend;
import org.lipa.models.analysis.Directions;
import org.lipa.models.analysis.Evaluation;
import org.lipa.models.analysis.Hessian;
import org.lipa.models.analysis.Landscape;
import org.lipa.models.analysis.ParameterLoss;
import org.lipa.models.analysis.Weights;
import org.lipa.models.arch.ResNet;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * The report's heavy stages on one backend, through the library's own code paths (models' {@link Hessian},
 * {@link ParameterLoss}, {@link Evaluation} and {@link Landscape}, runtime's Lanczos and Hutchinson), with
 * the parameters at the point and the batch already on the device:
 *
 * <ul>
 *   <li>the MNIST MLP 784-256-256-10 (ReLU, as {@code lipa report} trains it) on a batch of 1,000, cross-entropy:
 *       one Hessian-vector product with respect to all 269,322 parameters ({@code mlpHvp}: {@link Hessian#apply},
 *       a heap vector in and out, as Lanczos calls it; {@code mlpHvpOnDevice}: {@link ParameterLoss#hvp} with the
 *       direction already on the device and nothing read back but one element), the top 5 eigenvalues by
 *       magnitude by Lanczos with 30 steps and no early stop (30 products plus 5 for the measured residuals:
 *       35), and Hutchinson's trace with 50 Rademacher probes (50 products);</li>
 *   <li>the CIFAR ResNet-20 ({@link ResNet} width 16, 3 blocks per stage, batch norm, projection shortcuts;
 *       272,474 parameters) on a batch of 128 images 3x32x32: the same with 20 Lanczos steps (25 products)
 *       and 20 probes;</li>
 *   <li>the 2-D loss landscape of the MLP: 11 x 11 points in [-1, 1]^2 along two filter-normalized random
 *       directions (biases left out), each point the loss and accuracy over the 1,000-example batch
 *       ({@link Landscape#surface}: 121 forward passes).</li>
 * </ul>
 *
 * <p>The weights, inputs and labels come from a counter-based generator (SplitMix64 of the parameter's name
 * hash and the element's index; {@link #uniform}) that {@code bench/peers/pytorch/gpu_analysis.py} repeats
 * bit for bit, so both sides differentiate the same function: the loss, the eigenvalues and the trace they
 * print should agree (the random start and probe vectors differ). Weights are uniform in +-1/sqrt(fan-in) as
 * PyTorch's default; batch norm keeps its initial scale 1, shift 0 and running statistics 0 and 1, and runs
 * in evaluation mode, as {@link ParameterLoss} traces it.
 *
 * <p>Every call ends with the device idle (the analyses read their results to the heap; the on-device product
 * reads one element). The products each call made are printed at the end of the trial, with the values found,
 * as lines starting {@code # GpuAnalysisBench}. {@code -p device=cpu} runs the same on oneDNN, to check the
 * benchmark where there is no GPU; {@code device=gpu} without one fails in the setup with the reason.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class GpuAnalysisBench {
    static final int[] MLP_WIDTHS = {784, 256, 256, 10};
    static final int MLP_BATCH = 1000;
    static final int MLP_STEPS = 30;
    static final int MLP_PROBES = 50;
    static final int RESNET_WIDTH = 16;
    static final int RESNET_BLOCKS = 3;
    static final int RESNET_BATCH = 128;
    static final int RESNET_STEPS = 20;
    static final int RESNET_PROBES = 20;
    static final int CLASSES = 10;
    static final int TOP_K = 5;
    static final int GRID = 11;

    /** {@code gpu} (device 0) or {@code cpu} (oneDNN). */
    @Param({"gpu"})
    public String device;

    private Backend backend;
    private Arena model;
    private String benchmark;
    private Hessian hessian;
    private ParameterLoss loss;
    private List<Tensor> point;
    private Tensor x;
    private Tensor y;
    private double[] direction;
    private List<Tensor> directionOnDevice;
    private Hessian.Options lanczos;
    private Hessian.Options hutchinson;
    private Evaluation evaluation;
    private Weights center;
    private Weights d1;
    private Weights d2;
    private double[] grid;
    private long calls;
    private long products;
    private String lastResult = "";

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        benchmark = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
        backend = open(device);
        model = Arena.ofShared();
        boolean resnet = benchmark.startsWith("resnet");
        Module net;
        long[] xDims;
        int batch;
        if (resnet) {
            net = new ResNet(model, new Random(0), 3, CLASSES, RESNET_WIDTH, RESNET_BLOCKS, ResNet.Norm.BATCH, true);
            batch = RESNET_BATCH;
            xDims = new long[] {batch, 3, 32, 32};
        } else {
            net = Sequential.mlp(model, new Random(0), Activation.RELU, MLP_WIDTHS);
            batch = MLP_BATCH;
            xDims = new long[] {batch, MLP_WIDTHS[0]};
        }
        fill(net);
        x = onDevice(Tensor.of(model, DType.F32, uniform("x", Math.toIntExact(Shape.of(xDims).size())), xDims));
        y = onDevice(Tensor.oneHot(model, DType.F32, labels(batch), CLASSES));
        Random r = new Random(7);
        if (benchmark.endsWith("Landscape")) {
            evaluation = Evaluation.of(backend, net, List.<Tensor[]>of(new Tensor[] {x, y}), (ops, p, t) -> ops.crossEntropy(p, t), true);
            center = evaluation.current();
            d1 = Directions.filterNormalized(center, Directions.BiasPolicy.IGNORE, r);
            d2 = Directions.filterNormalized(center, Directions.BiasPolicy.IGNORE, r);
            grid = Landscape.grid(-1, 1, GRID);
            Evaluation.Point p = evaluation.at(center);
            System.out.printf(Locale.ROOT, "# GpuAnalysisBench %s on %s: %,d parameters, loss %.6f and accuracy %.4f at the center%n",
                    benchmark, backend.name(), center.size(), p.loss(), p.accuracy());
        } else {
            loss = ParameterLoss.of(backend, net, x.spec(), y.spec(), (ops, p, t) -> ops.crossEntropy(p, t));
            point = new ArrayList<>();
            for (Tensor t : loss.current()) {
                point.add(onDevice(t));
            }
            hessian = Hessian.of(loss, point, List.of(new Hessian.Batch(x, y)));
            direction = Directions.gaussian(loss.specs(), r).values();
            directionOnDevice = new ArrayList<>();
            for (Tensor t : hessian.embed(direction).tensors(model)) {
                directionOnDevice.add(onDevice(t));
            }
            // no early stop: a relative residual of MIN_VALUE is never met, so Lanczos takes every step
            lanczos = Hessian.Options.defaults().withTopK(TOP_K).withLanczos(Double.MIN_VALUE, resnet ? RESNET_STEPS : MLP_STEPS)
                    .withSeed(0);
            int probes = resnet ? RESNET_PROBES : MLP_PROBES;
            hutchinson = Hessian.Options.defaults().withTrace(new Hutchinson.Options(0, probes, probes, 0.95, 0)).withSeed(0);
            double l;
            try (Arena a = Arena.ofConfined()) {
                l = loss.loss(a, point, x, y);
            }
            hessian.apply(direction); // builds and plans the HVP graph (and on the GPU, chooses cuDNN's algorithms) before timing
            System.out.printf(Locale.ROOT, "# GpuAnalysisBench %s on %s: %,d parameters, loss %.6f at the point%n", benchmark,
                    backend.name(), hessian.dimension(), l);
        }
        finish();
    }

    /** The backend, or a failure that says why there is none. */
    static Backend open(String device) {
        return switch (device) {
            case "cpu" -> CpuBackend.open();
            case "gpu" -> {
                try {
                    yield GpuBackend.open();
                } catch (RuntimeException | LinkageError e) {
                    throw new IllegalStateException("device=gpu, but no CUDA device can be used here (" + e.getMessage()
                            + "); run with -p device=cpu to check this benchmark on the CPU", e);
                }
            }
            default -> throw new IllegalArgumentException("device must be gpu or cpu, got '" + device + "'");
        };
    }

    private Tensor onDevice(Tensor host) {
        Tensor t = backend.allocate(model, host.spec());
        t.copyFrom(host);
        return t;
    }

    /** Waits for the device (the CPU backend is synchronous). */
    private void finish() {
        if (backend instanceof GpuBackend gpu) {
            gpu.synchronize();
        }
    }

    /**
     * Weights of rank 2 or more (linear, convolution) and the biases of linear layers uniform in
     * {@code +-1/sqrt(fan-in)} from {@link #uniform} of the parameter's name; batch norm's parameters stay 1 and 0.
     */
    static void fill(Module net) {
        Map<String, Tensor> params = net.parameters();
        for (var e : params.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            Tensor weight = t.rank() >= 2 ? t : name.endsWith(".bias") ? params.get(name.substring(0, name.length() - 4) + "weight") : null;
            if (weight == null || weight.rank() < 2) {
                continue;
            }
            double bound = 1 / Math.sqrt((double) weight.size() / weight.shape().dim(0));
            double[] u = uniform(name, Math.toIntExact(t.size()));
            for (int i = 0; i < u.length; i++) {
                u[i] = (2 * u[i] - 1) * bound;
            }
            t.copyFrom(u);
        }
    }

    /** Labels {@code floor(10 u)} for u from {@link #uniform} of "y". */
    static int[] labels(int n) {
        double[] u = uniform("y", n);
        int[] l = new int[n];
        for (int i = 0; i < n; i++) {
            l[i] = (int) (u[i] * CLASSES);
        }
        return l;
    }

    /**
     * n numbers in [0, 1): element i is the top 53 bits of SplitMix64 at {@code (name.hashCode() << 32) + i}
     * (the hash as an unsigned 32-bit number), what {@code gpu_analysis.py}'s {@code uniform} computes.
     */
    static double[] uniform(String name, int n) {
        long base = (name.hashCode() & 0xffffffffL) << 32;
        double[] u = new double[n];
        for (int i = 0; i < n; i++) {
            long z = base + i + 0x9E3779B97F4A7C15L;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            u[i] = (z >>> 11) * 0x1.0p-53;
        }
        return u;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        finish();
        if (calls > 0) {
            String what = evaluation != null ? "forward passes over the batch" : "Hessian-vector products";
            System.out.printf(Locale.ROOT, "# GpuAnalysisBench %s: %d %s per call (%d calls); %s%n", benchmark,
                    products / calls, what, calls, lastResult);
        }
        model.close();
        backend.close();
    }

    private double hvp() {
        long before = hessian.products();
        double[] hv = hessian.apply(direction);
        count(hessian.products() - before);
        lastResult = String.format(Locale.ROOT, "|Hv| = %.6g for a Gaussian v with |v| = %.6g", norm(hv), norm(direction));
        return hv[0];
    }

    private double hvpOnDevice() {
        List<Tensor> hv;
        try (Arena step = Arena.ofConfined()) {
            hv = loss.hvp(step, point, x, y, directionOnDevice);
            Tensor last = hv.get(hv.size() - 1);
            count(1);
            return last.get(0); // one element to the host: the device has finished
        }
    }

    private double top() {
        long before = hessian.products();
        Eigenpairs e = hessian.top(lanczos);
        count(hessian.products() - before);
        lastResult = String.format(Locale.ROOT, "%s, top %d by magnitude %s, residuals %s", e.method().label(), TOP_K,
                Arrays.toString(e.values()), Arrays.toString(e.residuals()));
        return e.values()[0];
    }

    private double trace() {
        long before = hessian.products();
        TraceEstimate t = hessian.trace(hutchinson);
        count(hessian.products() - before);
        lastResult = "trace " + t.describe();
        return t.mean();
    }

    private void count(long n) {
        calls++;
        products += n;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double a : v) {
            s += a * a;
        }
        return Math.sqrt(s);
    }

    /** H v through {@link Hessian#apply}: v from the heap to the device, H v back, as every Lanczos step. */
    @Benchmark
    public double mlpHvp() {
        return hvp();
    }

    /** H v through {@link ParameterLoss#hvp}, v already on the device, one element read back. */
    @Benchmark
    public double mlpHvpOnDevice() {
        return hvpOnDevice();
    }

    /** Top 5 eigenvalues by magnitude: 30 Lanczos steps and 5 residual checks, 35 products. */
    @Benchmark
    public double mlpLanczos() {
        return top();
    }

    /** Hutchinson's trace with 50 Rademacher probes: 50 products. */
    @Benchmark
    public double mlpHutchinson() {
        return trace();
    }

    /** 11 x 11 points of the loss and accuracy over the batch: 121 forward passes. */
    @Benchmark
    public double mlpLandscape() {
        Landscape.Surface s = Landscape.surface(evaluation, center, d1, d2, grid, grid, Landscape.Progress.NONE);
        calls++;
        products += (long) GRID * GRID;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] row : s.loss()) {
            for (double v : row) {
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        lastResult = String.format(Locale.ROOT, "loss in [%.6g, %.6g], %.6g at the center, accuracy %.4f there", lo, hi,
                s.loss()[GRID / 2][GRID / 2], s.accuracy()[GRID / 2][GRID / 2]);
        return s.loss()[GRID / 2][GRID / 2];
    }

    @Benchmark
    public double resnetHvp() {
        return hvp();
    }

    @Benchmark
    public double resnetHvpOnDevice() {
        return hvpOnDevice();
    }

    /** 20 Lanczos steps and 5 residual checks: 25 products. */
    @Benchmark
    public double resnetLanczos() {
        return top();
    }

    /** 20 Rademacher probes: 20 products. */
    @Benchmark
    public double resnetHutchinson() {
        return trace();
    }
}

package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.lipa.analysis.Dense;
import org.lipa.analysis.LinearOperator;
import org.lipa.analysis.PowerIteration;
import org.lipa.autodiff.Autodiff;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.Backend;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.cpu.FuzzTest;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.memory.Device;
import org.lipa.memory.HostMemory;
import org.lipa.ops.Hw;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * The GPU backend against the float64 reference and the oneDNN backend: every op family through the
 * seeded fuzz (strided, broadcast and bf16 inputs, graphs, JVPs and VJPs), an MLP's and a CNN's
 * derivatives against the CPU, spectral norms and Hessian-vector products, eight threads on one graph,
 * host/device copies and bad input. Runs only where a CUDA device and the libraries are present.
 */
@Tag("gpu")
@EnabledIf("gpuPresent")
class GpuBackendTest {
    private static GpuBackend gpu;
    private static CpuBackend cpu;

    static boolean gpuPresent() {
        return GpuBackend.isAvailable();
    }

    @BeforeAll
    static void open() {
        gpu = GpuBackend.open();
        cpu = CpuBackend.open();
        System.out.println("gpu: " + gpu.name());
    }

    @AfterAll
    static void close() {
        if (gpu != null) {
            gpu.close();
        }
        if (cpu != null) {
            cpu.close();
        }
    }

    private static Tensor normal(Arena a, Random r, DType t, long... dims) {
        double[] v = new double[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return Tensor.of(a, t, v, dims);
    }

    private static void assertClose(String what, float[] want, float[] got, double tol) {
        assertEquals(want.length, got.length, what);
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        for (int i = 0; i < want.length; i++) {
            assertTrue(Math.abs(want[i] - got[i]) <= tol * (1 + scale), what + ": element " + i + " expected " + want[i] + " but was " + got[i]);
        }
    }

    @Test
    void copiesBetweenHostAndDeviceKeepValuesAndViews() {
        long live = gpu.liveBytes();
        try (Arena a = Arena.ofConfined()) {
            Tensor host = normal(a, new Random(1), DType.F32, 3, 4, 5);
            Tensor dev = gpu.toDevice(host, a);
            assertEquals(new Device(Device.Kind.CUDA, 0), dev.device());
            assertArrayEquals(host.toFloatArray(), dev.toFloatArray());
            // a strided device view reads back in its own order, through one copy of the range it covers
            assertArrayEquals(host.permute(2, 0, 1).toFloatArray(), dev.permute(2, 0, 1).toFloatArray());
            assertArrayEquals(host.slice(1, 1, 4, 2).toFloatArray(), dev.slice(1, 1, 4, 2).toHost(a).toFloatArray());
            assertEquals(host.get(2, 3, 4), dev.get(2, 3, 4));
            Tensor bf = gpu.toDevice(host.to(a, DType.BF16), a);
            assertArrayEquals(host.to(a, DType.BF16).toFloatArray(), bf.toFloatArray());
            dev.copyFrom(new float[60]);
            assertEquals(0.0, dev.toHost(a).toDoubleArray()[17]);
            assertThrows(IllegalStateException.class, () -> dev.set(1.0, 0, 0, 0), "a device tensor is not written from Java");
            assertTrue(dev.toString().contains("on cuda:0"), dev.toString());
            assertTrue(gpu.liveBytes() > live);
        }
        assertEquals(live, gpu.liveBytes(), "device memory returns when the arena closes");
    }

    @Test
    void badInputIsRefusedBeforeTheDevice() {
        try (Arena a = Arena.ofConfined()) {
            Tensor x = normal(a, new Random(2), DType.F32, 4, 4);
            Tensor hostOut = Tensor.zeros(a, DType.F32, Shape.of(4, 4));
            var e = assertThrows(IllegalArgumentException.class,
                    () -> gpu.execute(org.lipa.ops.Eltwise.of(org.lipa.ops.Eltwise.Kind.RELU), List.of(x), List.of(hostOut)));
            assertTrue(e.getMessage().contains("output 0 is on cpu"), e.getMessage());
            Tensor x64 = normal(a, new Random(2), DType.F64, 4, 4);
            var f = assertThrows(IllegalArgumentException.class, () -> new Eager(gpu, a).relu(x64));
            assertTrue(f.getMessage().contains("f64"), f.getMessage());
            var g = assertThrows(IllegalArgumentException.class, () -> new Eager(gpu, a).matmul(x, normal(a, new Random(3), DType.F32, 5, 2)));
            assertTrue(g.getMessage().contains("matmul"), g.getMessage());
        }
    }

    /** Every op family, strided and broadcast inputs, bf16, graphs, JVP and VJP: against the float64 reference. */
    @Test
    void fuzzedCallsMatchTheReference() throws Exception {
        int cases = Integer.getInteger("lipa.gpu.fuzz.cases", 2000);
        FuzzTest.fuzz(gpu, gpu::deviceCalls, () -> HostMemory.liveBytes() + gpu.liveBytes(), cases,
                Long.getLong("lipa.fuzz.seed", 20261123L));
    }

    /** A 784-512-512-10 MLP's output, JVP, VJP and HVP on the GPU against the same on oneDNN. */
    @Test
    void mlpDerivativesMatchTheCpu() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(7);
            int[] widths = {784, 512, 512, 10};
            List<Tensor> params = new ArrayList<>();
            for (int i = 0; i + 1 < widths.length; i++) {
                params.add(normal(a, r, DType.F32, widths[i + 1], widths[i]));
                params.add(normal(a, r, DType.F32, widths[i + 1]));
            }
            TensorSpec x = new TensorSpec(Shape.of(64, 784), DType.F32);
            Graph.Function f = (ops, in) -> {
                Node h = in.get(0);
                for (int i = 0; i < 3; i++) {
                    Node w = ops.scale(ops.constant(params.get(2 * i)), 1.0 / Math.sqrt(widths[i]));
                    h = ops.linear(h, w, ops.constant(params.get(2 * i + 1)));
                    if (i < 2) {
                        h = ops.gelu(h, true);
                    }
                }
                return List.of(ops.mean(ops.square(h), false));
            };
            Tensor xv = normal(a, r, DType.F32, 64, 784);
            Tensor v = normal(a, r, DType.F32, 64, 784);
            for (String what : List.of("value", "jvp", "grad", "hvp")) {
                float[] want = evaluate(cpu, a, x, f, what, xv, v);
                float[] got = evaluate(gpu, a, x, f, what, gpu.toDevice(xv, a), gpu.toDevice(v, a));
                assertClose(what, want, got, 2e-4);
            }
        }
    }

    private static float[] evaluate(Backend b, Arena a, TensorSpec x, Graph.Function f, String what, Tensor xv, Tensor v) {
        Differentiable d = Differentiable.trace(b, List.of(x), f);
        return switch (what) {
            case "value" -> d.apply(a, List.of(xv)).get(0).toFloatArray();
            case "jvp" -> d.jvp(a, List.of(xv), List.of(v)).tangents().get(0).toFloatArray();
            case "grad" -> d.grad(a, List.of(xv)).get(0).toFloatArray();
            default -> d.hvp(a, List.of(xv), List.of(v)).get(0).toFloatArray();
        };
    }

    /** conv, batch norm, max pool, conv transpose and cross-entropy: loss and gradients on GPU and CPU. */
    @Test
    void cnnGradientsMatchTheCpu() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(8);
            Tensor w1 = normal(a, r, DType.F32, 16, 3, 3, 3);
            Tensor w2 = normal(a, r, DType.F32, 16, 8, 2, 2);
            Tensor gamma = normal(a, r, DType.F32, 16);
            Tensor beta = normal(a, r, DType.F32, 16);
            Tensor labels = Tensor.oneHot(a, DType.F32, new int[] {1, 3, 0, 7}, 10);
            Tensor lnGamma = normal(a, r, DType.F32, 256);
            Tensor lnBeta = normal(a, r, DType.F32, 256);
            Tensor w3 = normal(a, r, DType.F32, 10, 256);
            TensorSpec x = new TensorSpec(Shape.of(4, 3, 16, 16), DType.F32);
            TensorSpec w = new TensorSpec(w1.shape(), DType.F32);
            Graph.Function f = (ops, in) -> {
                Node h = ops.conv2d(in.get(0), in.get(1), null, Hw.of(1), Hw.of(1), Hw.of(1), 1);
                h = ops.batchNormTraining(h, ops.constant(gamma), ops.constant(beta), 1e-5).get(0);
                h = ops.relu(h);
                h = ops.maxPool2d(h, Hw.of(2), Hw.of(2), Hw.of(0));
                h = ops.convTranspose2d(h, ops.constant(w2), null, Hw.of(2), Hw.of(0), Hw.of(0), Hw.of(1), 2);
                h = ops.softmax(ops.reshape(ops.mean(h, false, 1), 4, -1), 1);
                h = ops.layerNorm(h, ops.constant(lnGamma), ops.constant(lnBeta), 1e-5);
                h = ops.linear(h, ops.constant(w3), null);
                return List.of(ops.crossEntropy(h, ops.constant(labels)));
            };
            Tensor xv = normal(a, r, DType.F32, 4, 3, 16, 16);
            Differentiable onCpu = Differentiable.trace(cpu, List.of(x, w), f);
            Differentiable onGpu = Differentiable.trace(gpu, List.of(x, w), f);
            List<Tensor> gc = onCpu.grad(a, List.of(xv, w1));
            List<Tensor> gg = onGpu.grad(a, List.of(gpu.toDevice(xv, a), gpu.toDevice(w1, a)));
            assertClose("loss", onCpu.apply(a, List.of(xv, w1)).get(0).toFloatArray(),
                    onGpu.apply(a, List.of(xv, w1)).get(0).toFloatArray(), 1e-4);
            assertClose("dL/dx", gc.get(0).toFloatArray(), gg.get(0).toFloatArray(), 1e-3);
            assertClose("dL/dw", gc.get(1).toFloatArray(), gg.get(1).toFloatArray(), 1e-3);
        }
    }

    /** Power iteration on a weight matrix and a convolution on the GPU against dense SVDs. */
    @Test
    void spectralNormsMatchDenseSvds() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(4);
            double[] w = new double[96 * 64];
            for (int i = 0; i < w.length; i++) {
                w[i] = r.nextGaussian();
            }
            Tensor wd = gpu.toDevice(Tensor.of(a, DType.F32, w, 96, 64), a);
            double sigma = PowerIteration.run(LinearOperator.matrix(gpu, wd), 1e-5, 4000, 3).sigma(); // float32: a relative residual of 1e-5
            assertEquals(Dense.singularValues(w, 96, 64)[0], sigma, 1e-4 * sigma);

            Tensor k = normal(a, r, DType.F32, 4, 3, 3, 3);
            var conv = new org.lipa.ops.Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1);
            LinearOperator onGpu = LinearOperator.conv2d(gpu, gpu.toDevice(k, a), Shape.of(1, 3, 8, 8), conv);
            LinearOperator onRef = LinearOperator.conv2d(new RefBackend(), k.to(a, DType.F64), Shape.of(1, 3, 8, 8), conv);
            double top = PowerIteration.run(onRef, 1e-12, 5000, 5).sigma();
            assertEquals(top, PowerIteration.run(onGpu, 1e-5, 5000, 5).sigma(), 1e-4 * top);
        }
    }

    /** H v of a small loss on the GPU equals the explicit Hessian (reference, float64) times v. */
    @Test
    void hessianVectorProductsMatchTheExplicitHessian() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(12);
            Tensor x = normal(a, r, DType.F32, 8, 5);
            Tensor t = Tensor.oneHot(a, DType.F32, new int[] {0, 1, 2, 0, 1, 2, 0, 1}, 3);
            TensorSpec ws = new TensorSpec(Shape.of(3, 5), DType.F32);
            Tensor x64 = x.to(a, DType.F64);
            Tensor t64 = t.to(a, DType.F64);
            Graph.Function loss = (ops, in) -> List.of(ops.crossEntropy(ops.linear(ops.tanh(ops.constant(x)), in.get(0), null),
                    ops.constant(t)));
            Graph.Function loss64 = (ops, in) -> List.of(ops.crossEntropy(ops.linear(ops.tanh(ops.constant(x64)), in.get(0), null),
                    ops.constant(t64)));
            Tensor w = normal(a, r, DType.F32, 3, 5);
            Tensor h = Differentiable.trace(new RefBackend(), List.of(new TensorSpec(ws.shape(), DType.F64)), loss64)
                    .hessian(a, List.of(w.to(a, DType.F64)), 0);
            Differentiable onGpu = Differentiable.trace(gpu, List.of(ws), loss);
            for (int trial = 0; trial < 3; trial++) {
                Tensor v = normal(a, r, DType.F32, 3, 5);
                double[] hv = onGpu.hvp(a, List.of(gpu.toDevice(w, a)), List.of(gpu.toDevice(v, a))).get(0).toDoubleArray();
                double[] vv = v.toDoubleArray();
                double[] hd = h.toDoubleArray();
                for (int i = 0; i < 15; i++) {
                    double want = 0;
                    for (int j = 0; j < 15; j++) {
                        want += hd[i * 15 + j] * vv[j];
                    }
                    assertEquals(want, hv[i], 1e-4 * (1 + Math.abs(want)), "(Hv)[" + i + "]");
                }
            }
        }
    }

    /** Eight threads evaluate one traced graph and its JVP on the GPU: the results equal the sequential ones bit for bit. */
    @Test
    void eightThreadsOnOneGraphMatchTheSequentialRuns() throws Exception {
        try (Arena model = Arena.ofShared()) {
            Random r = new Random(5);
            TensorSpec xs = new TensorSpec(Shape.of(2, 3, 12, 12), DType.F32);
            Tensor w1 = gpu.toDevice(normal(model, r, DType.F32, 8, 3, 3, 3), model);
            Tensor w2 = gpu.toDevice(normal(model, r, DType.F32, 10, 8 * 12 * 12), model);
            Graph g = Graph.trace(List.of(xs), (ops, in) -> List.of(ops.softmax(ops.linear(ops.reshape(ops.relu(
                    ops.conv2d(in.get(0), ops.constant(w1), null, Hw.of(1), Hw.of(1), Hw.of(1), 1)), 2, -1), ops.constant(w2), null), 1)));
            Executable forward = g.compile(gpu);
            Executable jvp = Autodiff.jvp(g).compile(gpu);
            int threads = 8;
            int perThread = 10;
            List<Tensor> inputs = new ArrayList<>();
            for (int i = 0; i < threads * perThread * 2; i++) {
                inputs.add(gpu.toDevice(normal(model, r, DType.F32, 2, 3, 12, 12), model));
            }
            List<float[]> expected = new ArrayList<>();
            for (int i = 0; i < threads * perThread; i++) {
                try (Arena a = Arena.ofConfined()) {
                    expected.add(forward.run(a, List.of(inputs.get(2 * i))).get(0).toFloatArray());
                    expected.add(jvp.run(a, List.of(inputs.get(2 * i), inputs.get(2 * i + 1))).get(1).toFloatArray());
                }
            }
            gpu.synchronize();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int first = t * perThread;
                    done.add(pool.submit(() -> {
                        for (int k = 0; k < perThread; k++) {
                            int i = first + (k * 7) % perThread;
                            try (Arena a = Arena.ofConfined()) {
                                assertArrayEquals(expected.get(2 * i), forward.run(a, List.of(inputs.get(2 * i))).get(0).toFloatArray(), 0f);
                                assertArrayEquals(expected.get(2 * i + 1),
                                        jvp.run(a, List.of(inputs.get(2 * i), inputs.get(2 * i + 1))).get(1).toFloatArray(), 0f);
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
        }
    }

    /**
     * bf16 and f32 products through the backend (so on cuBLASLt where it has an algorithm) against the float64
     * reference on the same (bf16-rounded) operands: square, non-square, batched with broadcasting (a shared B
     * folded into one product, a shared A read with batch stride 0, broadcast batch axes that need a copy),
     * transposed views, a bias. Relative Frobenius error below 1e-2 for bf16 (the result is rounded to bf16, about
     * 2e-3) and 1e-5 for f32 (f32 accumulation gives about 1e-7; TF32 would give about 1e-3 and fail). The 512^3
     * products must take the cuBLASLt path, and a repeated product must reuse its plan (no second heuristic query).
     */
    @Test
    void cublasLtMatmulsMatchTheReference() {
        record Case(String name, long[] a, long[] b, boolean transposeA, boolean transposeB, long[] bias) {
        }
        List<Case> cases = List.of(
                new Case("square 512", new long[] {512, 512}, new long[] {512, 512}, false, false, null),
                new Case("300x70 @ 70x130", new long[] {300, 70}, new long[] {70, 130}, false, false, null),
                new Case("batched 3-D", new long[] {3, 64, 48}, new long[] {3, 48, 40}, false, false, null),
                new Case("batched, shared B", new long[] {4, 96, 80}, new long[] {80, 112}, false, false, null),
                new Case("batched, shared A", new long[] {96, 80}, new long[] {4, 80, 112}, false, false, null),
                new Case("broadcast batch axes", new long[] {2, 1, 64, 48}, new long[] {3, 48, 40}, false, false, null),
                // stored shapes of the transposed operands: the product is (300x70)^T-view @ (70x130)^T-view
                new Case("transposed views", new long[] {70, 300}, new long[] {130, 70}, true, true, null),
                new Case("batched transposed A", new long[] {3, 48, 64}, new long[] {3, 48, 40}, true, false, null),
                new Case("linear with bias", new long[] {64, 256}, new long[] {128, 256}, false, true, new long[] {128}));
        RefBackend ref = new RefBackend();
        Random r = new Random(24);
        for (DType dtype : List.of(DType.BF16, DType.F32)) {
            for (Case c : cases) {
                try (Arena a = Arena.ofConfined()) {
                    Tensor ah = normal(a, r, DType.F32, c.a()).to(a, dtype);
                    Tensor bh = normal(a, r, DType.F32, c.b()).to(a, dtype);
                    Tensor biash = c.bias() == null ? null : normal(a, r, DType.F32, c.bias()).to(a, dtype);
                    Tensor a64 = view(ah.to(a, DType.F64), c.transposeA());
                    Tensor b64 = view(bh.to(a, DType.F64), c.transposeB());
                    Tensor ad = view(gpu.toDevice(ah, a), c.transposeA());
                    Tensor bd = view(gpu.toDevice(bh, a), c.transposeB());
                    Eager onRef = new Eager(ref, a);
                    Eager onGpu = new Eager(gpu, a);
                    double[] want = (biash == null ? onRef.matmul(a64, b64) : onRef.matmul(a64, b64, biash.to(a, DType.F64)))
                            .toDoubleArray();
                    long lt = CublasLtMatmul.calls();
                    long queries = CublasLtMatmul.heuristicQueries();
                    Tensor got = biash == null ? onGpu.matmul(ad, bd) : onGpu.matmul(ad, bd, gpu.toDevice(biash, a));
                    double err = relativeFrobenius(want, got.toDoubleArray());
                    boolean onLt = CublasLtMatmul.calls() > lt;
                    String what = dtype + " " + c.name() + " " + ad.shape() + " @ " + bd.shape();
                    System.out.printf("cublasLt matmul %-50s %s  relative error %.2e%n", what,
                            onLt ? "cuBLASLt" : "cublasGemmEx", err);
                    assertTrue(err < (dtype == DType.BF16 ? 1e-2 : 1e-5), what + ": relative Frobenius error " + err);
                    if (c.name().equals("square 512") && CublasLtMatmul.ENABLED) {
                        assertTrue(onLt, what + " did not take the cuBLASLt path");
                        assertEquals(queries + 1, CublasLtMatmul.heuristicQueries(), what + ": one heuristic query");
                        Tensor again = onGpu.matmul(ad, bd);
                        assertEquals(queries + 1, CublasLtMatmul.heuristicQueries(), what + ": the second call reuses the plan");
                        assertEquals(lt + 2, CublasLtMatmul.calls(), what + ": the second call also runs on cuBLASLt");
                        assertArrayEquals(got.toFloatArray(), again.toFloatArray(), 0f, what + ": same plan, same result");
                    }
                }
            }
        }
    }

    private static Tensor view(Tensor t, boolean transpose) {
        return transpose ? t.transpose(-2, -1) : t;
    }

    private static double relativeFrobenius(double[] want, double[] got) {
        assertEquals(want.length, got.length);
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < want.length; i++) {
            diff += (want[i] - got[i]) * (want[i] - got[i]);
            norm += want[i] * want[i];
        }
        assertTrue(norm > 0, "a zero reference result checks nothing");
        return Math.sqrt(diff / norm);
    }

    /** Matmul and convolution of benchmark sizes agree with oneDNN (bf16 and f32). */
    @Test
    void largeMatmulAndConvolutionMatchTheCpu() {
        try (Arena a = Arena.ofConfined()) {
            Random r = new Random(6);
            Tensor x = normal(a, r, DType.F32, 256, 512);
            Tensor y = normal(a, r, DType.F32, 512, 384);
            float[] want = new Eager(cpu, a).matmul(x, y).toFloatArray();
            assertClose("matmul f32", want, new Eager(gpu, a).matmul(gpu.toDevice(x, a), gpu.toDevice(y, a)).toFloatArray(), 1e-4);
            assertClose("matmul of transposed views", new Eager(cpu, a).matmul(y.transpose(0, 1), x.transpose(0, 1)).toFloatArray(),
                    new Eager(gpu, a).matmul(gpu.toDevice(y, a).transpose(0, 1), gpu.toDevice(x, a).transpose(0, 1)).toFloatArray(), 1e-4);
            Tensor xb = x.to(a, DType.BF16);
            Tensor yb = y.to(a, DType.BF16);
            assertClose("matmul bf16", new Eager(cpu, a).matmul(xb, yb).toFloatArray(),
                    new Eager(gpu, a).matmul(gpu.toDevice(xb, a), gpu.toDevice(yb, a)).toFloatArray(), 2e-2);
            Tensor img = normal(a, r, DType.F32, 32, 64, 32, 32);
            Tensor k = normal(a, r, DType.F32, 64, 64, 3, 3);
            assertClose("conv2d", new Eager(cpu, a).conv2d(img, k, null, Hw.of(1), Hw.of(1), Hw.of(1), 1).toFloatArray(),
                    new Eager(gpu, a).conv2d(gpu.toDevice(img, a), gpu.toDevice(k, a), null, Hw.of(1), Hw.of(1), Hw.of(1), 1).toFloatArray(),
                    1e-4);
        }
    }
}

package org.lipa.app.cli;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.List;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a small MLP forward on oneDNN and prints where the time goes: the first call (which creates
 * the primitives) apart from the steady state, which reuses them.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Run a small MLP forward pass on oneDNN and print timings.")
public final class DemoCommand implements Runnable {
    @Option(names = "--batch", description = "Batch size (default: ${DEFAULT-VALUE}).")
    int batch = 128;

    @Option(names = "--widths", split = ",", description = "Layer widths, input first (default: 784,512,512,512,10).")
    int[] widths = {784, 512, 512, 512, 10};

    @Option(names = "--iterations", description = "Timed forward passes (default: ${DEFAULT-VALUE}).")
    int iterations = 50;

    @Option(names = "--seed", description = "Seed for the random weights and inputs (default: ${DEFAULT-VALUE}).")
    long seed = 42;

    @Override
    public void run() {
        if (widths.length < 2 || batch <= 0 || iterations <= 0 || Arrays.stream(widths).anyMatch(w -> w <= 0)) {
            throw new IllegalArgumentException("--widths needs at least two positive sizes, --batch and --iterations must be > 0");
        }
        Random rnd = new Random(seed);
        try (CpuBackend cpu = CpuBackend.open(); Arena model = Arena.ofConfined()) {
            System.out.println("backend: " + cpu.name());
            Tensor[] w = new Tensor[widths.length - 1];
            Tensor[] b = new Tensor[widths.length - 1];
            double flops = 0;
            for (int l = 0; l < w.length; l++) {
                // He-uniform, as PyTorch's default for ReLU networks would be
                w[l] = random(model, rnd, Math.sqrt(6.0 / widths[l]), widths[l + 1], widths[l]);
                b[l] = random(model, rnd, 0.01, widths[l + 1]);
                flops += 2.0 * batch * widths[l] * widths[l + 1];
            }
            Tensor x = random(model, rnd, 1.0, batch, widths[0]);
            System.out.printf(Locale.ROOT, "MLP %s at batch %d: %.3f GFLOP per forward pass%n",
                    Arrays.toString(widths), batch, flops / 1e9);

            long t0 = System.nanoTime();
            Tensor first = forward(cpu, x, w, b, model);
            long firstNs = System.nanoTime() - t0;
            long created = cpu.primitiveCreations();
            double[] ms = new double[iterations];
            for (int i = -iterations; i < iterations; i++) { // the first half warms up the JIT
                try (Arena step = Arena.ofConfined()) {
                    long s = System.nanoTime();
                    forward(cpu, x, w, b, step);
                    if (i >= 0) {
                        ms[i] = (System.nanoTime() - s) / 1e6;
                    }
                }
            }
            Arrays.sort(ms);
            double median = ms[iterations / 2];
            System.out.printf(Locale.ROOT, "first call:  %8.3f ms (creates %d oneDNN primitives)%n", firstNs / 1e6, created);
            System.out.printf(Locale.ROOT, "eager:        %7.3f ms median, %.3f ms best over %d calls after as many to warm up: %.1f GFLOP/s%n",
                    median, ms[0], iterations, flops / 1e9 / (median / 1e3));
            System.out.printf(Locale.ROOT, "primitives created after the first call: %d%n", cpu.primitiveCreations() - created);

            // the same network traced once and planned: one buffer per run, no per-op allocation
            Graph g = Graph.trace(List.of(x.spec()), (ops, in) -> {
                var h = in.get(0);
                for (int l = 0; l < w.length; l++) {
                    h = ops.linear(h, ops.constant(w[l]), ops.constant(b[l]));
                    if (l < w.length - 1) {
                        h = ops.relu(h);
                    }
                }
                return List.of(h);
            });
            Executable exe = g.compile(cpu);
            double[] planned = new double[iterations];
            for (int i = -iterations; i < iterations; i++) {
                try (Arena step = Arena.ofConfined()) {
                    long s = System.nanoTime();
                    exe.run(step, List.of(x));
                    if (i >= 0) {
                        planned[i] = (System.nanoTime() - s) / 1e6;
                    }
                }
            }
            Arrays.sort(planned);
            double pm = planned[iterations / 2];
            System.out.printf(Locale.ROOT, "traced graph: %7.3f ms median, %.3f ms best: %.1f GFLOP/s (%d KiB planned per run)%n",
                    pm, planned[0], flops / 1e9 / (pm / 1e3), exe.planBytes() / 1024);
            System.out.println("logits of sample 0: " + first.slice(0, 0, 1));
        }
    }

    private static Tensor forward(CpuBackend cpu, Tensor x, Tensor[] w, Tensor[] b, Arena arena) {
        Eager ops = new Eager(cpu, arena);
        Tensor h = x;
        for (int l = 0; l < w.length; l++) {
            h = ops.linear(h, w[l], b[l]);
            if (l < w.length - 1) {
                h = ops.relu(h);
            }
        }
        return h;
    }

    private static Tensor random(Arena arena, Random rnd, double bound, long... dims) {
        float[] v = new float[Math.toIntExact(Arrays.stream(dims).reduce(1, Math::multiplyExact))];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
        }
        return Tensor.of(arena, DType.F32, v, dims);
    }
}

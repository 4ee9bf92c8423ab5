package org.lipa.bench;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Hw;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Softmax;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * One op-throughput figure: a Lipa op with its input and output tensors, and the work it does (floating
 * point operations for matmul and convolution, bytes moved for the memory-bound layer norm and softmax).
 * The C-direct baseline ({@code native/bench/ops.c}) and the peers use the same figure names and shapes.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofShared(); CpuBackend cpu = CpuBackend.open()) {
 *     OpCase c = OpCase.create("conv_fwd", arena);
 *     cpu.execute(c.op(), c.inputs(), c.outputs());
 * }
 * }</pre>
 *
 * @param name    the figure's name, such as {@code matmul256} or {@code conv_bwd_data}
 * @param op      the op Lipa runs
 * @param inputs  its inputs (seeded random values)
 * @param outputs its outputs, shaped by the op's rule
 * @param flop    floating point operations per execution (0 for memory-bound figures)
 * @param bytes   bytes read and written per execution by an ideal kernel (for memory-bound figures)
 */
public record OpCase(String name, Op op, List<Tensor> inputs, List<Tensor> outputs, double flop, double bytes) {

    /** Every figure, in the order of the results table. */
    public static final List<String> FIGURES = List.of("matmul64", "matmul256", "matmul1024", "matmul2048", "matmul128x784x512",
            "conv_fwd", "conv_bwd_data", "conv_bwd_weights", "layer_norm", "softmax");

    /** Convolution figures: batch 32, 64 to 64 channels, 3x3 kernel, 32x32 images, stride 1, padding 1. */
    static final int N = 32;
    static final int C = 64;
    static final int HW = 32;
    static final int K = 3;
    /** Rows and columns of the layer-norm and softmax input. */
    static final int ROWS = 128;
    static final int COLS = 4096;

    /** Floating point operations of one execution of figure {@code name} (0 for the memory-bound ones). */
    public static double flop(String name) {
        return switch (name) {
            case "matmul64" -> 2.0 * 64 * 64 * 64;
            case "matmul256" -> 2.0 * 256 * 256 * 256;
            case "matmul1024" -> 2.0 * 1024 * 1024 * 1024;
            case "matmul2048" -> 2.0 * 2048 * 2048 * 2048;
            case "matmul128x784x512" -> 2.0 * 128 * 784 * 512;
            case "conv_fwd", "conv_bwd_data", "conv_bwd_weights" -> 2.0 * N * C * HW * HW * C * K * K;
            case "layer_norm", "softmax" -> 0;
            default -> throw new IllegalArgumentException("unknown op figure '" + name + "'; known: " + FIGURES);
        };
    }

    /** Bytes an ideal kernel reads and writes in one execution of a memory-bound figure (0 for the others). */
    public static double bytes(String name) {
        return switch (name) {
            // read x once and write y once (the statistics and parameters are negligible)
            case "layer_norm", "softmax" -> 2.0 * Float.BYTES * ROWS * COLS;
            default -> {
                flop(name); // rejects unknown names
                yield 0;
            }
        };
    }

    /** The figure called {@code name} with tensors in {@code arena}; see {@link #FIGURES}. */
    public static OpCase create(String name, Arena arena) {
        Random r = new Random(1);
        Hw one = Hw.of(1);
        double convFlop = flop("conv_fwd");
        return switch (name) {
            case "matmul64" -> matmul(name, arena, r, 64, 64, 64);
            case "matmul256" -> matmul(name, arena, r, 256, 256, 256);
            case "matmul1024" -> matmul(name, arena, r, 1024, 1024, 1024);
            case "matmul2048" -> matmul(name, arena, r, 2048, 2048, 2048);
            case "matmul128x784x512" -> matmul(name, arena, r, 128, 784, 512);
            case "conv_fwd" -> of(name, new Conv2d(one, one, one, 1), arena, convFlop, 0,
                    random(arena, r, N, C, HW, HW), random(arena, r, C, C, K, K));
            // the gradient with respect to the input, as Lipa's VJP rule computes it: a transposed convolution
            case "conv_bwd_data" -> of(name, new ConvTranspose2d(one, one, Hw.of(0), one, 1), arena, convFlop, 0,
                    random(arena, r, N, C, HW, HW), random(arena, r, C, C, K, K));
            case "conv_bwd_weights" -> of(name, new Conv2dWeightGrad(one, one, one, 1, Hw.of(K)), arena, convFlop, 0,
                    random(arena, r, N, C, HW, HW), random(arena, r, N, C, HW, HW));
            case "layer_norm" -> of(name, new LayerNorm(1, 1e-5), arena, 0, bytes(name),
                    random(arena, r, ROWS, COLS), random(arena, r, COLS), random(arena, r, COLS));
            case "softmax" -> of(name, new Softmax(1, false), arena, 0, bytes(name), random(arena, r, ROWS, COLS));
            default -> throw new IllegalArgumentException("unknown op figure '" + name + "'; known: " + FIGURES);
        };
    }

    private static OpCase matmul(String name, Arena arena, Random r, int m, int k, int n) {
        return of(name, new MatMul(), arena, flop(name), 0, random(arena, r, m, k), random(arena, r, k, n));
    }

    private static OpCase of(String name, Op op, Arena arena, double flop, double bytes, Tensor... in) {
        List<TensorSpec> specs = new ArrayList<>();
        for (Tensor t : in) {
            specs.add(t.spec());
        }
        List<Tensor> out = new ArrayList<>();
        for (TensorSpec s : op.infer(specs)) {
            out.add(Tensor.zeros(arena, s.dtype(), s.shape()));
        }
        return new OpCase(name, op, List.of(in), List.copyOf(out), flop, bytes);
    }

    static Tensor random(Arena arena, Random r, long... dims) {
        float[] a = new float[Math.toIntExact(Shape.of(dims).size())];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (2 * r.nextDouble() - 1);
        }
        return Tensor.of(arena, DType.F32, a, dims);
    }
}

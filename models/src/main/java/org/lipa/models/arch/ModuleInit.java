package org.lipa.models.arch;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.backend.Backend;
import org.lipa.eval.Eager;
import org.lipa.models.init.Init;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.Module;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Ops;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Initializers that act on a whole model: a scheme applied to every weight, LSUV (data-driven) and Fixup
 * (for residual networks without normalization).
 *
 * <pre>{@code
 * ModuleInit.reinitialize(mlp, Init.Scheme.ORTHOGONAL, new Random(0));
 * List<Double> variances = ModuleInit.lsuv(cpu, mlp, batch, 0.1, 10, new Random(0));
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class ModuleInit {
    private ModuleInit() {
    }

    /** The weights a scheme initializes: parameters of rank >= 2 named {@code weight} (or a parametrization's {@code weight_v}, {@code weight_orig}). */
    public static List<Tensor> weights(Module m) {
        List<Tensor> w = new ArrayList<>();
        m.parameters().forEach((name, t) -> {
            String last = name.substring(name.lastIndexOf('.') + 1);
            if (t.rank() >= 2 && (last.equals("weight") || last.equals("weight_v") || last.equals("weight_orig"))) {
                w.add(t);
            }
        });
        return w;
    }

    /** Draws every weight from {@code scheme} and zeroes every bias; normalization layers are left as they are. */
    public static void reinitialize(Module m, Init.Scheme scheme, Random r) {
        for (Tensor w : weights(m)) {
            w.copyFrom(scheme.sample(r, w.shape().toArray()));
        }
        m.parameters().forEach((name, t) -> {
            if (name.equals("bias") || name.endsWith(".bias")) {
                t.copyFrom(new double[Math.toIntExact(t.size())]);
            }
        });
    }

    /**
     * Layer-sequential unit-variance initialization (Mishkin and Matas, 2016): orthogonal weights, then, layer
     * by layer in order, each weight is scaled by {@code 1/sqrt(var)} of its layer's output on {@code batch}
     * until the variance is within {@code tol} of 1 or {@code maxIter} passes were made.
     *
     * @return each weight's final output variance, in order
     */
    public static List<Double> lsuv(Backend backend, Module m, Tensor batch, double tol, int maxIter, Random r) {
        if (!(tol > 0) || maxIter <= 0) {
            throw new IllegalArgumentException("lsuv: tol must be > 0 and maxIter > 0, got " + tol + ", " + maxIter);
        }
        reinitialize(m, Init.Scheme.ORTHOGONAL, r);
        List<Double> variances = new ArrayList<>();
        for (Tensor w : weights(m)) {
            double var = Double.NaN;
            for (int it = 0; it < maxIter; it++) {
                var = outputVariance(backend, m, batch, w);
                if (Math.abs(var - 1) < tol || var == 0 || !Double.isFinite(var)) {
                    break;
                }
                double s = 1 / Math.sqrt(var);
                double[] v = w.toDoubleArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] *= s;
                }
                w.copyFrom(v);
            }
            variances.add(var);
        }
        return variances;
    }

    /** The variance of the first matmul or convolution output that reads {@code w}, in an eager forward pass. */
    private static double outputVariance(Backend backend, Module m, Tensor batch, Tensor w) {
        try (Arena arena = Arena.ofConfined()) {
            Eager eager = new Eager(backend, arena);
            double[][] found = new double[1][];
            Ops<Tensor> probe = new Ops<>() {
                @Override
                public List<Tensor> apply(Op op, List<Tensor> inputs) {
                    List<Tensor> out = eager.apply(op, inputs);
                    boolean weighted = op instanceof MatMul || op instanceof org.lipa.ops.Conv2d;
                    if (found[0] == null && weighted && inputs.stream().anyMatch(t -> sameStorage(t, w))) {
                        found[0] = out.get(0).toDoubleArray();
                    }
                    return out;
                }

                @Override
                public Tensor constant(Tensor value) {
                    return value;
                }

                @Override
                public TensorSpec spec(Tensor x) {
                    return x.spec();
                }
            };
            m.forward(probe, batch);
            if (found[0] == null) {
                throw new IllegalStateException("lsuv: no matmul or convolution read a weight of shape " + w.shape());
            }
            double mean = 0;
            for (double v : found[0]) {
                mean += v;
            }
            mean /= found[0].length;
            double var = 0;
            for (double v : found[0]) {
                var += (v - mean) * (v - mean);
            }
            return var / found[0].length;
        }
    }

    private static boolean sameStorage(Tensor a, Tensor b) {
        return a.storage().address() == b.storage().address();
    }

    /**
     * Fixup (Zhang et al., 2019) for a {@link ResNet} built with {@link ResNet.Norm#FIXUP}: He-normal
     * convolutions, the first convolution of each of the {@code L} residual branches scaled by
     * {@code L^(-1/(2m-2))} with {@code m = 2} layers per branch, the last one and the classifier zero, the
     * scalar biases zero and multipliers one.
     */
    public static void fixup(ResNet net, Random r) {
        List<ResNet.BasicBlock> blocks = net.blocks();
        double scale = Math.pow(blocks.size(), -1.0 / (2 * 2 - 2));
        reinitialize(net, Init.Scheme.HE_NORMAL_IN, r);
        for (ResNet.BasicBlock b : blocks) {
            List<Conv2d> branch = b.branch();
            Tensor first = branch.get(0).parameters().get("weight");
            double[] v = first.toDoubleArray();
            for (int i = 0; i < v.length; i++) {
                v[i] *= scale;
            }
            first.copyFrom(v);
            Tensor last = branch.get(1).parameters().get("weight");
            last.copyFrom(new double[Math.toIntExact(last.size())]);
        }
        for (Map.Entry<String, Tensor> e : net.parameters().entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name.startsWith("fc.")) {
                t.copyFrom(new double[Math.toIntExact(t.size())]);
            } else if (name.endsWith("scale")) {
                double[] ones = new double[Math.toIntExact(t.size())];
                java.util.Arrays.fill(ones, 1);
                t.copyFrom(ones);
            }
        }
    }
}

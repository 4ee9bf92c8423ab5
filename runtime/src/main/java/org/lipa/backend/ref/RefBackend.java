package org.lipa.backend.ref;

import java.util.List;
import org.lipa.backend.Backend;
import org.lipa.ops.BatchNorm;
import org.lipa.ops.Binary;
import org.lipa.ops.Cast;
import org.lipa.ops.Concat;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Conv2dWeightGrad;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.ops.Eltwise;
import org.lipa.ops.EltwiseGrad;
import org.lipa.ops.GroupNorm;
import org.lipa.ops.LayerNorm;
import org.lipa.ops.MatMul;
import org.lipa.ops.Op;
import org.lipa.ops.Pool2d;
import org.lipa.ops.Pool2dGrad;
import org.lipa.ops.Pool2dTangent;
import org.lipa.ops.Full;
import org.lipa.ops.RandomSample;
import org.lipa.ops.Reduce;
import org.lipa.ops.Softmax;
import org.lipa.ops.SoftmaxGrad;
import org.lipa.ops.LayerNormGrad;
import org.lipa.ops.NormGrad;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.Tensor;

/**
 * The reference backend: every op in plain Java, computed in float64 with straightforward loops.
 * It is the specification of what each op means and the oracle the native backends are tested
 * against, so clarity wins over speed here. Inputs of any dtype are widened to double; results are
 * rounded to the output's dtype.
 *
 * <p>Thread safety: stateless; safe from any number of threads.
 */
public final class RefBackend implements Backend {

    @Override
    public String name() {
        return "ref";
    }

    @Override
    public void execute(Op op, List<Tensor> inputs, List<Tensor> outputs) {
        Backend.checkCall(op, inputs, outputs);
        switch (op) {
            case SoftmaxGrad s -> composite(s, inputs, outputs);
            case LayerNormGrad n -> composite(n, inputs, outputs);
            case NormGrad n -> composite(n, inputs, outputs);
            case MatMul m -> RefLinalg.matmul(inputs, outputs.get(0));
            case Conv2d c -> RefLinalg.conv(c, inputs, outputs.get(0));
            case ConvTranspose2d c -> RefLinalg.convTranspose(c, inputs, outputs.get(0));
            case Conv2dWeightGrad c -> RefLinalg.convWeightGrad(c, inputs, outputs.get(0));
            case Eltwise e -> RefElementwise.eltwise(e, inputs.get(0), outputs.get(0));
            case EltwiseGrad e -> RefElementwise.eltwiseGrad(e, inputs.get(0), inputs.get(1), outputs.get(0));
            case Binary b -> RefElementwise.binary(b, inputs.get(0), inputs.get(1), outputs.get(0));
            case Softmax s -> RefNorm.softmax(s, inputs.get(0), outputs.get(0));
            case LayerNorm n -> RefNorm.layerNorm(n, inputs, outputs);
            case BatchNorm n -> RefNorm.batchNorm(n, inputs, outputs);
            case GroupNorm n -> RefNorm.groupNorm(n, inputs, outputs);
            case Pool2d p -> RefPool.pool(p, inputs.get(0), outputs.get(0));
            case Pool2dGrad p -> RefPool.poolGrad(p.pool(), inputs.get(0), inputs.get(1), outputs.get(0));
            case Pool2dTangent p -> RefPool.poolTangent(p.pool(), inputs.get(0), inputs.get(1), outputs.get(0));
            case RandomSample r -> r.fill(inputs.get(0), outputs.get(0), outputs.get(1));
            case Full f -> outputs.get(0).copyFrom(filled(outputs.get(0).size(), f.value()));
            case Reduce r -> RefReduce.reduce(r, inputs.get(0), outputs.get(0));
            case Concat c -> RefReduce.concat(c, inputs, outputs.get(0));
            case Cast c -> outputs.get(0).copyFrom(inputs.get(0).toDoubleArray());
            case ViewOp v -> throw new IllegalArgumentException(v.name() + " is a view and needs no kernel");
        }
    }

    /** Ops defined by other primitives run their definition, here, in float64. */
    private void composite(org.lipa.ops.Composite op, List<Tensor> inputs, List<Tensor> outputs) {
        try (java.lang.foreign.Arena tmp = java.lang.foreign.Arena.ofConfined()) {
            List<Tensor> wide = inputs.stream().map(t -> t.to(tmp, org.lipa.tensor.DType.F64)).toList();
            List<Tensor> r = op.decompose(new org.lipa.eval.Eager(this, tmp), wide);
            for (int i = 0; i < outputs.size(); i++) {
                outputs.get(i).copyFrom(r.get(i));
            }
        }
    }

    private static double[] filled(long n, double value) {
        double[] v = new double[Math.toIntExact(n)];
        java.util.Arrays.fill(v, value);
        return v;
    }

    /** Nothing to release. */
    @Override
    public void close() {
    }
}

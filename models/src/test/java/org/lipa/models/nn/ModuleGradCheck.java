package org.lipa.models.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.autodiff.Autodiff;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.graph.Executable;
import org.lipa.graph.Graph;
import org.lipa.graph.Node;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Checks a module's reverse-mode gradients against central finite differences, both in float64: the
 * module's state and input are copied to f64 and run on the reference backend, so the difference
 * quotient is accurate to about 1e-10 and a wrong rule cannot hide behind float32 noise.
 */
final class ModuleGradCheck {
    private ModuleGradCheck() {
    }

    /** Checks {@code d/dtheta sum(c * m(x))} at {@code samples} random coordinates of every parameter and of {@code x}. */
    static void check(Module m, Tensor x, int samples, long seed) {
        RefBackend ref = new RefBackend();
        Random r = new Random(seed);
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> state = new LinkedHashMap<>();
            m.state().forEach((k, t) -> state.put(k, t.to(a, DType.F64)));
            List<String> names = List.copyOf(state.keySet());
            Tensor x64 = x.to(a, DType.F64);
            Tensor y = m.forward(new Eager(ref, a), new LinkedHashMap<>(state), x64);
            double[] cv = new double[Math.toIntExact(y.size())];
            for (int i = 0; i < cv.length; i++) {
                cv[i] = r.nextGaussian();
            }
            Tensor c = Tensor.of(a, DType.F64, cv, y.shape().toArray());
            List<TensorSpec> specs = new ArrayList<>(List.of(x64.spec()));
            state.values().forEach(t -> specs.add(t.spec()));
            Graph loss = Graph.trace(specs, (ops, in) -> {
                Map<String, Node> s = new LinkedHashMap<>();
                for (int i = 0; i < names.size(); i++) {
                    s.put(names.get(i), in.get(1 + i));
                }
                return List.of(ops.sum(ops.mul(m.forward(ops, s, in.get(0)), ops.constant(c)), false));
            });
            Executable f = loss.compile(ref);
            List<Tensor> args = new ArrayList<>(List.of(x64));
            args.addAll(state.values());
            List<Tensor> grads = Autodiff.grad(loss).compile(ref).run(a, args);
            double base = f.run(a, args).get(0).item();
            assertEquals(base, grads.get(0).item(), 1e-9 * (1 + Math.abs(base)), "the gradient graph's loss");
            List<Integer> checked = new ArrayList<>(List.of(0));
            for (int i = 0; i < names.size(); i++) {
                if (m.parameters().containsKey(names.get(i))) {
                    checked.add(1 + i);
                }
            }
            for (int arg : checked) {
                Tensor t = args.get(arg);
                double[] v = t.toDoubleArray();
                double[] g = grads.get(1 + arg).toDoubleArray();
                String what = arg == 0 ? "input" : names.get(arg - 1);
                for (int s = 0; s < Math.min(samples, v.length); s++) {
                    int i = r.nextInt(v.length);
                    double h = 1e-6 * Math.max(1, Math.abs(v[i]));
                    double keep = v[i];
                    v[i] = keep + h;
                    t.copyFrom(v);
                    double plus = f.run(a, args).get(0).item();
                    v[i] = keep - h;
                    t.copyFrom(v);
                    double minus = f.run(a, args).get(0).item();
                    v[i] = keep;
                    t.copyFrom(v);
                    double fd = (plus - minus) / (2 * h);
                    double tol = 1e-6 * (1 + Math.abs(fd)) + 1e-12 * (1 + Math.abs(base)) / h;
                    assertTrue(Math.abs(fd - g[i]) <= tol, what + "[" + i + "]: reverse mode " + g[i] + ", finite differences " + fd);
                }
            }
        }
    }
}

package org.lipa.eval;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.lipa.backend.Backend;
import org.lipa.ops.Cast;
import org.lipa.ops.Op;
import org.lipa.ops.Ops;
import org.lipa.ops.ViewOp;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * Runs each op at once on a backend, allocating results in one arena (the caller's step arena).
 *
 * <pre>{@code
 * try (var cpu = CpuBackend.open(); var arena = Arena.ofConfined()) {
 *     var ops = new Eager(cpu, arena);
 *     Tensor h = ops.relu(ops.linear(x, w1, b1));
 *     Tensor loss = ops.crossEntropy(ops.linear(h, w2, b2), labels);
 * }
 * }</pre>
 *
 * <p>Not thread-safe when the arena is confined; create one per thread.
 */
public final class Eager extends Ops<Tensor> {
    private final Backend backend;
    private final Arena arena;

    public Eager(Backend backend, Arena arena) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.arena = Objects.requireNonNull(arena, "arena");
    }

    public Backend backend() {
        return backend;
    }

    public Arena arena() {
        return arena;
    }

    @Override
    public TensorSpec spec(Tensor x) {
        return Objects.requireNonNull(x, "tensor").spec();
    }

    @Override
    public Tensor constant(Tensor value) {
        return Objects.requireNonNull(value, "value");
    }

    @Override
    public List<Tensor> apply(Op op, List<Tensor> inputs) {
        List<TensorSpec> outSpecs = op.infer(specs(inputs));
        if (op instanceof ViewOp view) {
            Tensor x = inputs.get(0);
            x.checkAlive(op.name() + " input");
            return List.of(viewOrCopy(view, x, backend, arena));
        }
        List<Tensor> outputs = new ArrayList<>(outSpecs.size());
        for (TensorSpec s : outSpecs) {
            outputs.add(backend.allocate(arena, s));
        }
        if (Thread.currentThread().isInterrupted()) {
            throw new java.util.concurrent.CancellationException("interrupted before " + op.name());
        }
        backend.execute(op, inputs, outputs);
        if (FiniteCheck.enabled()) {
            FiniteCheck.check(op, inputs, outputs, "(eager)");
        }
        return outputs;
    }

    /**
     * The view of {@code x}, or, for a reshape its strides do not allow, the reshape of a contiguous copy
     * that {@code backend} makes in {@code arena} (as PyTorch's {@code reshape} does).
     */
    public static Tensor viewOrCopy(ViewOp op, Tensor x, Backend backend, Arena arena) {
        if (op instanceof ViewOp.Reshape r && !x.isContiguous()) {
            try {
                return r.view(x);
            } catch (IllegalArgumentException notAView) {
                Tensor copy = backend.allocate(arena, x.spec());
                backend.execute(new Cast(x.dtype()), List.of(x), List.of(copy));
                return r.view(copy);
            }
        }
        return op.view(x);
    }
}

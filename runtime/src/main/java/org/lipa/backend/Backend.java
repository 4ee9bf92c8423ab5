package org.lipa.backend;

import java.util.List;
import org.lipa.ops.Op;
import org.lipa.tensor.Tensor;

/**
 * Executes primitive ops on tensors of one device.
 *
 * <p>The caller allocates the outputs (contiguous, shaped as {@link Op#infer} says); inputs may have
 * any strides, including the zero strides of broadcast views. A backend never allocates user-visible
 * memory, which lets a graph plan its buffers ahead. {@link org.lipa.ops.ViewOp}s need no kernel and
 * are not passed to {@code execute}.
 *
 * <p>Example, through the eager facade:
 * <pre>{@code
 * try (var cpu = CpuBackend.open(); var arena = Arena.ofConfined()) {
 *     var ops = new Eager(cpu, arena);
 *     Tensor y = ops.relu(ops.matmul(x, w));
 * }
 * }</pre>
 *
 * <p>Thread safety: stated by each implementation; both {@code RefBackend} and {@code CpuBackend} accept concurrent {@code execute} calls.
 */
public interface Backend extends AutoCloseable {
    /** A short name, like {@code ref} or {@code cpu (oneDNN 3.13)}. */
    String name();

    /**
     * Runs {@code op} on {@code inputs}, writing {@code outputs}.
     *
     * @throws IllegalArgumentException if inputs or outputs do not match what the op infers
     * @throws IllegalStateException    if a tensor's arena is closed or the backend is closed
     */
    void execute(Op op, List<Tensor> inputs, List<Tensor> outputs);

    /** Where this backend computes: its outputs (and inputs, except host ones it copies in) live there. */
    default org.lipa.memory.Device device() {
        return org.lipa.memory.Device.CPU;
    }

    /**
     * A tensor of {@code spec} for an op's output on this backend's device, freed when {@code arena}
     * closes: zeroed host memory, or uninitialized device memory (every op writes all of its outputs).
     */
    default Tensor allocate(java.lang.foreign.Arena arena, org.lipa.tensor.TensorSpec spec) {
        return Tensor.zeros(arena, spec.dtype(), spec.shape());
    }

    /**
     * One buffer of {@code bytes} on this backend's device, which a planner carves tensors out of with
     * {@link #wrap}; its contents are unspecified (every op writes all of its outputs), so a host backend
     * hands out a cached block an earlier run gave back ({@link org.lipa.memory.HostMemory#allocateScratch}).
     */
    default java.lang.foreign.MemorySegment allocateBuffer(java.lang.foreign.Arena arena, long bytes) {
        return org.lipa.memory.HostMemory.allocateScratch(arena, bytes);
    }

    /** A contiguous tensor of {@code spec} over {@code buffer}, a slice of {@link #allocateBuffer}'s result. */
    default Tensor wrap(java.lang.foreign.MemorySegment buffer, org.lipa.tensor.TensorSpec spec) {
        return Tensor.wrap(buffer, spec.dtype(), spec.shape());
    }

    /**
     * Whether a planned graph should store output {@code output} of {@code op} channels-last: a 4-D
     * {@code [N, C, H, W]} tensor whose bytes are laid out as {@code [N, H, W, C]} (strides
     * {@code [HWC, 1, WC, C]}), because this backend's kernels read and write that layout without the
     * reorders row-major costs them. {@code inputsChannelsLast[i]} says how input {@code i} is stored. A
     * backend that answers true for an op must accept such outputs for it in {@link #execute}. The default
     * keeps every output row-major.
     */
    default boolean channelsLast(Op op, List<org.lipa.tensor.TensorSpec> inputs, boolean[] inputsChannelsLast, int output) {
        return false;
    }

    /** Releases native resources; the backend cannot execute afterwards. */
    @Override
    void close();

    /**
     * The checks every backend makes before any kernel runs: arenas open, outputs contiguous and of the
     * specs the op infers from the inputs. Backends call this first, so bad input never reaches native code.
     */
    static void checkCall(Op op, List<Tensor> inputs, List<Tensor> outputs) {
        checkCall(op, inputs, outputs, false);
    }

    /**
     * As {@link #checkCall(Op, List, List)}; with {@code denseOutputs}, outputs may also be dense in another
     * axis order (see {@link Tensor#isDense()}), for a backend that writes them so ({@link #channelsLast}).
     */
    static void checkCall(Op op, List<Tensor> inputs, List<Tensor> outputs, boolean denseOutputs) {
        java.util.Objects.requireNonNull(op, "op");
        if (op instanceof org.lipa.ops.ViewOp) {
            throw new IllegalArgumentException(op.name() + " is a view: apply it with ViewOp.view, not a backend");
        }
        var specs = new java.util.ArrayList<org.lipa.tensor.TensorSpec>(inputs.size());
        for (int i = 0; i < inputs.size(); i++) {
            Tensor t = java.util.Objects.requireNonNull(inputs.get(i), () -> op.name() + ": input is null");
            t.checkAlive(op.name() + " input " + i);
            specs.add(t.spec());
        }
        var expected = op.infer(specs);
        if (expected.size() != outputs.size()) {
            throw new IllegalArgumentException(op.name() + " produces " + expected.size() + " outputs, "
                    + outputs.size() + " were given");
        }
        for (int i = 0; i < outputs.size(); i++) {
            Tensor t = java.util.Objects.requireNonNull(outputs.get(i), () -> op.name() + ": output is null");
            t.checkAlive(op.name() + " output " + i);
            if (!t.spec().equals(expected.get(i))) {
                throw new IllegalArgumentException(op.name() + ": output " + i + " is " + t.spec() + " but the op produces "
                        + expected.get(i));
            }
            if (!t.isContiguous() && !(denseOutputs && t.isDense())) {
                throw new IllegalArgumentException(op.name() + ": output " + i + " must be " + (denseOutputs ? "dense" : "contiguous")
                        + ", but its strides are " + java.util.Arrays.toString(t.strides()));
            }
        }
    }
}

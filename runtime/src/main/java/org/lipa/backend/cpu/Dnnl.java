package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

import java.util.Map;

/**
 * The one status check for oneDNN calls:
 * {@code Dnnl.check(dnnl_matmul_primitive_desc_create(...), "dnnl_matmul_primitive_desc_create")}.
 *
 * <p>oneDNN's C API has no status-to-string function, so the names and meanings below are taken
 * from {@code dnnl_status_t} in {@code oneapi/dnnl/dnnl_common_types.h}. The values come from the
 * generated bindings, not from literals, so a regenerated header cannot silently renumber them.
 * Reading these constants does not need the native library to be loaded.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Dnnl {
    private record Status(String name, String meaning) {
    }

    private static final Map<Integer, Status> STATUSES = Map.ofEntries(
            Map.entry(dnnl_success(), new Status("dnnl_success", "the operation was successful")),
            Map.entry(dnnl_out_of_memory(), new Status("dnnl_out_of_memory",
                    "oneDNN could not allocate memory (scratchpad, workspace or a JIT kernel)")),
            Map.entry(dnnl_invalid_arguments(), new Status("dnnl_invalid_arguments",
                    "the arguments are not valid for the call: check shapes, strides, data types and null handles")),
            Map.entry(dnnl_unimplemented(), new Status("dnnl_unimplemented",
                    "no implementation exists for this combination of shapes, layouts, data types and attributes")),
            Map.entry(dnnl_last_impl_reached(), new Status("dnnl_last_impl_reached",
                    "there is no further implementation to iterate to")),
            Map.entry(dnnl_runtime_error(), new Status("dnnl_runtime_error",
                    "the primitive or engine failed while executing")),
            Map.entry(dnnl_not_required(), new Status("dnnl_not_required",
                    "the queried element is not required for this primitive")),
            Map.entry(dnnl_invalid_graph(), new Status("dnnl_invalid_graph", "the graph is not legitimate")),
            Map.entry(dnnl_invalid_graph_op(), new Status("dnnl_invalid_graph_op",
                    "the operation is not legitimate according to its op schema")),
            Map.entry(dnnl_invalid_shape(), new Status("dnnl_invalid_shape",
                    "the shape cannot be inferred or compiled")),
            Map.entry(dnnl_invalid_data_type(), new Status("dnnl_invalid_data_type",
                    "the data type cannot be inferred or compiled")));

    /** Checked oneDNN calls made so far, by every backend: the downcall counter operators read. */
    private static final java.util.concurrent.atomic.LongAdder CALLS = new java.util.concurrent.atomic.LongAdder();

    private Dnnl() {
    }

    /** oneDNN calls made through {@link #check} (nearly all of them: every call that returns a status). */
    public static long downcalls() {
        return CALLS.sum();
    }

    /**
     * Returns normally when {@code status} is {@code dnnl_success}; otherwise throws.
     *
     * @param status the {@code dnnl_status_t} a oneDNN function returned
     * @param call the name of that function, for the message
     * @throws DnnlException naming {@code call}, the status and what it means
     */
    public static void check(int status, String call) {
        CALLS.increment();
        if (status != dnnl_success()) {
            throw new DnnlException(call + " failed: " + describe(status), status);
        }
    }

    /** The status's enum name, like {@code dnnl_unimplemented}, or {@code unknown status N}. */
    public static String statusName(int status) {
        Status s = STATUSES.get(status);
        return s == null ? "unknown status " + status : s.name();
    }

    /** Name and meaning, like {@code dnnl_out_of_memory (oneDNN could not allocate memory ...)}. */
    static String describe(int status) {
        Status s = STATUSES.get(status);
        return s == null
                ? "unknown oneDNN status " + status + " (not in the dnnl_status_t the bindings were generated from)"
                : s.name() + " (" + s.meaning() + ")";
    }
}

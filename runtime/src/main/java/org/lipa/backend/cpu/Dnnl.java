package org.lipa.backend.cpu;

import static org.lipa.bindings.dnnl.dnnl_h.*;

/**
 * The one status check for oneDNN calls. oneDNN's C API has no status-to-string function, so the
 * names and meanings below follow {@code dnnl_status_t} in {@code dnnl_common_types.h}.
 */
final class Dnnl {
    private Dnnl() {
    }

    /**
     * Throws {@link DnnlException} naming {@code call} and the status unless {@code status} is {@code dnnl_success}.
     */
    static void check(int status, String call) {
        if (status != dnnl_success()) {
            throw new DnnlException(call + " failed: " + describe(status), status);
        }
    }

    /** Like {@code dnnl_invalid_arguments (the arguments are not valid for the call)}. */
    static String describe(int status) {
        if (status == dnnl_success()) {
            return "dnnl_success";
        } else if (status == dnnl_out_of_memory()) {
            return "dnnl_out_of_memory (oneDNN could not allocate memory)";
        } else if (status == dnnl_invalid_arguments()) {
            return "dnnl_invalid_arguments (the arguments are not valid for the call)";
        } else if (status == dnnl_unimplemented()) {
            return "dnnl_unimplemented (no implementation exists for these shapes, layouts or data types)";
        } else if (status == dnnl_last_impl_reached()) {
            return "dnnl_last_impl_reached (no further implementation to iterate to)";
        } else if (status == dnnl_runtime_error()) {
            return "dnnl_runtime_error (oneDNN failed while running)";
        } else if (status == dnnl_not_required()) {
            return "dnnl_not_required (the queried object is not needed)";
        } else if (status == dnnl_invalid_graph()) {
            return "dnnl_invalid_graph";
        } else if (status == dnnl_invalid_graph_op()) {
            return "dnnl_invalid_graph_op";
        } else if (status == dnnl_invalid_shape()) {
            return "dnnl_invalid_shape";
        } else if (status == dnnl_invalid_data_type()) {
            return "dnnl_invalid_data_type";
        }
        return "unknown oneDNN status " + status;
    }
}

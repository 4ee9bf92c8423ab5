package org.lipa.models.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.lipa.models.io.SafeTensors;
import org.lipa.models.optim.Optimizer;
import org.lipa.tensor.Tensor;

/**
 * Training state in one safetensors file: parameters ({@code param.<name>}), optimizer state
 * ({@code optim.<name>}) and, as metadata, the optimizer's step count and the caller's position (for
 * example the data-order seed and batch index). Resuming restores all of it in place, so a resumed run
 * repeats the uninterrupted one bit for bit on the same backend. The file is written to a temporary
 * name and moved into place, so a run killed while saving keeps the previous checkpoint.
 *
 * <p>Thread safety: not thread-safe; use one instance per thread.
 */
public final class Checkpoint {
    private Checkpoint() {
    }

    public static void save(Path file, Map<String, Tensor> parameters, Optimizer optimizer, Map<String, String> position)
            throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        parameters.forEach((k, v) -> all.put("param." + k, v));
        optimizer.state().forEach((k, v) -> all.put("optim." + k, v));
        Map<String, String> meta = new LinkedHashMap<>(position);
        meta.put("lipa.optimizer.steps", Long.toString(optimizer.steps()));
        SafeTensors.save(file, all, meta);
    }

    /**
     * Restores parameters and optimizer state in place and returns the saved position.
     *
     * @throws IllegalArgumentException naming a tensor that is missing or of another shape
     */
    public static Map<String, String> restore(Path file, Map<String, Tensor> parameters, Optimizer optimizer) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(SafeTensors.metadata(file));
        String steps = meta.remove("lipa.optimizer.steps");
        if (steps == null) {
            throw new IOException(file + ": not a Lipa checkpoint (no optimizer step count)");
        }
        try (Arena tmp = Arena.ofConfined()) {
            Map<String, Tensor> loaded = SafeTensors.load(file, tmp);
            Map<String, Tensor> params = new LinkedHashMap<>();
            Map<String, Tensor> state = new LinkedHashMap<>();
            loaded.forEach((k, v) -> {
                if (k.startsWith("param.")) {
                    params.put(k.substring(6), v);
                } else if (k.startsWith("optim.")) {
                    state.put(k.substring(6), v);
                }
            });
            SafeTensors.copyInto(params, parameters);
            SafeTensors.copyInto(state, optimizer.state());
        }
        optimizer.restoreSteps(Long.parseLong(steps));
        return meta;
    }
}

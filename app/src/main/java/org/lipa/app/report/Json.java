package org.lipa.app.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every number of an analysis as a JSON file, pretty-printed; records, maps, lists and arrays as Jackson writes them.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {
    }

    /** Writes {@code value} to {@code file} (non-finite numbers as the strings "Infinity", "NaN"). */
    public static void write(Path file, Object value) throws IOException {
        if (file.getParent() != null) {
            Files.createDirectories(file.getParent());
        }
        MAPPER.writeValue(file.toFile(), value);
    }

    /** Reads a file written by {@link #write} as maps, lists, strings and numbers. */
    public static Object read(Path file) throws IOException {
        return MAPPER.readValue(file.toFile(), Object.class);
    }
}

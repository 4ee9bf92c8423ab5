package org.lipa.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every public top-level type of the runtime, models and app says in its Javadoc how it may be used from several
 * threads (the README promises it): a source scan, run from the app module, the top of the build, which sees the
 * other modules' sources beside it.
 */
class ThreadSafetyDocsTest {
    private static final Pattern PUBLIC_TYPE = Pattern.compile("(?m)^public (final |abstract |sealed |non-sealed )*(class|record|interface|enum) ");
    private static final Pattern STATED = Pattern.compile("(?i)thread safety|thread-safe|threads:");

    @Test
    void everyPublicTypeStatesItsThreadSafety() throws IOException {
        Path root = Path.of("").toAbsolutePath().getParent();
        List<String> missing = new ArrayList<>();
        int seen = 0;
        for (String module : List.of("runtime", "models", "app")) {
            Path src = root.resolve(module).resolve("src/main/java");
            assertTrue(Files.isDirectory(src), "sources of " + module + " at " + src);
            try (Stream<Path> files = Files.walk(src)) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    String text = Files.readString(f);
                    if (PUBLIC_TYPE.matcher(text).find()) {
                        seen++;
                        if (!STATED.matcher(text).find()) {
                            missing.add(root.relativize(f).toString());
                        }
                    }
                }
            }
        }
        assertTrue(seen > 150, "public types found: " + seen);
        assertEquals(List.of(), missing, "public types that do not state their thread safety");
    }
}

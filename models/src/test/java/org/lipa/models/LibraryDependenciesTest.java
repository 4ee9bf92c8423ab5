package org.lipa.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * The models library pulls in no application dependency: picocli, XChart and progressbar belong to the app module
 * (the command line, the report, the experiments), and the app itself is above models. The test class path holds
 * models' compile and runtime class paths, so a class missing here is missing from both, transitively included.
 */
class LibraryDependenciesTest {
    private static final List<String> APPLICATION_CLASSES = List.of("picocli.CommandLine", "org.knowm.xchart.XYChart",
            "me.tongfei.progressbar.ProgressBar", "org.lipa.app.cli.Main");

    @Test
    void noApplicationClassIsLoadable() {
        ClassLoader loader = LibraryDependenciesTest.class.getClassLoader();
        for (String name : APPLICATION_CLASSES) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName(name, false, loader),
                    name + " is on the models' class path");
        }
    }

    @Test
    void noApplicationJarIsOnTheClassPath() {
        List<String> names = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> new File(p).getName().toLowerCase(Locale.ROOT)).toList();
        // the real class path, not a launcher's manifest-only jar: JUnit's jars are on it
        assertTrue(names.stream().anyMatch(n -> n.startsWith("junit-jupiter-api")), names::toString);
        List<String> jars = names.stream().filter(n -> n.startsWith("picocli") || n.startsWith("xchart")
                || n.startsWith("progressbar") || n.startsWith("lipa-app")).toList();
        assertEquals(List.of(), jars);
    }
}

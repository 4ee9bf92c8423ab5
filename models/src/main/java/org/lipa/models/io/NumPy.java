package org.lipa.models.io;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * NumPy's {@code .npy} (one array) and {@code .npz} (a zip of {@code .npy} files, one per name) formats.
 *
 * <p>A {@code .npy} file is the magic string {@code \x93NUMPY}, a version (1.0, 2.0 or 3.0), a little-endian
 * header length (2 bytes in 1.0, 4 after), a Python dict literal such as
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} padded with spaces and a newline so
 * that the data starts on a 64-byte boundary, and the raw data.
 *
 * <p>Reading accepts {@code <f4}, {@code >f4}, {@code <f8} and {@code >f8} (swapped to the host's byte
 * order) in C or Fortran order (converted to C order); any other {@code descr} (integers, bools, structured
 * types) is an {@link IOException} naming the file, the array and the descr. Writing produces what
 * {@code np.save} and {@code np.savez} (uncompressed) produce, byte for byte for {@code .npy}: f32 and f64
 * tensors keep their type; <b>bf16 tensors are written as f32</b>, since numpy has no bfloat16 (the
 * widening is exact); views are written as their contiguous copies. Reading {@code .npz} also accepts the
 * deflated entries of {@code np.savez_compressed}.
 *
 * <p>Every claim a file makes is checked before anything is allocated: the magic and version, the header
 * length against the bytes present, the header's syntax and keys, each dimension, and the data size
 * (elements times item size) against the bytes actually present; a zip entry's declared size must be
 * consistent with its compressed size. So a hostile or truncated file fails with an {@link IOException}
 * saying what is wrong instead of allocating what it claims.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor w = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
 *     NumPy.saveNpy(Path.of("w.npy"), w);                  // np.load("w.npy") in Python
 *     NumPy.saveNpz(Path.of("m.npz"), Map.of("w", w.transpose(0, 1)));
 *     Tensor wt = NumPy.loadNpz(Path.of("m.npz"), arena).get("w");   // f32 [3, 2]
 * }
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class NumPy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Headers above this are refused, like numpy's own default {@code max_header_size}. */
    static final int MAX_HEADER = 10_000;
    /** Deflate cannot expand data more than about 1032 times; a zip entry claiming more is refused. */
    static final long MAX_DEFLATE_RATIO = 1032;
    /** Where the data starts is a multiple of this (numpy's {@code ARRAY_ALIGN}). */
    private static final int ALIGN = 64;
    /** Room numpy leaves in a header to grow the first axis in place ({@code GROWTH_AXIS_MAX_DIGITS}). */
    private static final int GROWTH_DIGITS = 21;
    /** Bytes moved per read or write call (a {@link ByteBuffer} view holds at most 2 GiB). */
    private static final int CHUNK = 1 << 26;
    private static final char NATIVE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? '<' : '>';

    private NumPy() {
    }

    // ---------------------------------------------------------------- .npy

    /**
     * Reads one array into {@code arena} (C order, host byte order).
     *
     * @throws IOException naming the file and the claim that does not hold
     */
    public static Tensor loadNpy(Path file, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(file.toString(), ch, ch.size(), arena);
        }
    }

    /** Writes {@code t} as {@code np.save} would (bf16 as f32, a view as its contiguous copy). */
    public static void saveNpy(Path file, Tensor t) throws IOException {
        Path tmp = temp(file);
        // a scratch arena for the contiguous (or widened) copy, freed as soon as it is written
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE); Arena scratch = Arena.ofConfined()) {
            Tensor c = storable(t, scratch);
            writeFully(ch, ByteBuffer.wrap(header(c)));
            for (ByteBuffer b : chunks(c)) {
                writeFully(ch, b);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // ---------------------------------------------------------------- .npz

    /**
     * Reads every array of an {@code .npz} archive into {@code arena}, in the archive's order, keyed by
     * entry name without the {@code .npy} suffix. Stored ({@code np.savez}) and deflated
     * ({@code np.savez_compressed}) entries are accepted.
     *
     * @throws IOException naming the file, the array and the claim that does not hold
     */
    public static Map<String, Tensor> loadNpz(Path file, Arena arena) throws IOException {
        long fileSize = Files.size(file);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (ZipException | java.io.EOFException | IllegalArgumentException e) {
            throw new IOException(file + ": not a readable zip archive (" + e + ")", e);
        }
        try (zip) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (ZipEntry e : Collections.list(zip.entries())) {
                String key = e.getName().endsWith(".npy") ? e.getName().substring(0, e.getName().length() - 4) : e.getName();
                String where = file + ": array '" + key + "'";
                if (out.containsKey(key)) {
                    throw new IOException(where + " appears twice in the archive");
                }
                long size = e.getSize();
                long packed = e.getCompressedSize();
                long most = e.getMethod() == ZipEntry.STORED ? packed : MAX_DEFLATE_RATIO * packed;
                if (size < 0 || packed < 0 || packed > fileSize || size > most) {
                    throw new IOException(where + ": the zip entry declares " + size + " bytes stored in " + packed
                            + " compressed bytes of a " + fileSize + "-byte file, which is impossible");
                }
                try (InputStream in = zip.getInputStream(e)) {
                    Tensor t = read(where, Channels.newChannel(in), size, arena);
                    if (in.read() != -1) {
                        throw new IOException(where + ": the zip entry holds more than its declared " + size + " bytes");
                    }
                    out.put(key, t);
                }
            }
            return out;
        } catch (ZipException | java.io.EOFException | IllegalArgumentException e) {
            // corrupt entries: the zip library's exceptions (inflater errors, bad CRCs, entries that end early,
            // malformed names) name no file
            throw new IOException(file + ": corrupt zip archive (" + e + ")", e);
        }
    }

    /**
     * Writes {@code tensors} as an uncompressed archive, as {@code np.savez(file, **tensors)} would: one
     * entry {@code name.npy} per tensor, in the map's order.
     */
    public static void saveNpz(Path file, Map<String, Tensor> tensors) throws IOException {
        Path tmp = temp(file);
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(tmp))) {
            WritableByteChannel ch = Channels.newChannel(zip); // not closed: closing it would close the zip
            for (var e : tensors.entrySet()) {
                try (Arena scratch = Arena.ofConfined()) { // one tensor's contiguous copy at a time
                    Tensor c = storable(e.getValue(), scratch);
                    byte[] header = header(c);
                    List<ByteBuffer> data = chunks(c);
                    // stored entries need their size and checksum before their bytes
                    CRC32 crc = new CRC32();
                    crc.update(header);
                    long size = header.length;
                    for (ByteBuffer b : data) {
                        size += b.remaining();
                        crc.update(b.duplicate());
                    }
                    ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(size);
                    entry.setCompressedSize(size);
                    entry.setCrc(crc.getValue());
                    entry.setTimeLocal(LocalDateTime.of(1980, 1, 1, 0, 0)); // the same bytes for the same tensors
                    zip.putNextEntry(entry);
                    zip.write(header);
                    for (ByteBuffer b : data) {
                        writeFully(ch, b);
                    }
                    zip.closeEntry();
                }
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    // ---------------------------------------------------------------- reading

    /**
     * Reads one {@code .npy} image of exactly {@code available} bytes from {@code in}; {@code where} names
     * the file (and array) in messages.
     */
    private static Tensor read(String where, ReadableByteChannel in, long available, Arena arena) throws IOException {
        ByteBuffer pre = readFully(where, in, 8, "the magic string and version");
        byte[] magic = new byte[6];
        pre.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new IOException(where + ": not a .npy file (bad magic " + HexFormat.ofDelimiter(" ").formatHex(magic)
                    + ", expected 93 4e 55 4d 50 59)");
        }
        int major = pre.get();
        int minor = pre.get();
        if (major < 1 || major > 3 || minor != 0) {
            throw new IOException(where + ": unsupported .npy format version " + major + "." + minor + " (1.0, 2.0 and 3.0 are read)");
        }
        int lengthBytes = major == 1 ? 2 : 4;
        ByteBuffer len = readFully(where, in, lengthBytes, "the header length");
        long headerLength = major == 1 ? Short.toUnsignedLong(len.getShort()) : Integer.toUnsignedLong(len.getInt());
        long dataStart = 8 + lengthBytes + headerLength;
        if (dataStart > available) {
            throw new IOException(where + ": header length " + headerLength + " runs past the end of the " + available + " bytes");
        }
        if (headerLength > MAX_HEADER) {
            throw new IOException(where + ": header length " + headerLength + " is above the " + MAX_HEADER + " bytes accepted");
        }
        ByteBuffer hb = readFully(where, in, (int) headerLength, "the header");
        Header h = new HeaderParser(where, new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1))
                .parse();

        DType dtype = switch (h.descr()) {
            case "<f4", ">f4" -> DType.F32;
            case "<f8", ">f8" -> DType.F64;
            default -> throw new IOException(where + ": descr '" + h.descr() + "' is not supported (only <f4, >f4, <f8, >f8)");
        };
        Shape shape;
        long bytes;
        try {
            shape = Shape.of(h.shape());
            bytes = Math.multiplyExact(shape.size(), (long) dtype.byteSize());
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new IOException(where + ": impossible shape " + java.util.Arrays.toString(h.shape()) + " (" + e.getMessage() + ")", e);
        }
        long present = available - dataStart;
        if (bytes != present) {
            throw new IOException(where + ": " + h.descr() + " " + shape + " needs " + bytes + " bytes of data but " + present
                    + " are present");
        }

        boolean swap = h.descr().charAt(0) != NATIVE;
        if (!h.fortranOrder()) {
            Tensor t = Tensor.zeros(arena, dtype, shape);
            fill(where, in, t, swap);
            return t;
        }
        // Fortran order is C order with the axes reversed: read it so into scratch memory, then copy the
        // transposed view into the caller's arena
        int r = shape.rank();
        long[] reversed = new long[r];
        int[] perm = new int[r];
        for (int i = 0; i < r; i++) {
            reversed[i] = shape.dim(r - 1 - i);
            perm[i] = r - 1 - i;
        }
        try (Arena scratch = Arena.ofConfined()) {
            Tensor raw = Tensor.zeros(scratch, dtype, Shape.of(reversed));
            fill(where, in, raw, swap);
            return raw.permute(perm).contiguous(arena);
        }
    }

    /** Fills contiguous {@code t} from {@code in}, swapping the byte order of each element if asked. */
    private static void fill(String where, ReadableByteChannel in, Tensor t, boolean swap) throws IOException {
        for (ByteBuffer b : chunks(t)) {
            while (b.hasRemaining()) {
                if (in.read(b) < 0) {
                    throw new IOException(where + ": the data is truncated");
                }
            }
        }
        if (swap) {
            MemorySegment seg = t.data();
            ValueLayout element = t.dtype() == DType.F32 ? ValueLayout.JAVA_FLOAT : ValueLayout.JAVA_DOUBLE;
            ByteOrder other = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
            // an overlapping copy behaves as if through a temporary: this swaps in place
            MemorySegment.copy(seg, element.withOrder(other), 0, seg, element, 0, t.size());
        }
    }

    private static ByteBuffer readFully(String where, ReadableByteChannel in, int n, String what) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                throw new IOException(where + ": truncated in " + what + " (" + b.position() + " of " + n + " bytes)");
            }
        }
        return b.flip();
    }

    /** The three keys numpy writes and requires. */
    private record Header(String descr, boolean fortranOrder, long[] shape) {
    }

    /**
     * A strict parser for the header's Python dict literal: the keys {@code 'descr'} (a string),
     * {@code 'fortran_order'} ({@code True} or {@code False}) and {@code 'shape'} (a tuple of non-negative
     * integers), each exactly once, in any order, an optional trailing comma, then only whitespace.
     */
    private static final class HeaderParser {
        private final String where;
        private final String s;
        private int pos;

        HeaderParser(String where, String s) {
            this.where = where;
            this.s = s;
        }

        Header parse() throws IOException {
            String descr = null;
            Boolean fortran = null;
            long[] shape = null;
            expect('{');
            while (peek() != '}') {
                String key = string();
                expect(':');
                switch (key) {
                    case "descr" -> {
                        check(descr == null, "key 'descr' repeats");
                        descr = string();
                    }
                    case "fortran_order" -> {
                        check(fortran == null, "key 'fortran_order' repeats");
                        fortran = bool();
                    }
                    case "shape" -> {
                        check(shape == null, "key 'shape' repeats");
                        shape = tuple();
                    }
                    default -> throw error("unexpected key '" + key + "'");
                }
                if (peek() != '}') {
                    expect(',');
                }
            }
            pos++;
            check(s.substring(pos).isBlank(), "text after the closing brace");
            check(descr != null && fortran != null && shape != null, "it needs the keys 'descr', 'fortran_order' and 'shape'");
            return new Header(descr, fortran, shape);
        }

        private String string() throws IOException {
            char q = peek();
            check(q == '\'' || q == '"', "expected a quoted string");
            int end = s.indexOf(q, ++pos);
            check(end >= 0, "unterminated string");
            String v = s.substring(pos, end);
            check(v.indexOf('\\') < 0, "escapes in strings are not supported");
            pos = end + 1;
            return v;
        }

        private boolean bool() throws IOException {
            peek();
            for (String word : new String[] {"True", "False"}) {
                if (s.startsWith(word, pos)) {
                    pos += word.length();
                    return word.equals("True");
                }
            }
            throw error("expected True or False");
        }

        private long[] tuple() throws IOException {
            expect('(');
            List<Long> dims = new ArrayList<>();
            boolean trailingComma = false;
            while (peek() != ')') {
                check(peek() != '-', "negative dimension");
                int start = pos;
                long d = 0;
                while (pos < s.length() && s.charAt(pos) >= '0' && s.charAt(pos) <= '9') { // ASCII only: isDigit takes any script's
                    try {
                        d = Math.addExact(Math.multiplyExact(d, 10), s.charAt(pos++) - '0');
                    } catch (ArithmeticException e) {
                        throw error("dimension " + s.substring(start, pos) + "... overflows a long");
                    }
                }
                check(pos > start, "expected a dimension");
                dims.add(d);
                trailingComma = peek() == ',';
                if (trailingComma) {
                    pos++;
                } else {
                    check(peek() == ')', "expected ',' or ')' in the shape");
                }
            }
            pos++;
            check(dims.size() != 1 || trailingComma, "a one-element shape needs a trailing comma to be a tuple");
            return dims.stream().mapToLong(Long::longValue).toArray();
        }

        /** The next character after whitespace (the position moves past the whitespace). */
        private char peek() throws IOException {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) {
                pos++;
            }
            check(pos < s.length(), "it ends early");
            return s.charAt(pos);
        }

        private void expect(char c) throws IOException {
            check(peek() == c, "expected '" + c + "'");
            pos++;
        }

        private void check(boolean ok, String problem) throws IOException {
            if (!ok) {
                throw error(problem);
            }
        }

        private IOException error(String problem) {
            return new IOException(where + ": bad .npy header at character " + pos + ": " + problem + " in \"" + s.strip() + "\"");
        }
    }

    // ---------------------------------------------------------------- writing

    /** {@code t} itself when it can be written as is, else a contiguous (bf16: f32) copy in {@code scratch}. */
    private static Tensor storable(Tensor t, Arena scratch) {
        if (t.dtype() == DType.BF16) {
            return t.to(scratch, DType.F32);
        }
        return t.isContiguous() ? t : t.contiguous(scratch);
    }

    /** The header {@code np.save} writes for contiguous {@code t}: version 1.0 (rank at most 12 always fits). */
    private static byte[] header(Tensor t) {
        long[] d = t.shape().toArray();
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < d.length; i++) {
            shape.append(i > 0 ? ", " : "").append(d[i]);
        }
        shape.append(d.length == 1 ? ",)" : ")");
        String dict = "{'descr': '" + NATIVE + (t.dtype() == DType.F32 ? "f4" : "f8") + "', 'fortran_order': False, 'shape': "
                + shape + ", }";
        if (d.length > 0) {
            dict += " ".repeat(GROWTH_DIGITS - Long.toString(d[0]).length());
        }
        int length = dict.length() + 1; // the final newline
        int pad = ALIGN - (MAGIC.length + 4 + length) % ALIGN; // as numpy: a whole ALIGN when already aligned
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + length + pad).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) (length + pad));
        b.put((dict + " ".repeat(pad) + "\n").getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    /** The bytes of contiguous {@code t} as buffers of at most {@link #CHUNK} bytes. */
    private static List<ByteBuffer> chunks(Tensor t) {
        long bytes = t.size() * t.dtype().byteSize();
        MemorySegment seg = t.data();
        List<ByteBuffer> out = new ArrayList<>();
        for (long off = 0; off < bytes; off += CHUNK) {
            out.add(seg.asSlice(off, Math.min(CHUNK, bytes - off)).asByteBuffer());
        }
        return out;
    }

    private static void writeFully(WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** A temporary file beside {@code file}, moved over it once complete so that readers never see half a file. */
    private static Path temp(Path file) throws IOException {
        return Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".part");
    }
}

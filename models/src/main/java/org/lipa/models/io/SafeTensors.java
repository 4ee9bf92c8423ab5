package org.lipa.models.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header mapping
 * each name to {@code dtype}, {@code shape} and {@code data_offsets} (begin, end) into the data that
 * follows, and the data. F32, F64 and BF16 are read and written.
 *
 * <p>Every header claim is checked against the file before anything is allocated: header length, each
 * tensor's size from dtype and shape against its offsets, offsets inside the data, and no two tensors
 * overlapping. A hostile or truncated file fails with a message naming the tensor and what was wrong.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class SafeTensors {
    /** Strict: a header with anything but spaces after its JSON object is refused, as the reference reader does. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION.mappedFeature());
    /** Headers above this are refused (the format's reference implementation uses 100 MB). */
    static final long MAX_HEADER = 100L << 20;

    private SafeTensors() {
    }

    /** Writes {@code tensors} in order (contiguous copies of views are written). */
    public static void save(Path file, Map<String, Tensor> tensors) throws IOException {
        save(file, tensors, Map.of());
    }

    /** Writes {@code tensors} with string {@code metadata} (the header's {@code __metadata__}). */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (var e : tensors.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", name(t.dtype()));
            var shape = n.putArray("shape");
            for (long d : t.shape().toArray()) {
                shape.add(d);
            }
            long bytes = t.size() * t.dtype().byteSize();
            n.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int pad = (8 - json.length % 8) % 8; // the format aligns the data; spaces are valid JSON padding
        byte[] padded = java.util.Arrays.copyOf(json, json.length + pad);
        java.util.Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".part");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE); Arena a = Arena.ofConfined()) {
            java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).flip();
            ch.write(len);
            ch.write(java.nio.ByteBuffer.wrap(padded));
            for (Tensor t : tensors.values()) {
                Tensor c = t.isContiguous() ? t : t.contiguous(a);
                ch.write(c.data().asSlice(0, c.size() * c.dtype().byteSize()).asByteBuffer());
            }
        }
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Reads every tensor into {@code arena}, in the file's order.
     *
     * @throws IOException naming the tensor and the claim that does not hold
     */
    public static Map<String, Tensor> load(Path file, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new IOException(file + ": " + size + " bytes, too short for a safetensors header length");
            }
            java.nio.ByteBuffer len = java.nio.ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(len, 0);
            long headerLength = len.flip().getLong();
            if (headerLength < 2 || headerLength > MAX_HEADER || headerLength > size - 8) {
                throw new IOException(file + ": header length " + headerLength + " is impossible for a " + size + "-byte file");
            }
            java.nio.ByteBuffer hb = java.nio.ByteBuffer.allocate((int) headerLength);
            ch.read(hb, 8);
            JsonNode header;
            try {
                header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IOException(file + ": the header is not valid JSON: " + e.getOriginalMessage(), e);
            }
            if (header == null || !header.isObject()) {
                throw new IOException(file + ": the header is not a JSON object");
            }
            long dataStart = 8 + headerLength;
            long dataSize = size - dataStart;
            Map<String, Tensor> out = new LinkedHashMap<>();
            List<long[]> ranges = new ArrayList<>();
            var fields = header.properties().iterator();
            while (fields.hasNext()) {
                var e = fields.next();
                String name = e.getKey();
                if (name.equals("__metadata__")) {
                    continue;
                }
                JsonNode n = e.getValue();
                if (name.endsWith("num_batches_tracked") && n.path("dtype").asText("").equals("I64")) {
                    continue; // PyTorch's batch-norm step counter: Lipa's batch norm has a fixed momentum and needs none
                }
                DType dtype = dtype(file, name, n.path("dtype").asText(""));
                JsonNode shapeNode = n.path("shape");
                JsonNode offs = n.path("data_offsets");
                if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
                    throw new IOException(file + ": tensor '" + name + "' needs a shape array and two data_offsets");
                }
                long[] dims = new long[shapeNode.size()];
                for (int i = 0; i < dims.length; i++) {
                    JsonNode d = shapeNode.get(i);
                    if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
                        throw new IOException(file + ": tensor '" + name + "' has a bad dimension " + shapeNode.get(i));
                    }
                    dims[i] = shapeNode.get(i).asLong();
                }
                Shape shape;
                long bytes;
                try {
                    shape = Shape.of(dims);
                    bytes = Math.multiplyExact(shape.size(), (long) dtype.byteSize());
                } catch (IllegalArgumentException | ArithmeticException ex) {
                    throw new IOException(file + ": tensor '" + name + "' has an impossible shape " + shapeNode, ex);
                }
                // integers only: asLong would also read "12" or 1.5
                long begin = offs.get(0).isIntegralNumber() && offs.get(0).canConvertToLong() ? offs.get(0).asLong() : -1;
                long end = offs.get(1).isIntegralNumber() && offs.get(1).canConvertToLong() ? offs.get(1).asLong() : -1;
                if (begin < 0 || end < begin || end > dataSize) {
                    throw new IOException(file + ": tensor '" + name + "' has data_offsets [" + begin + ", " + end
                            + ") outside the " + dataSize + " bytes of data");
                }
                if (end - begin != bytes) {
                    throw new IOException(file + ": tensor '" + name + "' is " + dtype.shortName() + shape + " (" + bytes
                            + " bytes) but its offsets span " + (end - begin));
                }
                for (long[] r : ranges) {
                    if (begin < r[1] && r[0] < end) {
                        throw new IOException(file + ": tensor '" + name + "' overlaps another tensor's data");
                    }
                }
                ranges.add(new long[] {begin, end});
                Tensor t = Tensor.zeros(arena, dtype, shape);
                MemorySegment dst = t.data().asSlice(0, bytes);
                ch.read(dst.asByteBuffer(), dataStart + begin);
                out.put(name, t);
            }
            return out;
        }
    }

    /** The header's {@code __metadata__} strings (empty when absent). */
    public static Map<String, String> metadata(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        if (all.length < 8) {
            throw new IOException(file + ": too short for a safetensors header length");
        }
        long n = java.nio.ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > all.length - 8) {
            throw new IOException(file + ": header length " + n + " is impossible for a " + all.length + "-byte file");
        }
        JsonNode meta = JSON.readTree(new String(all, 8, (int) n, StandardCharsets.UTF_8)).path("__metadata__");
        Map<String, String> out = new LinkedHashMap<>();
        meta.properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }

    /**
     * Copies loaded tensors into a module's parameters by name; a missing name, a shape or a dtype
     * mismatch is an error naming the tensor.
     */
    public static void copyInto(Map<String, Tensor> loaded, Map<String, Tensor> parameters) {
        for (var e : parameters.entrySet()) {
            Tensor src = loaded.get(e.getKey());
            if (src == null) {
                throw new IllegalArgumentException("no tensor '" + e.getKey() + "' in the file (it has " + loaded.keySet() + ")");
            }
            Tensor dst = e.getValue();
            if (!src.shape().equals(dst.shape()) || src.dtype() != dst.dtype()) {
                throw new IllegalArgumentException("tensor '" + e.getKey() + "' is " + src.spec() + " in the file but the parameter is "
                        + dst.spec());
            }
            dst.copyFrom(src);
        }
    }

    private static String name(DType t) {
        return switch (t) {
            case F32 -> "F32";
            case F64 -> "F64";
            case BF16 -> "BF16";
        };
    }

    private static DType dtype(Path file, String tensor, String s) throws IOException {
        return switch (s) {
            case "F32" -> DType.F32;
            case "F64" -> DType.F64;
            case "BF16" -> DType.BF16;
            default -> throw new IOException(file + ": tensor '" + tensor + "' has dtype '" + s + "', not one of F32, F64, BF16");
        };
    }
}

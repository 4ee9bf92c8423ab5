package org.lipa.models.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lipa.models.nn.Activation;
import org.lipa.models.nn.Sequential;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

class SafeTensorsTest {
    @TempDir
    Path dir;

    /** A file written by hand after the format's description: header length, JSON, data. */
    private Path handmade(String json, byte[] data) throws IOException {
        byte[] h = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return Files.write(dir.resolve("m" + json.hashCode() + ".safetensors"), b.array());
    }

    private static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : v) {
            b.putFloat(f);
        }
        return b.array();
    }

    @Test
    void readsAHandmadeFile() throws IOException {
        Path f = handmade("{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", floats(1, 2, 3, 4, 5));
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> m = SafeTensors.load(f, a);
            assertEquals(List.of("w", "b"), List.copyOf(m.keySet()));
            assertArrayEquals(new float[] {1, 2, 3, 4}, m.get("w").toFloatArray());
            assertArrayEquals(new float[] {5}, m.get("b").toFloatArray());
        }
    }

    @Test
    void pytorchBatchNormStepCountersAreSkippedOtherIntegersRefused() throws IOException {
        byte[] data = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(7).putLong(1234).array();
        Path f = handmade("{\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}}", data);
        Path g = handmade("{\"steps\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}}", new byte[8]);
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> m = SafeTensors.load(f, a);
            assertEquals(List.of("bn.running_mean"), List.copyOf(m.keySet()));
            var e = assertThrows(IOException.class, () -> SafeTensors.load(g, a));
            assertTrue(e.getMessage().contains("'steps'") && e.getMessage().contains("I64"), e.getMessage());
        }
    }

    @Test
    void roundTripsDTypesAndViews() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Map<String, Tensor> src = new LinkedHashMap<>();
            src.put("f32", Tensor.of(a, new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1));
            src.put("f64", Tensor.of(a, new double[] {Math.PI, -1e300}, 2));
            src.put("bf16", Tensor.of(a, DType.BF16, new float[] {1.5f, -2.25f}, 2));
            src.put("scalar", Tensor.scalar(a, DType.F32, 7));
            Path f = dir.resolve("t.safetensors");
            SafeTensors.save(f, src);
            long headerLength = ByteBuffer.wrap(Files.readAllBytes(f), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            assertEquals(0, (8 + headerLength) % 8, "data starts aligned");
            Map<String, Tensor> back = SafeTensors.load(f, a);
            for (var e : src.entrySet()) {
                assertEquals(e.getValue().spec(), back.get(e.getKey()).spec());
                assertArrayEquals(e.getValue().toDoubleArray(), back.get(e.getKey()).toDoubleArray(), 0);
            }
        }
    }

    @Test
    void hostileFilesAreRejectedWithoutAllocatingWhatTheyClaim() throws IOException {
        String[][] cases = {
            {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000,1000000000],\"data_offsets\":[0,4]}}", "is f32"},
            {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,40000000000]}}", "outside"},
            {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", "outside"},
            {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", "overlaps"},
            {"{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", "dtype 'I64'"},
            {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "bad dimension"},
            {"{\"w\": [1, 2", "not valid JSON"},
            {"[1, 2, 3]", "not a JSON object"},
        };
        for (String[] c : cases) {
            Path f = handmade(c[0], floats(1, 2));
            try (Arena a = Arena.ofConfined()) {
                IOException e = assertThrows(IOException.class, () -> SafeTensors.load(f, a), c[0]);
                assertTrue(e.getMessage().contains(c[1]), e.getMessage());
            }
        }
        Path huge = Files.write(dir.resolve("huge"), ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 60).array());
        try (Arena a = Arena.ofConfined()) {
            assertTrue(assertThrows(IOException.class, () -> SafeTensors.load(huge, a)).getMessage().contains("impossible"));
        }
    }

    @Test
    void weightsGoIntoAModuleByNameWithClearMismatches() throws IOException {
        try (Arena a = Arena.ofConfined()) {
            Sequential net = Sequential.mlp(a, new Random(1), Activation.RELU, 3, 4, 2);
            Path f = dir.resolve("net.safetensors");
            SafeTensors.save(f, net.parameters());
            Sequential other = Sequential.mlp(a, new Random(2), Activation.RELU, 3, 4, 2);
            SafeTensors.copyInto(SafeTensors.load(f, a), other.parameters());
            assertArrayEquals(net.parameters().get("2.weight").toFloatArray(), other.parameters().get("2.weight").toFloatArray());
            Sequential wider = Sequential.mlp(a, new Random(3), Activation.RELU, 3, 5, 2);
            var e = assertThrows(IllegalArgumentException.class, () -> SafeTensors.copyInto(SafeTensors.load(f, a), wider.parameters()));
            assertTrue(e.getMessage().contains("'0.weight'") && e.getMessage().contains("f32[4, 3]") && e.getMessage().contains("f32[5, 3]"),
                    e.getMessage());
        }
    }
}

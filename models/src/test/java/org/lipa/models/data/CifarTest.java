package org.lipa.models.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarTest {
    @TempDir
    Path dir;

    private static byte[] records(int labelBytes, int... labels) {
        int record = labelBytes + Cifar.PIXELS;
        byte[] b = new byte[labels.length * record];
        for (int r = 0; r < labels.length; r++) {
            b[r * record + labelBytes - 1] = (byte) labels[r];
            b[r * record + labelBytes] = (byte) 255;                  // first red pixel
            b[r * record + labelBytes + 2048] = (byte) 51;            // first blue pixel
        }
        return b;
    }

    @Test
    void readsCifar10And100Records() throws IOException {
        Path a = Files.write(dir.resolve("data_batch_1.bin"), records(1, 3, 9));
        Path b = Files.write(dir.resolve("data_batch_2.bin"), records(1, 0));
        Dataset d = Cifar.read(List.of(a, b), 1, 10, new double[] {0, 0, 0}, new double[] {1, 1, 1});
        assertEquals(3, d.size());
        assertArrayEquals(new int[] {3, 9, 0}, d.labels());
        assertEquals(1.0f, d.features()[0]);
        assertEquals(0.2f, d.features()[2048], 1e-6f);
        Path c100 = Files.write(dir.resolve("train.bin"), records(2, 42));
        assertEquals(42, Cifar.read(List.of(c100), 2, 100, Cifar.MEAN10, Cifar.STD10).labels()[0]);
        assertEquals((1 - 0.4914) / 0.2470, Cifar.read(List.of(a), 1, 10, Cifar.MEAN10, Cifar.STD10).features()[0], 1e-5);
    }

    @Test
    void rejectsPartialRecordsAndBadLabels() throws IOException {
        Path partial = Files.write(dir.resolve("p.bin"), new byte[Cifar.PIXELS]);
        assertTrue(assertThrows(IOException.class, () -> Cifar.read(List.of(partial), 1, 10, Cifar.MEAN10, Cifar.STD10))
                .getMessage().contains("whole number"));
        Path bad = Files.write(dir.resolve("b.bin"), records(1, 12));
        assertTrue(assertThrows(IOException.class, () -> Cifar.read(List.of(bad), 1, 10, Cifar.MEAN10, Cifar.STD10))
                .getMessage().contains("label 12"));
    }
}

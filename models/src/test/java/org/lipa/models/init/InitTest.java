package org.lipa.models.init;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each initializer's sample variance against the variance it promises (within 3% on 128k samples), and seeding. */
class InitTest {
    private static double variance(float[] w) {
        double m = 0;
        for (float v : w) {
            m += v;
        }
        m /= w.length;
        double s = 0;
        for (float v : w) {
            s += (v - m) * (v - m);
        }
        return s / w.length;
    }

    private static void promise(double expected, float[] w) {
        assertEquals(expected, variance(w), 0.03 * expected);
    }

    @Test
    void variances() {
        long[] linear = {256, 512};
        long[] conv = {64, 32, 3, 3}; // fanIn 288, fanOut 576
        promise(1.0 / 512, Init.lecunNormal(new Random(1), linear));
        promise(2.0 / (512 + 256), Init.xavierUniform(new Random(2), linear));
        promise(2.0 / (512 + 256), Init.xavierNormal(new Random(3), linear));
        promise(2.0 / 288, Init.heNormal(new Random(4), Init.Fan.IN, conv));
        promise(2.0 / 576, Init.heUniform(new Random(5), Init.Fan.OUT, conv));
        promise(1.0 / Math.sqrt(512.0 * 256), Init.geometric(new Random(6), 1.0, linear));
    }

    @Test
    void orthogonalRowsOrColumns() {
        for (long[] dims : new long[][] {{8, 20}, {20, 8}, {6, 2, 2, 2}}) {
            int rows = (int) dims[0];
            int cols = (int) (dims[1] * (dims.length > 2 ? dims[2] * dims[3] : 1));
            float[] w = Init.orthogonal(new Random(7), 2.0, dims);
            boolean byRows = rows <= cols;
            int m = byRows ? rows : cols;
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < m; j++) {
                    double d = 0;
                    for (int k = 0; k < (byRows ? cols : rows); k++) {
                        d += byRows ? w[i * cols + k] * w[j * cols + k] : w[k * cols + i] * w[k * cols + j];
                    }
                    assertEquals(i == j ? 4.0 : 0.0, d, 1e-5);
                }
            }
        }
    }

    @Test
    void seededAndChecked() {
        assertArrayEquals(Init.heNormal(new Random(9), Init.Fan.IN, 4, 4), Init.heNormal(new Random(9), Init.Fan.IN, 4, 4));
        assertEquals(288, Init.fans(64, 32, 3, 3)[0]);
        assertThrows(IllegalArgumentException.class, () -> Init.fans(5));
    }
}

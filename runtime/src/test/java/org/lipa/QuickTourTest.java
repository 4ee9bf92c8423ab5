package org.lipa;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.eval.Eager;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** The README's quick tour, kept compiling and true. */
@Tag("cpu")
class QuickTourTest {
    @Test
    void readmeTour() {
        Tensor escaped;
        try (Arena arena = Arena.ofConfined();
             CpuBackend cpu = CpuBackend.open()) {
            Tensor x = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
            Tensor xt = x.transpose(0, 1);
            Tensor row = x.slice(0, 1, 2);
            Tensor b = Tensor.of(arena, new float[] {10, 20, 30}, 3).broadcastTo(x.shape());
            assertArrayEquals(new float[] {4, 5, 6}, row.toFloatArray());
            assertArrayEquals(new float[] {10, 20, 30, 10, 20, 30}, b.toFloatArray());

            Eager ops = new Eager(cpu, arena);
            Tensor y = ops.relu(ops.add(ops.matmul(x, xt), ops.scale(ops.matmul(x, xt), -0.5)));
            assertArrayEquals(new float[] {7, 16, 16, 38.5f}, y.toFloatArray());
            Tensor p = ops.softmax(y, -1);
            float[] values = p.toFloatArray();
            assertEquals(1.0, values[0] + values[1], 1e-6);
            assertTrue(p.toString().startsWith("Tensor[f32 [2, 2]]"));
            escaped = x;
        }
        assertThrows(IllegalStateException.class, escaped::toFloatArray);
    }

    @Test
    void absurdAllocationsAreRefusedWithTheSize() {
        try (Arena arena = Arena.ofConfined()) {
            var e = assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(arena, DType.F32, 1L << 40, 1L << 20));
            assertTrue(e.getMessage().contains("too large") || e.getMessage().contains("cannot allocate"), e.getMessage());
        }
    }
}

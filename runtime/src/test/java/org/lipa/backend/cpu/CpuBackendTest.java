package org.lipa.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.eval.Eager;
import org.lipa.ops.Eltwise;
import org.lipa.ops.MatMul;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/** Backend-level behaviour: the primitive cache, closed resources and bad input before native code. */
@Tag("cpu")
class CpuBackendTest {

    @Test
    void nameCarriesTheOneDnnVersion() {
        try (CpuBackend cpu = CpuBackend.open()) {
            assertTrue(cpu.name().matches("cpu \\(oneDNN 3\\.\\d+\\.\\d+.*\\)"), cpu.name());
        }
    }

    @Test
    void aNetworkRunTwiceCreatesItsPrimitivesOnce() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Eager ops = new Eager(cpu, arena);
            Tensor x = Tensor.full(arena, DType.F32, org.lipa.tensor.Shape.of(4, 8), 0.5);
            Tensor w = Tensor.full(arena, DType.F32, org.lipa.tensor.Shape.of(3, 8), 0.25);
            Tensor b = Tensor.full(arena, DType.F32, org.lipa.tensor.Shape.of(3), 1);
            ops.softmax(ops.tanh(ops.linear(x, w, b)), -1);
            long first = cpu.primitiveCreations();
            assertTrue(first >= 2, "tanh and softmax at least: " + first);
            ops.softmax(ops.tanh(ops.linear(x, w, b)), -1);
            assertEquals(first, cpu.primitiveCreations());
        }
    }

    @Test
    void useAfterCloseThrows() {
        CpuBackend cpu = CpuBackend.open();
        cpu.close();
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.zeros(arena, DType.F32, 2, 2);
            Tensor y = Tensor.zeros(arena, DType.F32, 2, 2);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> cpu.execute(Eltwise.of(Eltwise.Kind.RELU), List.of(x), List.of(y)));
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
        cpu.close(); // idempotent
    }

    @Test
    void inputFromAClosedArenaThrowsBeforeNativeCode() {
        try (CpuBackend cpu = CpuBackend.open(); Arena out = Arena.ofConfined()) {
            Arena in = Arena.ofConfined();
            Tensor x = Tensor.zeros(in, DType.F32, 3, 3);
            in.close();
            Tensor y = Tensor.zeros(out, DType.F32, 3, 3);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> cpu.execute(Eltwise.of(Eltwise.Kind.RELU), List.of(x), List.of(y)));
            assertTrue(e.getMessage().contains("input 0") && e.getMessage().contains("closed"), e.getMessage());
        }
    }

    @Test
    void badShapesAndTypesAreRejectedWithTheirValues() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Eager ops = new Eager(cpu, arena);
            Tensor a = Tensor.zeros(arena, DType.F32, 2, 3);
            Tensor b = Tensor.zeros(arena, DType.F32, 4, 5);
            var e = assertThrows(IllegalArgumentException.class, () -> ops.matmul(a, b));
            assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4, 5]"), e.getMessage());

            Tensor d = Tensor.zeros(arena, DType.F64, 3, 2);
            e = assertThrows(IllegalArgumentException.class, () -> ops.matmul(a, d));
            assertTrue(e.getMessage().contains("f64"), e.getMessage());

            Tensor d2 = Tensor.zeros(arena, DType.F64, 2, 3);
            e = assertThrows(IllegalArgumentException.class, () -> ops.relu(d2));
            assertTrue(e.getMessage().contains("f64") && e.getMessage().contains("reference"), e.getMessage());

            Tensor wrongOut = Tensor.zeros(arena, DType.F32, 2, 2);
            e = assertThrows(IllegalArgumentException.class,
                    () -> cpu.execute(new MatMul(), List.of(a, Tensor.zeros(arena, DType.F32, 3, 4)), List.of(wrongOut)));
            assertTrue(e.getMessage().contains("output 0") && e.getMessage().contains("[2, 4]"), e.getMessage());
        }
    }

    @Test
    void oneDnnErrorsBecomeExceptionsNamingTheCall() {
        DnnlException e = assertThrows(DnnlException.class,
                () -> Dnnl.check(org.lipa.bindings.dnnl.dnnl_h.dnnl_unimplemented(), "dnnl_matmul_primitive_desc_create"));
        assertTrue(e.getMessage().contains("dnnl_matmul_primitive_desc_create") && e.getMessage().contains("dnnl_unimplemented"),
                e.getMessage());
        assertEquals(org.lipa.bindings.dnnl.dnnl_h.dnnl_unimplemented(), e.status());
    }
}

package org.lipa.backend.gpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToIntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.lipa.ops.Binary;
import org.lipa.ops.Eltwise;
import org.lipa.ops.Reduce;

/**
 * The kernels' op codes agree between Java ({@link KernelCodes}) and the CUDA source the runtime compiles (read from
 * the jar, as {@link Kernels} reads it): every Java kind has its {@code PREFIX_NAME = code} there with the same
 * number, and the source has no code Java lacks. Needs no GPU.
 */
class KernelCodesTest {
    private static final Pattern CODE = Pattern.compile("\\b(ELT|BIN|RED|NORM)_([A-Z0-9_]+)\\s*=\\s*(\\d+)");

    private static Map<String, Integer> codes(String prefix) {
        Map<String, Integer> out = new TreeMap<>();
        Matcher m = CODE.matcher(Kernels.source());
        while (m.find()) {
            if (m.group(1).equals(prefix)) {
                out.put(m.group(2), Integer.parseInt(m.group(3)));
            }
        }
        return out;
    }

    private static <E extends Enum<E>> void sameCodes(String prefix, Class<E> kinds, ToIntFunction<E> code) {
        Map<String, Integer> java = new TreeMap<>();
        for (E k : kinds.getEnumConstants()) {
            java.put(k.name(), code.applyAsInt(k));
        }
        assertEquals(java, codes(prefix), prefix + "_ codes in lipa_kernels.cu against " + kinds.getName());
        assertEquals(java.size(), java.values().stream().distinct().count(), "distinct codes for " + kinds.getName());
    }

    @Test
    void javaAndCudaGiveEveryKindTheSameCode() {
        sameCodes("ELT", Eltwise.Kind.class, KernelCodes::of);
        sameCodes("BIN", Binary.Kind.class, KernelCodes::of);
        sameCodes("RED", Reduce.Kind.class, KernelCodes::of);
        assertEquals(Map.of("LAYER", KernelCodes.NORM_LAYER, "BATCH", KernelCodes.NORM_BATCH, "GROUP", KernelCodes.NORM_GROUP),
                codes("NORM"));
    }
}

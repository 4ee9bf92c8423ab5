package org.lipa.backend.cpu;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One oneDNN CPU backend for every test class that asks for it ({@code @ExtendWith(SharedCpu.class)},
 * then {@link #backend()}), opened once and closed by JUnit when the whole run ends.
 */
public final class SharedCpu implements BeforeAllCallback {
    private static volatile CpuBackend backend;

    private record Holder(CpuBackend cpu) implements ExtensionContext.Store.CloseableResource {
        @Override
        public void close() {
            cpu.close();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        Holder h = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
                .getOrComputeIfAbsent("lipa.cpu", k -> new Holder(CpuBackend.open()), Holder.class);
        backend = h.cpu();
    }

    /** The shared backend; valid in test classes extended with this. */
    public static CpuBackend backend() {
        return backend;
    }
}

package org.lipa.backend.cpu;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;

/**
 * How oneDNN's OpenMP threads wait between parallel regions. libgomp's default spins about 300,000
 * iterations before sleeping, which steals the processor from other work on a busy machine;
 * {@code OMP_WAIT_POLICY=PASSIVE} sleeps at once, and then every parallel region pays a futex wake-up of
 * about 70 us on this kind of machine (a 16-float relu primitive: 72 us passive against 1.5 us spinning,
 * {@code native/bench/downcall.c}). A short spin keeps back-to-back ops at the spinning cost and gives the
 * processor back within microseconds.
 *
 * <p>So, unless the user set {@code OMP_WAIT_POLICY} or {@code GOMP_SPINCOUNT}, Lipa sets
 * {@code GOMP_SPINCOUNT} to {@value #DEFAULT_SPIN_COUNT} (or the system property
 * {@value #SPIN_COUNT_PROPERTY}) in the process environment before libgomp is loaded; libgomp reads it
 * once, when it loads. An embedder whose process loaded libgomp earlier keeps that process's setting.
 *
 * <p>Thread safety: called once, under {@link DnnlLibrary}'s lock.
 */
final class OpenMp {
    /** System property overriding the spin count Lipa sets. */
    static final String SPIN_COUNT_PROPERTY = "lipa.omp.spinCount";
    static final String DEFAULT_SPIN_COUNT = "10000";

    private OpenMp() {
    }

    static void shortSpinUnlessConfigured() {
        if (System.getenv("OMP_WAIT_POLICY") != null || System.getenv("GOMP_SPINCOUNT") != null) {
            return;
        }
        String count = System.getProperty(SPIN_COUNT_PROPERTY, DEFAULT_SPIN_COUNT);
        if (!count.matches("[0-9]{1,18}|infinity")) {
            throw new IllegalArgumentException(SPIN_COUNT_PROPERTY + " must be a count or 'infinity', got '" + count + "'");
        }
        Linker linker = Linker.nativeLinker();
        MethodHandle setenv = linker.downcallHandle(linker.defaultLookup().find("setenv").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) setenv.invokeExact(a.allocateFrom("GOMP_SPINCOUNT"), a.allocateFrom(count), 0); // 0: never overwrite
            if (rc != 0) {
                throw new DnnlException("setenv(GOMP_SPINCOUNT) failed with " + rc);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}

package org.lipa.analysis;

/**
 * How a spectral result was computed, as reports name it: {@code DENSE} wrote the operator out and
 * decomposed it exactly (EJML), {@code LANCZOS} is a Krylov method (symmetric Lanczos or Golub-Kahan
 * bidiagonalization), {@code POWER_ITERATION} is power iteration with deflation (PyHessian's method).
 *
 * <p>Thread safety: an enum, immutable.
 */
public enum SpectralMethod {
    DENSE, LANCZOS, POWER_ITERATION;

    /** The lower-case name reports print: "dense", "lanczos", "power iteration". */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
    }
}

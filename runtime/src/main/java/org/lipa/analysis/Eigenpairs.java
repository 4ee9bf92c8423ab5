package org.lipa.analysis;

import java.util.Arrays;
import java.util.Comparator;

/**
 * Eigenvalue estimates of a symmetric operator with the vectors that back them, each checked with the
 * operator: {@code residuals[i] = ||A y_i - values[i] y_i||} for the unit vector {@code y_i = vectors[i]}.
 *
 * <p>What a residual certifies: for a symmetric A and any unit y and number theta, some eigenvalue of A
 * lies within {@code ||A y - theta y||} of theta. So each value is within its residual of <em>an</em>
 * eigenvalue of A; it does not certify that no eigenvalue was missed (a single-vector Krylov method sees
 * one copy of a repeated eigenvalue, and may see an eigenvalue that its start vector barely touches late).
 * {@code converged[i]} says the residual met the run's tolerance (see {@link Lanczos}).
 *
 * <pre>{@code
 * Eigenpairs top = Lanczos.eigenpairs(h, 3, Eigenpairs.Which.LARGEST_MAGNITUDE, Lanczos.Options.defaults());
 * double lambda = top.values()[0], bound = top.residuals()[0];   // |lambda - some eigenvalue| <= bound
 * }</pre>
 *
 * @param values    eigenvalue estimates (Rayleigh quotients of the vectors), in the order {@code which} asks for
 * @param residuals {@code ||A y_i - values[i] y_i||}, measured with the operator after the run
 * @param converged whether each residual met the tolerance
 * @param vectors   unit vectors, {@code vectors[i]} for {@code values[i]}
 * @param which     the end of the spectrum asked for, and the order of the values
 * @param method    how they were computed
 * @param products  operator applications spent, the residual checks included
 *
 * <p>Thread safety: a record of arrays the solver filled; share it read-only (its arrays are not copied).
 */
public record Eigenpairs(double[] values, double[] residuals, boolean[] converged, double[][] vectors, Which which,
                         SpectralMethod method, int products) {
    public Eigenpairs {
        if (residuals.length != values.length || converged.length != values.length || vectors.length != values.length) {
            throw new IllegalArgumentException("eigenpairs: " + values.length + " values but " + residuals.length + " residuals, "
                    + converged.length + " flags and " + vectors.length + " vectors");
        }
    }

    /** Whether every value converged. */
    public boolean allConverged() {
        for (boolean c : converged) {
            if (!c) {
                return false;
            }
        }
        return true;
    }

    /** One line for reports: {@code "12.3456 +- 2.1e-05 (converged)"} for value i. */
    public String describe(int i) {
        return String.format(java.util.Locale.ROOT, "%.6g +- %.2g (%s)", values[i], residuals[i], converged[i] ? "converged"
                : "not converged");
    }

    /** Which eigenvalues, in which order. */
    public enum Which {
        /** The algebraically largest, largest first (the sharpest positive curvature of a Hessian). */
        LARGEST,
        /** The algebraically smallest, smallest (most negative) first. */
        SMALLEST,
        /** The largest in absolute value, largest first (what power iteration finds; ties: the positive first). */
        LARGEST_MAGNITUDE;

        /** Indices of {@code values} in this order, best first. */
        public Integer[] order(double[] values) {
            Integer[] idx = new Integer[values.length];
            for (int i = 0; i < idx.length; i++) {
                idx[i] = i;
            }
            Comparator<Integer> c = switch (this) {
                case LARGEST -> Comparator.comparingDouble(i -> -values[i]);
                case SMALLEST -> Comparator.comparingDouble(i -> values[i]);
                case LARGEST_MAGNITUDE -> Comparator.<Integer>comparingDouble(i -> -Math.abs(values[i]))
                        .thenComparingDouble(i -> -values[i]);
            };
            Arrays.sort(idx, c);
            return idx;
        }

        /** The lower-case name reports print: "largest", "smallest", "largest magnitude". */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
        }
    }
}

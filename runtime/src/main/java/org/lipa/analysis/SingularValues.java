package org.lipa.analysis;

/**
 * The largest singular values of an operator with the vectors that back them, each checked with the
 * operator: for unit {@code u = left[i]}, {@code v = right[i]} and {@code sigma = values[i]},
 * {@code residuals[i] = sqrt((||A v - sigma u||^2 + ||A^T u - sigma v||^2) / 2)}.
 *
 * <p>What a residual certifies: {@code (u, v) / sqrt 2} is a unit vector of the symmetric matrix
 * {@code [0 A; A^T 0]} with residual {@code residuals[i]}, and that matrix's eigenvalues are A's singular
 * values, their negatives, and zeros; so the interval {@code values[i] +- residuals[i]} contains a singular
 * value of A or zero (a singular value whenever {@code residuals[i] < values[i]}). It does not certify that
 * no larger singular value was missed. {@code converged[i]} says the residual met the run's tolerance (see
 * {@link Lanczos}).
 *
 * <pre>{@code
 * SingularValues s = Lanczos.singularValues(jacobian, 3, Lanczos.Options.defaults());
 * double top = s.values()[0], bound = s.residuals()[0];
 * }</pre>
 *
 * @param values    singular value estimates, descending
 * @param residuals the residual of each triple, measured with the operator after the run
 * @param converged whether each residual met the tolerance
 * @param left      unit left singular vectors (length rangeSize)
 * @param right     unit right singular vectors (length domainSize)
 * @param method    how they were computed
 * @param products  operator applications spent ({@code A v} and {@code A^T u} alike), the residual checks included
 *
 * <p>Thread safety: a record of arrays the solver filled; share it read-only (its arrays are not copied).
 */
public record SingularValues(double[] values, double[] residuals, boolean[] converged, double[][] left, double[][] right,
                             SpectralMethod method, int products) {
    public SingularValues {
        if (residuals.length != values.length || converged.length != values.length || left.length != values.length
                || right.length != values.length) {
            throw new IllegalArgumentException("singular values: " + values.length + " values but " + residuals.length + " residuals, "
                    + converged.length + " flags, " + left.length + " left and " + right.length + " right vectors");
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
}

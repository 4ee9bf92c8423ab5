package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Stochastic Lanczos quadrature on explicit matrices, and the tridiagonal eigensolver that turns Lanczos runs into
 * Ritz values and quadrature weights; the Hessian's own checks are in the models' HessianTest.
 */
class SpectralDensityTest {
    @Test
    void fullStepsFindEveryEigenvalueThroughRestarts() {
        // repeated eigenvalues make the Krylov space invariant early; the restarts bring in the other copies
        double[] lambda = {-1, -1, 0, 0, 0, 2, 2, 5};
        double[] a = Matrices.withEigenvalues(new Random(1), lambda);
        for (Probe probe : Probe.values()) {
            SpectralDensity d = SpectralDensity.slq(LinearOperator.dense(a, 8, 8), 1, 8, probe, 2, s -> { });
            assertArrayEquals(lambda, d.nodes()[0], 1e-12, probe.toString());
            assertEquals(1, Arrays.stream(d.weights()[0]).sum(), 1e-12);
        }
    }

    @Test
    void gaussQuadratureIsExactForLowMoments() {
        // 3 nodes integrate polynomials of degree <= 5 exactly against the start vector's measure
        double[] a = Matrices.withEigenvalues(new Random(3), new double[] {-2, -1, 0.5, 1, 3, 4, 7});
        LinearOperator op = LinearOperator.dense(a, 7, 7);
        SpectralDensity d = SpectralDensity.slq(op, 1, 3, Probe.GAUSSIAN, 4, s -> { });
        double[] v = Probe.GAUSSIAN.draw(new Random(4), 7);
        Vectors.normalize(v);
        double[] power = v.clone();
        for (int p = 1; p <= 5; p++) {
            power = op.apply(power);
            assertEquals(Vectors.dot(v, power), d.momentPerRun(p)[0], 1e-10, "moment " + p);
        }
    }

    @Test
    void theTridiagonalSolverMatchesTheSecondDifferenceMatrix() {
        // tridiag(-1, 2, -1) of size n: lambda_k = 2 - 2 cos(k pi / (n + 1)), u_k[j] = sqrt(2 / (n + 1)) sin(j k pi / (n + 1))
        int n = 12;
        double[] d = new double[n];
        double[] e = new double[n - 1];
        Arrays.fill(d, 2);
        Arrays.fill(e, -1);
        Dense.Eigen t = Dense.tridiagonalEigen(d, e);
        for (int k = 1; k <= n; k++) {
            double angle = k * Math.PI / (n + 1);
            assertEquals(2 - 2 * Math.cos(angle), t.values()[k - 1], 1e-13);
            for (int j = 1; j <= n; j++) {
                assertEquals(Math.abs(Math.sqrt(2.0 / (n + 1)) * Math.sin(j * angle)), Math.abs(t.vectors()[k - 1][j - 1]), 1e-12);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> Dense.tridiagonalEigen(d, new double[n]));
        assertThrows(IllegalArgumentException.class, () -> Dense.tridiagonalEigen(new double[] {1, Double.NaN}, new double[] {0}));
    }

    @Test
    void theTridiagonalSolverHandlesSplitsAndRepeats() {
        // zeros off the diagonal (restarts) split the matrix; constant diagonals repeat eigenvalues: residuals, orthonormality
        // and the trace, checked here by hand
        Random r = new Random(14);
        for (int trial = 0; trial < 20; trial++) {
            int n = 1 + r.nextInt(25);
            double[] d = new double[n];
            double[] e = new double[n - 1];
            for (int i = 0; i < n; i++) {
                d[i] = trial % 4 == 0 ? 1 : r.nextGaussian() * 3;
            }
            for (int i = 0; i < n - 1; i++) {
                e[i] = r.nextInt(5) == 0 ? 0 : r.nextGaussian();
            }
            Dense.Eigen t = Dense.tridiagonalEigen(d, e);
            double scale = 1 + Convergence.norm(t.values());
            assertEquals(Arrays.stream(d).sum(), Arrays.stream(t.values()).sum(), 1e-12 * scale * n, "the trace");
            for (int j = 0; j < n; j++) {
                double[] u = t.vectors()[j];
                for (int i = 0; i < n; i++) {
                    double tu = d[i] * u[i] + (i > 0 ? e[i - 1] * u[i - 1] : 0) + (i + 1 < n ? e[i] * u[i + 1] : 0);
                    assertEquals(t.values()[j] * u[i], tu, 1e-12 * scale, "residual of vector " + j);
                }
                for (int k = 0; k <= j; k++) {
                    assertEquals(k == j ? 1 : 0, Vectors.dot(u, t.vectors()[k]), 1e-12, "orthonormal");
                }
                if (j > 0) {
                    assertTrue(t.values()[j - 1] <= t.values()[j], "ascending");
                }
            }
        }
    }

    @Test
    void badArgumentsAreRejected() {
        LinearOperator op = LinearOperator.dense(new double[4], 2, 2);
        assertThrows(IllegalArgumentException.class, () -> SpectralDensity.slq(op, 0, 2, Probe.GAUSSIAN, 0, s -> { }));
        assertThrows(IllegalArgumentException.class, () -> SpectralDensity.slq(LinearOperator.dense(new double[6], 2, 3), 1, 2,
                Probe.GAUSSIAN, 0, s -> { }));
        SpectralDensity one = SpectralDensity.slq(op, 1, 5, Probe.GAUSSIAN, 0, s -> { });
        assertTrue(one.nodes()[0].length == 2, "steps capped at n");
        assertTrue(Double.isNaN(one.momentStandardError(1)), "one run has no error estimate");
    }
}

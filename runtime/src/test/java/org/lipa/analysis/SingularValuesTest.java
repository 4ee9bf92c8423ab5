package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;

/**
 * Golub-Kahan-Lanczos and power iteration against EJML's dense SVD: wide, tall and square operators,
 * clustered and rank-deficient spectra, and a property check over many seeded matrices that every reported
 * bound holds and every convergence flag is backed by a residual.
 */
class SingularValuesTest {
    /** Golub-Kahan only: the dense path would hide the iteration. */
    private static final Lanczos.Options ITERATIVE = Lanczos.Options.defaults().withDenseLimit(0);

    /** The triple's residual measured here, independently of the code under test. */
    private static double residual(double[] a, int m, int n, double sigma, double[] u, double[] v) {
        LinearOperator op = LinearOperator.dense(a, m, n);
        double left = Vectors.residual(op.apply(v), sigma, u);
        double right = Vectors.residual(op.applyTranspose(u), sigma, v);
        return Math.sqrt((left * left + right * right) / 2);
    }

    /** Every reported bound holds, flags are backed by residuals, values descend, vectors are unit. */
    private static void assertHonest(SingularValues s, double[] a, int m, int n, double tolerance) {
        double[] truth = Dense.singularValues(a, m, n);
        double[] withZero = Arrays.copyOf(truth, truth.length + 1); // the interval may hold 0 instead (see SingularValues)
        for (int i = 0; i < s.values().length; i++) {
            double sigma = s.values()[i];
            double r = s.residuals()[i];
            assertEquals(residual(a, m, n, sigma, s.left()[i], s.right()[i]), r, 1e-12 * truth[0] + 1e-9 * r, "residual " + i);
            assertTrue(Matrices.distance(sigma, withZero) <= r + 1e-13 * truth[0],
                    "value " + i + " = " + sigma + " within " + r + " of " + Arrays.toString(truth));
            if (s.converged()[i]) {
                assertTrue(r <= Math.max(tolerance * sigma, 1e-12 * truth[0]), "converged " + i + " with residual " + r);
            }
            assertEquals(1, Vectors.norm(s.left()[i]), 1e-12);
            assertEquals(1, Vectors.norm(s.right()[i]), 1e-12);
            if (i > 0) {
                assertTrue(s.values()[i - 1] >= sigma, "descending");
            }
        }
    }

    @Test
    void aWideMatrixGetsItsExactSingularValuesFromTheRectangularBidiagonal() {
        // the case: 3 x 20 Gaussian, whose square bidiagonal B_3 gave the second value 37% low
        for (long seed = 0; seed < 10; seed++) {
            double[] a = Matrices.gaussian(new Random(seed), 3 * 20);
            double[] truth = Dense.singularValues(a, 3, 20);
            SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, 3, 20), 3, ITERATIVE.withSeed(seed));
            assertEquals(SpectralMethod.LANCZOS, s.method());
            assertArrayEquals(truth, s.values(), 1e-12 * truth[0], "seed " + seed);
            assertTrue(s.allConverged(), Arrays.toString(s.residuals()));
            assertEquals(6 + 2 * 3, s.products(), "three steps until the range is used up (A v_1, then A^T u_j and A v_{j+1}, "
                    + "but not A v_4), and a check (A v, A^T u) per value");
            assertHonest(s, a, 3, 20, 1e-8);
        }
    }

    @Test
    void wideTallAndSquareOperatorsMatchTheDenseSvd() {
        int[][] shapes = {{10, 784}, {784, 10}, {60, 60}, {20, 3}, {1, 30}, {30, 1}, {7, 9}};
        Random r = new Random(3);
        for (int[] shape : shapes) {
            int m = shape[0];
            int n = shape[1];
            double[] a = Matrices.gaussian(r, m * n);
            double[] truth = Dense.singularValues(a, m, n);
            int k = Math.min(3, Math.min(m, n));
            SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, m, n), k, ITERATIVE.withTolerance(1e-10));
            String what = m + " x " + n;
            assertTrue(s.allConverged(), what + ": " + Arrays.toString(s.residuals()));
            assertArrayEquals(Arrays.copyOf(truth, k), s.values(), 1e-9 * truth[0], what);
            assertHonest(s, a, m, n, 1e-10);
        }
    }

    @Test
    void theOperatorLevelMatchesTheHeapLevel() {
        try (Arena arena = Arena.ofConfined()) {
            double[] a = Matrices.gaussian(new Random(4), 10 * 784);
            LinearOperator tensors = LinearOperator.matrix(new RefBackend(), Tensor.of(arena, a, 10, 784));
            LinearOperator heap = LinearOperator.dense(a, 10, 784);
            double[] v = Matrices.gaussian(new Random(5), 784);
            assertArrayEquals(heap.apply(v), tensors.apply(v), 1e-12);
            SingularValues s = Lanczos.singularValues(tensors, 5, ITERATIVE);
            assertArrayEquals(Arrays.copyOf(Dense.singularValues(a, 10, 784), 5), s.values(), 1e-10);
            assertHonest(s, a, 10, 784, 1e-8);
        }
    }

    @Test
    void clusteredSingularValuesAreResolved() {
        double[] sigma = {10, 9.999, 9.998, 5, 4, 3, 2, 1, 0.5, 0.25};
        double[] a = Matrices.withSingularValues(new Random(6), 80, 50, sigma);
        SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, 80, 50), 3, ITERATIVE.withTolerance(1e-11));
        assertTrue(s.allConverged());
        assertArrayEquals(new double[] {10, 9.999, 9.998}, s.values(), 1e-9);
        assertHonest(s, a, 80, 50, 1e-11);
    }

    @Test
    void aRankDeficientOperatorReportsItsZerosAsExactToWorkingPrecision() {
        // rank 3: the Krylov spaces are used up after three steps, then restart; the fourth and fifth values are 0
        double[] a = Matrices.withSingularValues(new Random(7), 30, 20, new double[] {4, 2, 1});
        SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, 30, 20), 5, ITERATIVE);
        assertArrayEquals(new double[] {4, 2, 1, 0, 0}, s.values(), 1e-12);
        assertTrue(s.allConverged(), Arrays.toString(s.residuals()));
        assertHonest(s, a, 30, 20, 1e-8);
    }

    @Test
    void tooFewStepsAreReportedAsNotConvergedWithTrueBounds() {
        double[] sigma = new double[40];
        for (int i = 0; i < sigma.length; i++) {
            sigma[i] = 1 + 0.01 * (sigma.length - i); // slowly decaying: the top is poorly separated
        }
        double[] a = Matrices.withSingularValues(new Random(8), 60, 40, sigma);
        SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, 60, 40), 2, ITERATIVE.withMaxSteps(4));
        assertFalse(s.allConverged());
        assertHonest(s, a, 60, 40, 1e-8);
        assertTrue(s.residuals()[0] > 1e-6, "the residual shows how far off: " + s.residuals()[0]);
    }

    @Test
    void aFloat32OperatorIsNotReportedConvergedBeyondItsRounding() {
        // the in-exact-arithmetic estimates reach any tolerance; the measured residuals stop at float32 rounding
        try (Arena arena = Arena.ofConfined()) {
            double[] a = Matrices.gaussian(new Random(9), 40 * 30);
            LinearOperator f32 = LinearOperator.matrix(new RefBackend(), Tensor.of(arena, DType.F32, a, 40, 30));
            SingularValues s = Lanczos.singularValues(f32, 2, ITERATIVE.withTolerance(1e-13));
            assertFalse(s.allConverged());
            for (double r : s.residuals()) {
                assertTrue(r > 1e-13 * s.values()[0], "residual " + r);
            }
            // and the values are still right to float32 accuracy
            assertArrayEquals(Arrays.copyOf(Dense.singularValues(a, 40, 30), 2), s.values(), 1e-5 * s.values()[0]);
        }
    }

    @Test
    void theDensePathWritesTheOperatorOutWithTheFewerProducts() {
        double[] a = Matrices.gaussian(new Random(10), 4 * 300);
        SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, 4, 300), 4, Lanczos.Options.defaults());
        assertEquals(SpectralMethod.DENSE, s.method());
        assertEquals(4, s.products(), "four rows A^T e_i");
        assertArrayEquals(Dense.singularValues(a, 4, 300), s.values(), 1e-12);
        assertTrue(s.allConverged());
        assertHonest(s, a, 4, 300, 1e-8);
    }

    /** 50 seeded matrices of random shapes, spectra, k, tolerances and step caps. */
    @Test
    void everyBoundHoldsOverFiftySeeds() {
        int converged = 0;
        for (long seed = 0; seed < 50; seed++) {
            Random r = new Random(seed);
            int m = 1 + r.nextInt(60);
            int n = 1 + r.nextInt(60);
            int rank = 1 + r.nextInt(Math.min(m, n));
            double[] sigma = new double[rank];
            for (int i = 0; i < rank; i++) {
                sigma[i] = switch ((int) (seed % 3)) {
                    case 0 -> Math.exp(-0.3 * i); // geometric decay
                    case 1 -> 1 + r.nextDouble(); // clustered in [1, 2]
                    default -> r.nextDouble() * 10; // spread
                };
            }
            double[] a = seed % 5 == 0 ? Matrices.gaussian(r, m * n) : Matrices.withSingularValues(r, m, n, sigma);
            int k = 1 + r.nextInt(Math.min(5, Math.min(m, n)));
            double tolerance = r.nextBoolean() ? 1e-4 : 1e-9;
            int maxSteps = k + r.nextInt(20);
            SingularValues s = Lanczos.singularValues(LinearOperator.dense(a, m, n), k, ITERATIVE.withTolerance(tolerance)
                    .withMaxSteps(maxSteps).withSeed(seed));
            assertEquals(k, s.values().length);
            assertHonest(s, a, m, n, tolerance);
            if (s.allConverged()) {
                converged++;
                // and here the converged values are the top k
                double[] top = Dense.singularValues(a, m, n);
                for (int i = 0; i < k; i++) {
                    assertEquals(top[i], s.values()[i], s.residuals()[i] + 1e-12, "seed " + seed + ", value " + i);
                }
            }
        }
        System.out.println("Golub-Kahan: " + converged + " of 50 random runs converged");
        assertTrue(converged >= 15 && converged < 50, "a mix of converged and capped runs: " + converged);
    }

    @Test
    void powerIterationReportsTheResidualOfThePairItReturns() {
        double[] sigma = {3, 2.97, 1, 0.5};
        double[] a = Matrices.withSingularValues(new Random(11), 12, 9, sigma);
        LinearOperator op = LinearOperator.dense(a, 12, 9);
        for (int cap : new int[] {5, 2000}) {
            PowerIteration.Result p = PowerIteration.run(op, 1e-9, cap, 3);
            // the relative residual bounds the distance of sigma to a singular value
            assertTrue(p.sigma() <= 3 * (1 + 1e-15), "a lower bound of the norm");
            assertTrue(Matrices.distance(p.sigma(), sigma) <= p.residual() * p.sigma() + 1e-14, cap + ": " + p.sigma() + " +- "
                    + p.residual());
            assertEquals(cap == 2000, p.converged(), "converged iff the residual met 1e-9: " + p.residual());
            assertEquals(p.converged(), p.residual() <= 1e-9);
        }
    }

    @Test
    void badArgumentsAreRejected() {
        LinearOperator op = LinearOperator.dense(new double[6], 2, 3);
        assertThrows(IllegalArgumentException.class, () -> Lanczos.singularValues(op, 0, ITERATIVE));
        assertThrows(IllegalArgumentException.class, () -> Lanczos.singularValues(op, 3, ITERATIVE));
        assertThrows(IllegalArgumentException.class, () -> Lanczos.singularValues(op, 2, ITERATIVE.withMaxSteps(1)));
        assertThrows(IllegalArgumentException.class, () -> ITERATIVE.withTolerance(0));
        assertThrows(IllegalArgumentException.class, () -> ITERATIVE.withDenseLimit(-1));
        assertThrows(IllegalArgumentException.class, () -> LinearOperator.dense(new double[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> op.apply(new double[2]));
        assertThrows(IllegalArgumentException.class, () -> PowerIteration.run(op, 0, 10, 1));
    }
}

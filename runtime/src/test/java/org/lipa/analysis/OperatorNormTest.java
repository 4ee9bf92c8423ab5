package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;
import org.lipa.backend.ref.RefBackend;
import org.lipa.eval.Eager;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Positive-definiteness certificates and certified operator norms against matrices with known spectra. */
class OperatorNormTest {
    /** A random orthogonal n x n matrix (QR of a Gaussian one), row-major. */
    private static double[] orthogonal(Random r, int n) {
        double[] a = new double[n * n];
        for (int i = 0; i < a.length; i++) {
            a[i] = r.nextGaussian();
        }
        return Dense.svd(a, n, n).left().length == n ? rows(Dense.svd(a, n, n).left()) : null;
    }

    private static double[] rows(double[][] v) {
        int n = v.length;
        int m = v[0].length;
        double[] a = new double[n * m];
        for (int i = 0; i < n; i++) {
            System.arraycopy(v[i], 0, a, i * m, m);
        }
        return a;
    }

    /** U diag(s) V^T for random orthogonal U [m, m], V [n, n]. */
    private static double[] withSpectrum(Random r, int m, int n, double[] s) {
        double[] u = orthogonal(r, m);
        double[] v = orthogonal(r, n);
        double[] a = new double[m * n];
        for (int k = 0; k < s.length; k++) {
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    a[i * n + j] += u[k * m + i] * s[k] * v[k * n + j];
                }
            }
        }
        return a;
    }

    @Test
    void denseBoundsAreAboveAndWithin1e8OfKnownNorms() {
        Random r = new Random(11);
        int[][] shapes = {{3, 20}, {20, 3}, {17, 17}, {10, 120}, {64, 9}, {1, 5}};
        for (int[] shape : shapes) {
            int k = Math.min(shape[0], shape[1]);
            for (String kind : List.of("spread", "clustered", "rank-one")) {
                double[] s = new double[k];
                for (int i = 0; i < k; i++) {
                    s[i] = switch (kind) {
                        case "spread" -> 3.0 / (1 + i);
                        case "clustered" -> i < 3 ? 2.5 : 1;
                        default -> i == 0 ? 7 : 0;
                    };
                }
                double[] a = withSpectrum(r, shape[0], shape[1], s);
                OperatorNorm.Bound b = OperatorNorm.dense(a, shape[0], shape[1]);
                String what = shape[0] + "x" + shape[1] + " " + kind + ": " + b;
                // the matrix is s's within rounding (1e-15 relative): the bound is above and tight
                assertTrue(b.upper() >= s[0] * (1 - 1e-13), what);
                assertTrue(b.upper() <= s[0] * (1 + 1e-8), what);
                assertEquals(s[0], b.estimate(), 1e-12 * s[0], what);
            }
        }
        assertEquals(0, OperatorNorm.dense(new double[6], 2, 3).upper());
    }

    @Test
    void aBoundIsNeverBelowAnyRayleighQuotient() {
        // soundness over many seeds: ||A v|| / ||v|| for the top singular vector (and random ones) never exceeds the bound
        Random r = new Random(3);
        for (int seed = 0; seed < 200; seed++) {
            int m = 1 + r.nextInt(40);
            int n = 1 + r.nextInt(40);
            double[] a = new double[m * n];
            double scale = Math.pow(10, r.nextInt(9) - 4);
            for (int i = 0; i < a.length; i++) {
                a[i] = scale * r.nextGaussian();
            }
            double bound = OperatorNorm.dense(a, m, n).upper();
            double[] v = Dense.svd(a, m, n).right()[0];
            double av = Math.sqrt(sumSquares(multiply(a, m, n, v)));
            assertTrue(bound >= av, "seed " + seed + ": " + bound + " < " + av);
            assertTrue(bound <= av * (1 + 1e-8), "seed " + seed + ": " + bound + " vs " + av);
        }
    }

    @Test
    void certificatesNeverProveAnIndefiniteMatrix() {
        Random r = new Random(5);
        int proven = 0;
        for (int seed = 0; seed < 300; seed++) {
            int[] sizes = {1 + r.nextInt(6), 1 + r.nextInt(6), 1 + r.nextInt(6)};
            List<DMatrixRMaj> diagonal = new ArrayList<>();
            List<DMatrixRMaj> upper = new ArrayList<>();
            for (int k = 0; k < sizes.length; k++) {
                DMatrixRMaj d = new DMatrixRMaj(sizes[k], sizes[k]);
                for (int i = 0; i < sizes[k]; i++) {
                    for (int j = i; j < sizes[k]; j++) {
                        double x = r.nextGaussian();
                        d.set(i, j, x);
                        d.set(j, i, x);
                    }
                }
                diagonal.add(d);
                if (k > 0) {
                    DMatrixRMaj c = new DMatrixRMaj(sizes[k - 1], sizes[k]);
                    for (int i = 0; i < c.getNumElements(); i++) {
                        c.data[i] = r.nextGaussian();
                    }
                    upper.add(c);
                }
            }
            double lowest = Dense.symmetricEigen(assemble(diagonal, upper), total(sizes)).values()[0];
            // shift so that the smallest eigenvalue is +margin or -margin
            double margin = Math.pow(10, -2 - r.nextInt(12));
            boolean positive = r.nextBoolean();
            double move = lowest - (positive ? margin : -margin);
            for (DMatrixRMaj d : diagonal) {
                for (int i = 0; i < d.numRows; i++) {
                    d.add(i, i, -move);
                }
            }
            double exact = Dense.symmetricEigen(assemble(diagonal, upper), total(sizes)).values()[0];
            double shift = PsdCertificate.suggestedShift(diagonal, upper, 0);
            PsdCertificate.Result c = PsdCertificate.certify(diagonal, upper, 0, shift);
            if (exact < -1e-12) {
                assertFalse(c.certified(), "seed " + seed + ": lambda_min " + exact + " certified");
            }
            if (c.certified()) {
                proven++;
                assertTrue(c.lowerBound() <= exact + 1e-12, "seed " + seed + ": bound " + c.lowerBound() + " above lambda_min " + exact);
            }
            if (positive && margin >= 1e-6) {
                assertTrue(c.certified(), "seed " + seed + ": lambda_min " + exact + " not certified: " + c.reason());
            }
        }
        assertTrue(proven > 100, "only " + proven + " certified");
    }

    private static int total(int[] sizes) {
        int n = 0;
        for (int s : sizes) {
            n += s;
        }
        return n;
    }

    private static double[] assemble(List<DMatrixRMaj> diagonal, List<DMatrixRMaj> upper) {
        int n = diagonal.stream().mapToInt(d -> d.numRows).sum();
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        int at = 0;
        for (int k = 0; k < diagonal.size(); k++) {
            CommonOps_DDRM.insert(diagonal.get(k), a, at, at);
            if (k > 0) {
                int prev = at - diagonal.get(k - 1).numRows;
                CommonOps_DDRM.insert(upper.get(k - 1), a, prev, at);
                CommonOps_DDRM.insert(CommonOps_DDRM.transpose(upper.get(k - 1), null), a, at, prev);
            }
            at += diagonal.get(k).numRows;
        }
        return a.data;
    }

    /** Convolutions of several geometries: channels, size, kernel, stride, padding, dilation, groups, outputs. */
    private static final int[][] CONVS = {
        {3, 8, 3, 1, 1, 1, 1, 4},
        {2, 9, 3, 2, 1, 1, 1, 3},
        {4, 7, 3, 1, 2, 2, 2, 6},
        {1, 12, 5, 1, 0, 1, 1, 2},
        {2, 10, 2, 2, 0, 1, 1, 5},
    };

    @Test
    void theDenseConvolutionMatrixIsTheRuntimesConvolution() {
        Random r = new Random(8);
        RefBackend ref = new RefBackend();
        for (int[] c : CONVS) {
            Conv2d conv = new Conv2d(Hw.of(c[3]), Hw.of(c[4]), Hw.of(c[5]), c[6]);
            Shape kernelShape = Shape.of(c[7], c[0] / c[6], c[2], c[2]);
            Shape input = Shape.of(1, c[0], c[1], c[1]);
            double[] kernel = normal(r, (int) kernelShape.size());
            double[] x = normal(r, (int) input.size());
            OperatorNorm.Geometry g = OperatorNorm.Geometry.of(kernelShape, input, conv);
            double[] m = OperatorNorm.denseConvolution(kernel, g);
            double[] expected = multiply(m, g.cOut() * g.outH() * g.outW(), g.channels() * g.h() * g.w(), x);
            try (Arena arena = Arena.ofConfined()) {
                Tensor y = new Eager(ref, arena).apply(conv, List.of(Tensor.of(arena, DType.F64, x, input.toArray()),
                        Tensor.of(arena, DType.F64, kernel, kernelShape.toArray()))).get(0);
                double[] got = y.toDoubleArray();
                assertEquals(expected.length, got.length);
                for (int i = 0; i < got.length; i++) {
                    assertEquals(expected[i], got[i], 1e-12, "conv " + java.util.Arrays.toString(c) + " output " + i);
                }
            }
        }
    }

    @Test
    void convolutionBoundsAreAboveTheExactNormAndClose() {
        Random r = new Random(9);
        for (int[] c : CONVS) {
            Conv2d conv = new Conv2d(Hw.of(c[3]), Hw.of(c[4]), Hw.of(c[5]), c[6]);
            Shape kernelShape = Shape.of(c[7], c[0] / c[6], c[2], c[2]);
            Shape input = Shape.of(c[0], c[1], c[1]);
            double[] kernel = normal(r, (int) kernelShape.size());
            OperatorNorm.Geometry g = OperatorNorm.Geometry.of(kernelShape, input, conv);
            double exact = Dense.singularValues(OperatorNorm.denseConvolution(kernel, g), g.cOut() * g.outH() * g.outW(),
                    g.channels() * g.h() * g.w())[0];
            OperatorNorm.Bound small = OperatorNorm.conv2d(kernel, kernelShape, input, conv);
            assertTrue(small.upper() >= exact && small.upper() <= exact * (1 + 1e-8), "dense path " + small + " vs " + exact);
            OperatorNorm.Bound torus = ConvolutionSpectrum.bound(kernel, g);
            assertTrue(torus.upper() >= exact, "torus " + torus + " below the exact " + exact);
            // the torus norm is the supremum over frequencies; the zero-padded operator approaches it as the input grows
            assertTrue(torus.upper() <= exact * 1.35, "torus " + torus + " vs exact " + exact);
        }
    }

    @Test
    void largeConvolutionsUseTheTorusAndStayAbovePowerIteration() {
        Random r = new Random(10);
        Conv2d conv = new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1);
        Shape kernelShape = Shape.of(16, 8, 3, 3);
        Shape input = Shape.of(8, 20, 20);
        double[] kernel = normal(r, (int) kernelShape.size());
        OperatorNorm.Bound b = OperatorNorm.conv2d(kernel, kernelShape, input, conv);
        assertTrue(b.method().contains("torus"), b.method());
        try (Arena arena = Arena.ofConfined()) {
            Tensor w = Tensor.of(arena, DType.F64, kernel, kernelShape.toArray());
            LinearOperator op = LinearOperator.conv2d(new RefBackend(), w, Shape.of(1, 8, 20, 20), conv);
            double estimate = PowerIteration.run(op, 1e-10, 2000, 1).sigma();
            assertTrue(b.upper() >= estimate, b + " below power iteration's " + estimate);
            assertTrue(b.upper() <= estimate * 1.1, b + " vs power iteration's " + estimate);
        }
    }

    @Test
    void badInputIsNamed() {
        var e = assertThrows(IllegalArgumentException.class, () -> OperatorNorm.dense(new double[5], 2, 3));
        assertTrue(e.getMessage().contains("2 x 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OperatorNorm.dense(new double[] {1, Double.NaN}, 1, 2));
        assertTrue(e.getMessage().contains("finite"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OperatorNorm.conv2d(new double[4 * 3 * 9], Shape.of(4, 3, 3, 3),
                Shape.of(2, 8, 8), new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1)));
        assertTrue(e.getMessage().contains("input channels"), e.getMessage());
    }

    static double[] normal(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    private static double[] multiply(double[] a, int m, int n, double[] v) {
        double[] r = new double[m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                r[i] += a[i * n + j] * v[j];
            }
        }
        return r;
    }

    private static double sumSquares(double[] a) {
        double s = 0;
        for (double x : a) {
            s += x * x;
        }
        return s;
    }
}

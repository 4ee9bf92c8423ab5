package org.lipa.analysis;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.lipa.autodiff.Differentiable;
import org.lipa.backend.cpu.CpuBackend;
import org.lipa.backend.ref.RefBackend;
import org.lipa.ops.Conv2d;
import org.lipa.ops.Hw;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * Power iteration and Golub-Kahan-Lanczos against dense SVDs (EJML) of matrices of every shape, convolution
 * operators and Jacobians; each reported bound checked against the true singular values.
 */
class SpectralTest {
    private static final RefBackend REF = new RefBackend();

    private static double[] normal(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    @Test
    void denseSvdReproducesAKnownSpectrum() {
        // diag(3, 2, 1) rotated on both sides keeps its singular values
        double c = Math.cos(0.3);
        double s = Math.sin(0.3);
        double[] q = {c, -s, 0, s, c, 0, 0, 0, 1};
        double[] d = {3, 0, 0, 0, 2, 0, 0, 0, 1};
        double[] a = mul(mul(q, d, 3), transpose(q, 3), 3);
        assertArrayEquals(new double[] {3, 2, 1}, Dense.singularValues(a, 3, 3), 1e-14);
        assertArrayEquals(new double[] {5}, Dense.singularValues(new double[] {3, 4}, 1, 2), 1e-14);
        // and the operator written out is the matrix
        assertArrayEquals(a, LinearOperator.dense(a, 3, 3).toMatrix(), 0);
    }

    private static double[] mul(double[] a, double[] b, int n) {
        double[] c = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < n; k++) {
                    c[i * n + j] += a[i * n + k] * b[k * n + j];
                }
            }
        }
        return c;
    }

    private static double[] transpose(double[] a, int n) {
        double[] t = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                t[j * n + i] = a[i * n + j];
            }
        }
        return t;
    }

    @Test
    void powerIterationAndLanczosMatchTheSvdOfAMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            double[] w = normal(new Random(1), 20 * 30);
            double[] sigma = Dense.singularValues(w, 20, 30);
            LinearOperator op = LinearOperator.matrix(REF, Tensor.of(arena, w, 20, 30));
            PowerIteration.Result p = PowerIteration.run(op, 1e-12, 5000, 7);
            assertTrue(p.converged());
            assertEquals(sigma[0], p.sigma(), 1e-8 * p.sigma());
            assertTrue(p.residual() <= 1e-12, "residual " + p.residual());
            assertTrue(p.sigma() <= sigma[0] * (1 + 1e-15), "power iteration's sigma is a lower bound of the norm");
            SingularValues l = Lanczos.singularValues(op, 3, Lanczos.Options.defaults().withTolerance(1e-10).withMaxSteps(20)
                    .withDenseLimit(0).withSeed(7));
            assertTrue(l.allConverged(), "residuals " + java.util.Arrays.toString(l.residuals()));
            assertEquals(SpectralMethod.LANCZOS, l.method());
            assertArrayEquals(java.util.Arrays.copyOf(sigma, 3), l.values(), 1e-9 * sigma[0]);
        }
    }

    @Test
    @Tag("cpu")
    void powerIterationOnOneDnnInFloat32() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            double[] w = normal(new Random(2), 64 * 48);
            PowerIteration.Result p = PowerIteration.run(LinearOperator.matrix(cpu, Tensor.of(arena, DType.F32, w, 64, 48)),
                    1e-5, 2000, 3); // float32: a relative residual of 1e-5
            assertEquals(Dense.singularValues(w, 64, 48)[0], p.sigma(), 1e-4 * p.sigma());
        }
    }

    @Test
    void theConvolutionOperatorNormIsTheTopSingularValueOfItsDenseMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            Random r = new Random(4);
            Tensor w = Tensor.of(arena, normal(r, 3 * 2 * 3 * 3), 3, 2, 3, 3);
            for (Conv2d conv : List.of(new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1), new Conv2d(Hw.of(2), Hw.of(1), Hw.of(1), 1))) {
                LinearOperator op = LinearOperator.conv2d(REF, w, Shape.of(1, 2, 6, 5), conv);
                double[] a = op.toMatrix();
                int m = Math.toIntExact(op.range().shape().size());
                int n = Math.toIntExact(op.domain().shape().size());
                // the adjoint really is the transpose of the dense matrix
                double[] e = new double[m];
                e[m / 2] = 1;
                double[] row = op.applyTranspose(e);
                for (int j = 0; j < n; j++) {
                    assertEquals(a[(m / 2) * n + j], row[j], 1e-12);
                }
                double top = Dense.singularValues(a, m, n)[0];
                assertEquals(top, PowerIteration.run(op, 1e-7, 10000, 5).sigma(), 1e-7 * top);
                assertEquals(top, Lanczos.singularValues(op, 2, Lanczos.Options.defaults().withTolerance(1e-10).withMaxSteps(60)
                        .withDenseLimit(0).withSeed(5)).values()[0], 1e-9 * top);
                // and it is not the norm of the flattened kernel
                assertTrue(Math.abs(top - Dense.singularValues(w.toDoubleArray(), 3, 18)[0]) > 1e-3);
            }
        }
    }

    @Test
    void theJacobianOperatorOfANetworkAtAPoint() {
        try (Arena arena = Arena.ofConfined()) {
            Random r = new Random(6);
            Tensor w1 = Tensor.of(arena, normal(r, 7 * 5), 7, 5);
            Tensor w2 = Tensor.of(arena, normal(r, 3 * 7), 3, 7);
            Differentiable f = Differentiable.trace(REF, List.of(new org.lipa.tensor.TensorSpec(Shape.of(5), DType.F64)),
                    (ops, in) -> List.of(ops.reshape(ops.matmul(ops.constant(w2),
                            ops.tanh(ops.matmul(ops.constant(w1), ops.reshape(in.get(0), 5, 1)))), 3)));
            Tensor x = Tensor.of(arena, normal(r, 5), 5);
            Tensor jf = f.jacfwd(arena, List.of(x), 0, 0);
            Tensor jr = f.jacrev(arena, List.of(x), 0, 0);
            assertArrayEquals(jf.toDoubleArray(), jr.toDoubleArray(), 1e-13);
            // by hand: W2 diag(1 - tanh^2(W1 x)) W1
            double[] h = new double[7];
            double[] xv = x.toDoubleArray();
            for (int i = 0; i < 7; i++) {
                for (int j = 0; j < 5; j++) {
                    h[i] += w1.get(i, j) * xv[j];
                }
            }
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 5; j++) {
                    double s = 0;
                    for (int k = 0; k < 7; k++) {
                        s += w2.get(i, k) * (1 - Math.tanh(h[k]) * Math.tanh(h[k])) * w1.get(k, j);
                    }
                    assertEquals(s, jf.get(i, j), 1e-13);
                }
            }
            LinearOperator jac = LinearOperator.jacobian(f, arena, List.of(x), 0, 0);
            double top = Dense.singularValues(jf.toDoubleArray(), 3, 5)[0];
            assertEquals(top, PowerIteration.run(jac, 1e-7, 2000, 1).sigma(), 1e-8 * top);
            // a wide Jacobian (3 outputs, 5 inputs): every singular value, by Golub-Kahan and by the dense path
            double[] all = Dense.singularValues(jf.toDoubleArray(), 3, 5);
            for (int limit : new int[] {0, 100}) {
                SingularValues s = Lanczos.singularValues(jac, 3, Lanczos.Options.defaults().withDenseLimit(limit));
                assertArrayEquals(all, s.values(), 1e-10 * top, "dense limit " + limit);
                assertTrue(s.allConverged());
            }
        }
    }

    /**
     * A ReLU network with nonnegative weights and biases: on nonnegative inputs every unit is active, and
     * the spectral norm is monotone on nonnegative matrices, so the Lipschitz constant is exactly
     * ||W3 W2 W1||, attained there. The local Jacobian norm found by power iteration matches it.
     */
    @Test
    @Tag("cpu")
    void aReluNetworkWithPositiveWeightsHasItsLipschitzConstantInClosedForm() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            Random r = new Random(8);
            int[] widths = {6, 8, 5, 4};
            Tensor[] w = new Tensor[3];
            double[][] dense = new double[3][];
            for (int l = 0; l < 3; l++) {
                dense[l] = new double[widths[l + 1] * widths[l]];
                for (int i = 0; i < dense[l].length; i++) {
                    dense[l][i] = r.nextDouble();
                }
                w[l] = Tensor.of(arena, DType.F32, dense[l], widths[l + 1], widths[l]);
            }
            Tensor b = Tensor.full(arena, DType.F32, Shape.of(8), 0.1);
            Differentiable f = Differentiable.trace(cpu, List.of(new org.lipa.tensor.TensorSpec(Shape.of(1, 6), DType.F32)),
                    (ops, in) -> {
                        var h = ops.relu(ops.linear(in.get(0), ops.constant(w[0]), ops.constant(b)));
                        h = ops.relu(ops.linear(h, ops.constant(w[1]), null));
                        return List.of(ops.linear(h, ops.constant(w[2]), null));
                    });
            Tensor x = Tensor.full(arena, DType.F32, Shape.of(1, 6), 0.5);
            double local = PowerIteration.run(LinearOperator.jacobian(f, arena, List.of(x), 0, 0), 1e-5, 1000, 2).sigma();
            double[] prod = matmul(dense[2], 4, 5, matmul(dense[1], 5, 8, dense[0], 6), 6);
            double exact = Dense.singularValues(prod, 4, 6)[0];
            assertEquals(exact, local, 1e-4 * exact);
        }
    }

    private static double[] matmul(double[] a, int m, int k, double[] b, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < k; p++) {
                    c[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        return c;
    }

    /** Modules at a point: a layer norm and a scaled dot-product self-attention, against their dense Jacobians. */
    @Test
    void normalizationAndAttentionJacobiansAtAPoint() {
        try (Arena arena = Arena.ofConfined()) {
            Random r = new Random(9);
            Tensor gamma = Tensor.of(arena, normal(r, 6), 6);
            Tensor beta = Tensor.of(arena, normal(r, 6), 6);
            Tensor wq = Tensor.of(arena, normal(r, 36), 6, 6);
            Tensor wk = Tensor.of(arena, normal(r, 36), 6, 6);
            Tensor wv = Tensor.of(arena, normal(r, 36), 6, 6);
            var spec = new org.lipa.tensor.TensorSpec(Shape.of(4, 6), DType.F64);
            Differentiable norm = Differentiable.trace(REF, List.of(spec),
                    (ops, in) -> List.of(ops.layerNorm(in.get(0), ops.constant(gamma), ops.constant(beta), 1e-5)));
            Differentiable attention = Differentiable.trace(REF, List.of(spec), (ops, in) -> {
                var x = in.get(0);
                var q = ops.matmul(x, ops.constant(wq));
                var k = ops.matmul(x, ops.constant(wk));
                var v = ops.matmul(x, ops.constant(wv));
                var scores = ops.scale(ops.matmul(q, ops.transpose(k, 0, 1)), 1 / Math.sqrt(6));
                return List.of(ops.matmul(ops.softmax(scores, -1), v));
            });
            Tensor x = Tensor.of(arena, normal(r, 24), 4, 6);
            for (Differentiable f : List.of(norm, attention)) {
                Tensor j = f.jacfwd(arena, List.of(x), 0, 0);
                double top = Dense.singularValues(j.toDoubleArray(), 24, 24)[0];
                double found = PowerIteration.run(LinearOperator.jacobian(f, arena, List.of(x), 0, 0), 1e-7, 20000, 4).sigma();
                assertEquals(top, found, 1e-6 * top);
            }
        }
    }
}

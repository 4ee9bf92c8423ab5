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

/** Power iteration and Lanczos against dense SVDs of matrices, convolution operators and Jacobians. */
class SpectralTest {
    private static final RefBackend REF = new RefBackend();

    private static double[] normal(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextGaussian();
        }
        return v;
    }

    /** The dense matrix of an operator, column by column. */
    private static double[] dense(LinearOperator op) {
        int n = Math.toIntExact(op.domain().shape().size());
        int m = Math.toIntExact(op.range().shape().size());
        double[] a = new double[m * n];
        for (int j = 0; j < n; j++) {
            double[] e = new double[n];
            e[j] = 1;
            double[] col = Spectral.apply(op, e);
            for (int i = 0; i < m; i++) {
                a[i * n + j] = col[i];
            }
        }
        return a;
    }

    @Test
    void denseSvdReproducesAKnownSpectrum() {
        // diag(3, 2, 1) rotated on both sides keeps its singular values
        double c = Math.cos(0.3);
        double s = Math.sin(0.3);
        double[] q = {c, -s, 0, s, c, 0, 0, 0, 1};
        double[] d = {3, 0, 0, 0, 2, 0, 0, 0, 1};
        double[] a = mul(mul(q, d, 3), transpose(q, 3), 3);
        assertArrayEquals(new double[] {3, 2, 1}, DenseSvd.of(a, 3, 3).singularValues(), 1e-14);
        assertArrayEquals(new double[] {5}, DenseSvd.of(new double[] {3, 4}, 1, 2).singularValues(), 1e-14);
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
            DenseSvd svd = DenseSvd.of(w, 20, 30);
            LinearOperator op = LinearOperator.matrix(REF, Tensor.of(arena, w, 20, 30));
            PowerIteration.Result p = PowerIteration.run(op, 1e-12, 5000, 7);
            assertTrue(p.converged());
            assertEquals(svd.singularValues()[0], p.sigma(), 1e-8 * p.sigma());
            assertTrue(p.residual() < 1e-4, "residual " + p.residual());
            Lanczos.Result l = Lanczos.run(op, 3, 1e-10, 20, 7);
            assertTrue(l.converged(), "residuals " + java.util.Arrays.toString(l.residuals()));
            assertArrayEquals(java.util.Arrays.copyOf(svd.singularValues(), 3), l.sigma(), 1e-9 * svd.singularValues()[0]);
        }
    }

    @Test
    @Tag("cpu")
    void powerIterationOnOneDnnInFloat32() {
        try (CpuBackend cpu = CpuBackend.open(); Arena arena = Arena.ofConfined()) {
            double[] w = normal(new Random(2), 64 * 48);
            PowerIteration.Result p = PowerIteration.run(LinearOperator.matrix(cpu, Tensor.of(arena, DType.F32, w, 64, 48)),
                    1e-7, 2000, 3);
            assertEquals(DenseSvd.of(w, 64, 48).singularValues()[0], p.sigma(), 1e-4 * p.sigma());
        }
    }

    @Test
    void theConvolutionOperatorNormIsTheTopSingularValueOfItsDenseMatrix() {
        try (Arena arena = Arena.ofConfined()) {
            Random r = new Random(4);
            Tensor w = Tensor.of(arena, normal(r, 3 * 2 * 3 * 3), 3, 2, 3, 3);
            for (Conv2d conv : List.of(new Conv2d(Hw.of(1), Hw.of(1), Hw.of(1), 1), new Conv2d(Hw.of(2), Hw.of(1), Hw.of(1), 1))) {
                LinearOperator op = LinearOperator.conv2d(REF, w, Shape.of(1, 2, 6, 5), conv);
                double[] a = dense(op);
                int m = Math.toIntExact(op.range().shape().size());
                int n = Math.toIntExact(op.domain().shape().size());
                // the adjoint really is the transpose of the dense matrix
                double[] e = new double[m];
                e[m / 2] = 1;
                double[] row = Spectral.applyTranspose(op, e);
                for (int j = 0; j < n; j++) {
                    assertEquals(a[(m / 2) * n + j], row[j], 1e-12);
                }
                double top = DenseSvd.of(a, m, n).singularValues()[0];
                assertEquals(top, PowerIteration.run(op, 1e-13, 10000, 5).sigma(), 1e-7 * top);
                assertEquals(top, Lanczos.run(op, 2, 1e-10, 60, 5).sigma()[0], 1e-9 * top);
                // and it is not the norm of the flattened kernel
                assertTrue(Math.abs(top - DenseSvd.of(w.toDoubleArray(), 3, 18).singularValues()[0]) > 1e-3);
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
            double top = DenseSvd.of(jf.toDoubleArray(), 3, 5).singularValues()[0];
            assertEquals(top, PowerIteration.run(jac, 1e-13, 2000, 1).sigma(), 1e-8 * top);
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
            double local = PowerIteration.run(LinearOperator.jacobian(f, arena, List.of(x), 0, 0), 1e-9, 1000, 2).sigma();
            double[] prod = matmul(dense[2], 4, 5, matmul(dense[1], 5, 8, dense[0], 6), 6);
            double exact = DenseSvd.of(prod, 4, 6).singularValues()[0];
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
                double top = DenseSvd.of(j.toDoubleArray(), 24, 24).singularValues()[0];
                double found = PowerIteration.run(LinearOperator.jacobian(f, arena, List.of(x), 0, 0), 1e-13, 20000, 4).sigma();
                assertEquals(top, found, 1e-6 * top);
            }
        }
    }
}

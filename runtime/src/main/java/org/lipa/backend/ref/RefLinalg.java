package org.lipa.backend.ref;

import java.util.List;
import org.lipa.ops.Conv2d;
import org.lipa.ops.ConvTranspose2d;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/** Matrix products and convolutions by their definitions. */
final class RefLinalg {
    private RefLinalg() {
    }

    /** y[b] = a[b] @ w[b] (+ bias), batch dims broadcast by reading the operands as broadcast views. */
    static void matmul(List<Tensor> in, Tensor y) {
        Shape out = y.shape();
        int r = out.rank();
        long m = out.dim(r - 2);
        long n = out.dim(r - 1);
        long k = in.get(0).shape().dim(-1);
        Shape batch = out.sub(0, r - 2);
        double[] a = in.get(0).broadcastTo(concat(batch, m, k)).toDoubleArray();
        double[] w = in.get(1).broadcastTo(concat(batch, k, n)).toDoubleArray();
        double[] res = in.size() == 3 ? in.get(2).broadcastTo(out).toDoubleArray() : new double[Math.toIntExact(out.size())];
        int mm = (int) m;
        int nn = (int) n;
        int kk = (int) k;
        for (long bi = 0; bi < batch.size(); bi++) {
            int ao = (int) (bi * m * k);
            int wo = (int) (bi * k * n);
            int yo = (int) (bi * m * n);
            for (int i = 0; i < mm; i++) {
                for (int j = 0; j < nn; j++) {
                    double s = 0;
                    for (int p = 0; p < kk; p++) {
                        s += a[ao + i * kk + p] * w[wo + p * nn + j];
                    }
                    res[yo + i * nn + j] += s;
                }
            }
        }
        y.copyFrom(res);
    }

    private static Shape concat(Shape batch, long rows, long cols) {
        long[] d = new long[batch.rank() + 2];
        System.arraycopy(batch.toArray(), 0, d, 0, batch.rank());
        d[batch.rank()] = rows;
        d[batch.rank() + 1] = cols;
        return Shape.of(d);
    }

    /** y[n,o,i,j] = bias[o] + sum over the group's channels c and taps (p,q) of x[n,c,i s - pad + p dil, ...] w[o,c,p,q]. */
    static void conv(Conv2d op, List<Tensor> in, Tensor y) {
        Shape xs = in.get(0).shape();
        Shape ws = in.get(1).shape();
        double[] x = in.get(0).toDoubleArray();
        double[] w = in.get(1).toDoubleArray();
        double[] bias = in.size() == 3 ? in.get(2).toDoubleArray() : null;
        int nB = (int) xs.dim(0), c = (int) xs.dim(1), h = (int) xs.dim(2), wd = (int) xs.dim(3);
        int o = (int) ws.dim(0), cg = (int) ws.dim(1), kh = (int) ws.dim(2), kw = (int) ws.dim(3);
        int oh = (int) y.shape().dim(2), ow = (int) y.shape().dim(3);
        int og = o / op.groups();
        double[] res = new double[Math.toIntExact(y.size())];
        for (int n = 0; n < nB; n++) {
            for (int oc = 0; oc < o; oc++) {
                int g = oc / og;
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ci = 0; ci < cg; ci++) {
                            int xc = g * cg + ci;
                            for (int p = 0; p < kh; p++) {
                                int hi = i * op.stride().h() - op.padding().h() + p * op.dilation().h();
                                if (hi < 0 || hi >= h) {
                                    continue;
                                }
                                for (int q = 0; q < kw; q++) {
                                    int wi = j * op.stride().w() - op.padding().w() + q * op.dilation().w();
                                    if (wi < 0 || wi >= wd) {
                                        continue;
                                    }
                                    s += x[((n * c + xc) * h + hi) * wd + wi] * w[((oc * cg + ci) * kh + p) * kw + q];
                                }
                            }
                        }
                        res[((n * o + oc) * oh + i) * ow + j] = s;
                    }
                }
            }
        }
        y.copyFrom(res);
    }

    /** dw[o,c,p,q] = sum over n, i, j of g[n,o,i,j] x[n, group's c, i s - pad + p dil, j s - pad + q dil]. */
    static void convWeightGrad(org.lipa.ops.Conv2dWeightGrad op, List<Tensor> in, Tensor dw) {
        Shape xs = in.get(0).shape();
        Shape gs = in.get(1).shape();
        double[] x = in.get(0).toDoubleArray();
        double[] g = in.get(1).toDoubleArray();
        int nB = (int) xs.dim(0), c = (int) xs.dim(1), h = (int) xs.dim(2), wd = (int) xs.dim(3);
        int o = (int) gs.dim(1), oh = (int) gs.dim(2), ow = (int) gs.dim(3);
        int kh = op.kernel().h(), kw = op.kernel().w();
        int cg = c / op.groups();
        int og = o / op.groups();
        double[] res = new double[Math.toIntExact(dw.size())];
        for (int oc = 0; oc < o; oc++) {
            int grp = oc / og;
            for (int ci = 0; ci < cg; ci++) {
                for (int p = 0; p < kh; p++) {
                    for (int q = 0; q < kw; q++) {
                        double s = 0;
                        for (int n = 0; n < nB; n++) {
                            for (int i = 0; i < oh; i++) {
                                int hi = i * op.stride().h() - op.padding().h() + p * op.dilation().h();
                                if (hi < 0 || hi >= h) {
                                    continue;
                                }
                                for (int j = 0; j < ow; j++) {
                                    int wi = j * op.stride().w() - op.padding().w() + q * op.dilation().w();
                                    if (wi >= 0 && wi < wd) {
                                        s += g[((n * o + oc) * oh + i) * ow + j] * x[((n * c + grp * cg + ci) * h + hi) * wd + wi];
                                    }
                                }
                            }
                        }
                        res[((oc * cg + ci) * kh + p) * kw + q] = s;
                    }
                }
            }
        }
        dw.copyFrom(res);
    }

    /**
     * The adjoint of conv in its input: every x[n,c,i,j] scatters x w[c,o,p,q] to
     * y[n, group's o, i s - pad + p dil, j s - pad + q dil]; weights are [in, out/groups, kh, kw].
     */
    static void convTranspose(ConvTranspose2d op, List<Tensor> in, Tensor y) {
        Shape xs = in.get(0).shape();
        Shape ws = in.get(1).shape();
        double[] x = in.get(0).toDoubleArray();
        double[] w = in.get(1).toDoubleArray();
        int nB = (int) xs.dim(0), c = (int) xs.dim(1), h = (int) xs.dim(2), wd = (int) xs.dim(3);
        int og = (int) ws.dim(1), kh = (int) ws.dim(2), kw = (int) ws.dim(3);
        int o = (int) y.shape().dim(1), oh = (int) y.shape().dim(2), ow = (int) y.shape().dim(3);
        int cg = c / op.groups();
        double[] res = new double[Math.toIntExact(y.size())];
        if (in.size() == 3) {
            double[] bias = in.get(2).toDoubleArray();
            for (int n = 0; n < nB; n++) {
                for (int oc = 0; oc < o; oc++) {
                    java.util.Arrays.fill(res, (n * o + oc) * oh * ow, (n * o + oc + 1) * oh * ow, bias[oc]);
                }
            }
        }
        for (int n = 0; n < nB; n++) {
            for (int ci = 0; ci < c; ci++) {
                int g = ci / cg;
                for (int i = 0; i < h; i++) {
                    for (int j = 0; j < wd; j++) {
                        double v = x[((n * c + ci) * h + i) * wd + j];
                        for (int oc = 0; oc < og; oc++) {
                            int yc = g * og + oc;
                            for (int p = 0; p < kh; p++) {
                                int yi = i * op.stride().h() - op.padding().h() + p * op.dilation().h();
                                if (yi < 0 || yi >= oh) {
                                    continue;
                                }
                                for (int q = 0; q < kw; q++) {
                                    int yj = j * op.stride().w() - op.padding().w() + q * op.dilation().w();
                                    if (yj < 0 || yj >= ow) {
                                        continue;
                                    }
                                    res[((n * o + yc) * oh + yi) * ow + yj] += v * w[((ci * og + oc) * kh + p) * kw + q];
                                }
                            }
                        }
                    }
                }
            }
        }
        y.copyFrom(res);
    }
}

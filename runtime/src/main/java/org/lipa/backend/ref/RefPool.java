package org.lipa.backend.ref;

import org.lipa.ops.Pool2d;
import org.lipa.tensor.Tensor;

/** 2-D pooling by its definition; padded positions never win a max and count for an average only when asked. */
final class RefPool {
    private RefPool() {
    }

    static void pool(Pool2d op, Tensor xt, Tensor y) {
        double[] x = xt.toDoubleArray();
        int n = (int) xt.shape().dim(0), c = (int) xt.shape().dim(1), h = (int) xt.shape().dim(2), w = (int) xt.shape().dim(3);
        int oh = (int) y.shape().dim(2), ow = (int) y.shape().dim(3);
        int kh = op.kernel().h(), kw = op.kernel().w();
        double[] res = new double[Math.toIntExact(y.size())];
        for (int nc = 0; nc < n * c; nc++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double max = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    int count = 0;
                    for (int p = 0; p < kh; p++) {
                        int hi = i * op.stride().h() - op.padding().h() + p;
                        for (int q = 0; q < kw; q++) {
                            int wi = j * op.stride().w() - op.padding().w() + q;
                            if (hi < 0 || hi >= h || wi < 0 || wi >= w) {
                                continue;
                            }
                            double v = x[(nc * h + hi) * w + wi];
                            max = Math.max(max, v);
                            sum += v;
                            count++;
                        }
                    }
                    res[(nc * oh + i) * ow + j] = switch (op.kind()) {
                        case MAX -> max;
                        case AVG_INCLUDE_PAD -> sum / (kh * kw);
                        case AVG_EXCLUDE_PAD -> sum / count;
                    };
                }
            }
        }
        y.copyFrom(res);
    }

    /** Each cotangent goes to its window: evenly for averages, to the first maximum for max pooling. */
    static void poolGrad(Pool2d op, Tensor xt, Tensor gt, Tensor dx) {
        double[] x = xt.toDoubleArray();
        double[] g = gt.toDoubleArray();
        int n = (int) xt.shape().dim(0), c = (int) xt.shape().dim(1), h = (int) xt.shape().dim(2), w = (int) xt.shape().dim(3);
        int oh = (int) gt.shape().dim(2), ow = (int) gt.shape().dim(3);
        int kh = op.kernel().h(), kw = op.kernel().w();
        double[] res = new double[x.length];
        for (int nc = 0; nc < n * c; nc++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    double gv = g[(nc * oh + i) * ow + j];
                    int best = -1;
                    int count = 0;
                    for (int p = 0; p < kh; p++) {
                        int hi = i * op.stride().h() - op.padding().h() + p;
                        for (int q = 0; q < kw; q++) {
                            int wi = j * op.stride().w() - op.padding().w() + q;
                            if (hi >= 0 && hi < h && wi >= 0 && wi < w) {
                                int k = (nc * h + hi) * w + wi;
                                count++;
                                if (best < 0 || x[k] > x[best]) {
                                    best = k;
                                }
                            }
                        }
                    }
                    for (int p = 0; p < kh; p++) {
                        int hi = i * op.stride().h() - op.padding().h() + p;
                        for (int q = 0; q < kw; q++) {
                            int wi = j * op.stride().w() - op.padding().w() + q;
                            if (hi < 0 || hi >= h || wi < 0 || wi >= w) {
                                continue;
                            }
                            int k = (nc * h + hi) * w + wi;
                            res[k] += switch (op.kind()) {
                                case MAX -> k == best ? gv : 0;
                                case AVG_INCLUDE_PAD -> gv / (kh * kw);
                                case AVG_EXCLUDE_PAD -> gv / count;
                            };
                        }
                    }
                }
            }
        }
        dx.copyFrom(res);
    }

    /** Average pooling of v, or v at each window's first maximum of x. */
    static void poolTangent(Pool2d op, Tensor xt, Tensor vt, Tensor y) {
        if (op.kind() != Pool2d.Kind.MAX) {
            pool(op, vt, y);
            return;
        }
        double[] x = xt.toDoubleArray();
        double[] v = vt.toDoubleArray();
        int n = (int) xt.shape().dim(0), c = (int) xt.shape().dim(1), h = (int) xt.shape().dim(2), w = (int) xt.shape().dim(3);
        int oh = (int) y.shape().dim(2), ow = (int) y.shape().dim(3);
        double[] res = new double[Math.toIntExact(y.size())];
        for (int nc = 0; nc < n * c; nc++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int best = -1;
                    for (int p = 0; p < op.kernel().h(); p++) {
                        int hi = i * op.stride().h() - op.padding().h() + p;
                        for (int q = 0; q < op.kernel().w(); q++) {
                            int wi = j * op.stride().w() - op.padding().w() + q;
                            if (hi >= 0 && hi < h && wi >= 0 && wi < w) {
                                int k = (nc * h + hi) * w + wi;
                                if (best < 0 || x[k] > x[best]) {
                                    best = k;
                                }
                            }
                        }
                    }
                    res[(nc * oh + i) * ow + j] = v[best];
                }
            }
        }
        y.copyFrom(res);
    }
}

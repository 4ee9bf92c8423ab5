package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;

/**
 * The exact Lipschitz constant (l2 to l2) of a relu or leaky relu network with a 2-D input: the test
 * oracle of the lower-bound search.
 *
 * <p>The network is continuous and affine on each of its activation regions, so {@code L} is the
 * largest spectral norm of a region's Jacobian over the regions with nonempty interior. They are
 * enumerated by splitting the box {@code [-R, R]^2} layer by layer: within a piece made by the layers
 * before, every neuron of the next layer is an affine function of x, so its zero line cuts the (convex)
 * piece into at most two convex pieces, each with that neuron's sign fixed. At the end each piece is
 * one region intersected with the box, with its own affine map, computed here without
 * {@link FeedForward}'s Jacobian. Regions reaching outside the box are cones or strips there, with
 * the same Jacobian inside, so the box only needs to hold every vertex of the arrangement: R is doubled
 * until every vertex lies within R/4 and doubling once more changes neither the number of regions
 * nor L.
 *
 * <p>Arithmetic is double precision: a region thinner than rounding could be missed or invented. The
 * pieces can be checked against the network (the pattern at each piece's interior point).
 */
final class ExactLipschitz {
    private ExactLipschitz() {
    }

    /**
     * One region (within the box).
     *
     * @param polygon  its vertices, counter-clockwise
     * @param slopes   the activation slopes in it, per hidden layer
     * @param jacobian its Jacobian, row-major {@code out x 2}
     * @param norm     the Jacobian's spectral norm
     * @param interior a point inside it (the vertex mean)
     * @param area     its area
     */
    record Region(List<double[]> polygon, double[][] slopes, double[] jacobian, double norm, double[] interior, double area) {
    }

    /**
     * @param lipschitz the constant: the largest region norm
     * @param argmax    an interior point of a region attaining it
     * @param regions   every region, within the final box
     * @param half      the box's half-width R
     */
    record Result(double lipschitz, double[] argmax, List<Region> regions, double half) {
    }

    /** The exact constant of {@code net} (2 inputs, relu or leaky relu). */
    static Result of(FeedForward net) {
        if (net.inputSize() != 2 || !net.activation().piecewiseLinear()) {
            throw new IllegalArgumentException("net: needs 2 inputs and a piecewise-linear activation, got " + net.inputSize() + " inputs, "
                    + net.activation());
        }
        double half = 1;
        Result small = enumerate(net, half);
        for (int doubling = 0; doubling < 60; doubling++) {
            Result big = enumerate(net, 2 * half);
            if (farthestVertex(small) <= half / 4 && big.regions().size() == small.regions().size()
                    && big.lipschitz() == small.lipschitz()) {
                return small;
            }
            half *= 2;
            small = big;
        }
        throw new IllegalStateException("the arrangement's vertices did not fit in any box up to 2^60");
    }

    /** The regions of {@code net} within {@code [-half, half]^2}. */
    static Result enumerate(FeedForward net, double half) {
        int hidden = net.layers() - 1;
        Nonlinearity phi = net.activation();
        List<double[]> box = List.of(new double[] {-half, -half}, new double[] {half, -half}, new double[] {half, half},
                new double[] {-half, half});
        // a piece: polygon, the affine map h = A x + c of the current layer's input (A is rows x 2), slopes so far
        List<Piece> pieces = new ArrayList<>();
        pieces.add(new Piece(box, new double[] {1, 0, 0, 1}, new double[] {0, 0}, new double[0][]));
        for (int l = 0; l < hidden; l++) {
            List<Piece> next = new ArrayList<>();
            for (Piece p : pieces) {
                double[][] pre = affine(net, l, p.a(), p.c()); // z = alpha x + beta: pre[j] = {alpha0, alpha1, beta}
                split(p, pre, 0, new double[pre.length], phi, next);
            }
            pieces = next;
        }
        List<Region> regions = new ArrayList<>();
        double best = -1;
        double[] argmax = null;
        for (Piece p : pieces) {
            double[][] out = affine(net, hidden, p.a(), p.c());
            double[] j = new double[out.length * 2];
            for (int i = 0; i < out.length; i++) {
                j[2 * i] = out[i][0];
                j[2 * i + 1] = out[i][1];
            }
            double norm = norm2(j, out.length);
            double[] interior = mean(p.polygon());
            regions.add(new Region(p.polygon(), p.slopes(), j, norm, interior, area(p.polygon())));
            if (norm > best) {
                best = norm;
                argmax = interior;
            }
        }
        return new Result(best, argmax, regions, half);
    }

    private record Piece(List<double[]> polygon, double[] a, double[] c, double[][] slopes) {
    }

    /** Splits piece p by neurons j.. of the current layer (coefficients pre), recursively; finished pieces go to out. */
    private static void split(Piece p, double[][] pre, int j, double[] signs, Nonlinearity phi, List<Piece> out) {
        if (j == pre.length) {
            double[] s = new double[pre.length];
            for (int k = 0; k < s.length; k++) {
                s[k] = phi.derivative(signs[k]); // +1 or -1 stand for the sides
            }
            int rows = pre.length;
            double[] a = new double[rows * 2];
            double[] c = new double[rows];
            for (int k = 0; k < rows; k++) {
                a[2 * k] = s[k] * pre[k][0];
                a[2 * k + 1] = s[k] * pre[k][1];
                c[k] = s[k] * pre[k][2];
            }
            double[][] slopes = java.util.Arrays.copyOf(p.slopes(), p.slopes().length + 1);
            slopes[slopes.length - 1] = s;
            out.add(new Piece(p.polygon(), a, c, slopes));
            return;
        }
        for (int side : new int[] {1, -1}) {
            List<double[]> part = clip(p.polygon(), pre[j], side);
            if (part != null) {
                double[] s = signs.clone();
                s[j] = side;
                split(new Piece(part, p.a(), p.c(), p.slopes()), pre, j + 1, s, phi, out);
            }
        }
    }

    /** Layer l's pre-activations as affine functions of x, given its input {@code h = A x + c} (A row-major, 2 columns). */
    private static double[][] affine(FeedForward net, int l, double[] a, double[] c) {
        double[] w = net.weight(l);
        double[] b = net.bias(l);
        int cols = c.length;
        double[][] out = new double[b.length][3];
        for (int i = 0; i < b.length; i++) {
            double a0 = 0;
            double a1 = 0;
            double beta = b[i];
            for (int k = 0; k < cols; k++) {
                double wk = w[i * cols + k];
                a0 += wk * a[2 * k];
                a1 += wk * a[2 * k + 1];
                beta += wk * c[k];
            }
            out[i] = new double[] {a0, a1, beta};
        }
        return out;
    }

    /** The part of a convex polygon where {@code side * (f0 x + f1 y + f2) >= 0}; null if it has no area. */
    private static List<double[]> clip(List<double[]> poly, double[] f, int side) {
        List<double[]> out = new ArrayList<>();
        int n = poly.size();
        for (int i = 0; i < n; i++) {
            double[] p = poly.get(i);
            double[] q = poly.get((i + 1) % n);
            double fp = side * (f[0] * p[0] + f[1] * p[1] + f[2]);
            double fq = side * (f[0] * q[0] + f[1] * q[1] + f[2]);
            if (fp >= 0) {
                out.add(p);
            }
            if ((fp > 0 && fq < 0) || (fp < 0 && fq > 0)) {
                double t = fp / (fp - fq);
                out.add(new double[] {p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])});
            }
        }
        return out.size() >= 3 && area(out) > 0 ? out : null;
    }

    static double area(List<double[]> poly) {
        double s = 0;
        for (int i = 0; i < poly.size(); i++) {
            double[] p = poly.get(i);
            double[] q = poly.get((i + 1) % poly.size());
            s += p[0] * q[1] - q[0] * p[1];
        }
        return s / 2;
    }

    private static double[] mean(List<double[]> poly) {
        double[] m = new double[2];
        for (double[] p : poly) {
            m[0] += p[0] / poly.size();
            m[1] += p[1] / poly.size();
        }
        return m;
    }

    /** The spectral norm of a rows x 2 matrix: the root of its 2 x 2 Gram matrix's larger eigenvalue, in closed form. */
    static double norm2(double[] j, int rows) {
        double a = 0;
        double b = 0;
        double c = 0;
        for (int i = 0; i < rows; i++) {
            a += j[2 * i] * j[2 * i];
            b += j[2 * i] * j[2 * i + 1];
            c += j[2 * i + 1] * j[2 * i + 1];
        }
        return Math.sqrt((a + c) / 2 + Math.hypot((a - c) / 2, b));
    }

    /** The largest coordinate of a vertex not on the box's boundary: a vertex of the arrangement. */
    private static double farthestVertex(Result r) {
        double far = 0;
        double edge = r.half() * (1 - 1e-9);
        for (Region g : r.regions()) {
            for (double[] p : g.polygon()) {
                double m = Math.max(Math.abs(p[0]), Math.abs(p[1]));
                if (Math.abs(p[0]) < edge && Math.abs(p[1]) < edge) {
                    far = Math.max(far, m);
                }
            }
        }
        return far;
    }
}

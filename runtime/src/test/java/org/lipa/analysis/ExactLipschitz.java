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
 * {@link FeedForward}'s Jacobian.
 *
 * <p>The box must meet every region. Each region is the polyhedron {@code {x : s_j f_j(x) >= 0}} over
 * all hidden neurons j (f_j affine with the region's pattern), so its vertices and facets are computed
 * in full, beyond the box too. R grows until every vertex and a point of every facet of every region
 * found lies within R/4: then a region's neighbours across its facets also meet the box, and, the
 * regions being connected through facets, so do all regions. Doubling R once more must then change
 * neither the number of regions nor L (checked).
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
     * @param sides    every hidden neuron's line {@code {a0, a1, b, side}}: the region is where {@code side (a0 x + a1 y + b) >= 0} for all
     */
    record Region(List<double[]> polygon, double[][] slopes, double[] jacobian, double norm, double[] interior, double area,
                  List<double[]> sides) {
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
        for (int tries = 0; tries < 64; tries++) {
            Result r = enumerate(net, half);
            double needed = 4 * reach(r);
            if (needed <= half) {
                Result twice = enumerate(net, 2 * half);
                if (twice.regions().size() != r.regions().size() || twice.lipschitz() != r.lipschitz()) {
                    throw new IllegalStateException("doubling the box from " + half + " changed the regions: " + r.regions().size() + " -> "
                            + twice.regions().size());
                }
                return r;
            }
            half = Math.max(2 * half, Math.scalb(1.0, Math.getExponent(needed) + 1));
        }
        throw new IllegalStateException("the arrangement's vertices did not fit in any box up to 2^64");
    }

    /** The regions of {@code net} within {@code [-half, half]^2}. */
    static Result enumerate(FeedForward net, double half) {
        int hidden = net.layers() - 1;
        Nonlinearity phi = net.activation();
        List<double[]> box = List.of(new double[] {-half, -half}, new double[] {half, -half}, new double[] {half, half},
                new double[] {-half, half});
        // a piece: polygon, the affine map h = A x + c of the current layer's input (A is rows x 2), slopes so far
        List<Piece> pieces = new ArrayList<>();
        pieces.add(new Piece(box, new double[] {1, 0, 0, 1}, new double[] {0, 0}, new double[0][], List.of()));
        for (int l = 0; l < hidden; l++) {
            List<Piece> next = new ArrayList<>();
            for (Piece p : pieces) {
                double[][] pre = affine(net, l, p.a(), p.c()); // z = alpha x + beta: pre[j] = {alpha0, alpha1, beta}
                split(p, pre, 0, new double[pre.length], phi, next);
                if (next.size() > 1_000_000) {
                    throw new IllegalStateException("more than a million regions in layer " + l + ": degenerate splitting?");
                }
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
            regions.add(new Region(p.polygon(), p.slopes(), j, norm, interior, area(p.polygon()), p.sides()));
            if (norm > best) {
                best = norm;
                argmax = interior;
            }
        }
        return new Result(best, argmax, regions, half);
    }

    private record Piece(List<double[]> polygon, double[] a, double[] c, double[][] slopes, List<double[]> sides) {
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
            List<double[]> sides = new ArrayList<>(p.sides());
            for (int k = 0; k < rows; k++) {
                sides.add(new double[] {pre[k][0], pre[k][1], pre[k][2], signs[k]});
            }
            out.add(new Piece(p.polygon(), a, c, slopes, sides));
            return;
        }
        double[] g = snapped(p.polygon(), pre[j]);
        boolean below = false;
        boolean above = false;
        for (double v : g) {
            below |= v < 0;
            above |= v > 0;
        }
        for (int side : new int[] {1, -1}) {
            // a piece on one side (or, within rounding, on the line) goes whole to that side (the positive one), never to both
            List<double[]> part = !below ? (side == 1 ? p.polygon() : null)
                    : !above ? (side == -1 ? p.polygon() : null)
                    : clip(p.polygon(), g, side);
            if (part != null) {
                double[] s = signs.clone();
                s[j] = side;
                split(new Piece(part, p.a(), p.c(), p.slopes(), p.sides()), pre, j + 1, s, phi, out);
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

    /**
     * {@code f0 x + f1 y + f2} at every vertex, zero where it is within rounding of zero: lines through a
     * shared vertex (all of them, in a net without biases) would otherwise cut slivers of rounding's
     * width off every piece there.
     */
    private static double[] snapped(List<double[]> poly, double[] f) {
        double[] g = new double[poly.size()];
        for (int i = 0; i < g.length; i++) {
            double[] p = poly.get(i);
            double value = f[0] * p[0] + f[1] * p[1] + f[2];
            double scale = Math.abs(f[0] * p[0]) + Math.abs(f[1] * p[1]) + Math.abs(f[2]);
            g[i] = Math.abs(value) <= 1e-12 * scale ? 0 : value;
        }
        return g;
    }

    /** The part of a convex polygon where {@code side * g >= 0}, g its (snapped) values at the vertices; null if it has no area. */
    private static List<double[]> clip(List<double[]> poly, double[] g, int side) {
        int n = poly.size();
        List<double[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double[] p = poly.get(i);
            double[] q = poly.get((i + 1) % n);
            double fp = side * g[i];
            double fq = side * g[(i + 1) % n];
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

    /**
     * The largest coordinate of any region's vertex, or of the point nearest the origin on any of its
     * facets, computed from the region's full set of constraints (so beyond the box too).
     */
    static double reach(Result r) {
        double far = 0;
        for (Region g : r.regions()) {
            List<double[]> sides = g.sides();
            for (int j = 0; j < sides.size(); j++) {
                double[] f = sides.get(j);
                double a2 = f[0] * f[0] + f[1] * f[1];
                if (a2 == 0) {
                    continue; // a neuron constant over the region: no line
                }
                // the line f = 0 as p + t d, p its point nearest the origin
                double[] p = {-f[2] * f[0] / a2, -f[2] * f[1] / a2};
                double[] d = {-f[1] / Math.sqrt(a2), f[0] / Math.sqrt(a2)};
                double lo = Double.NEGATIVE_INFINITY;
                double hi = Double.POSITIVE_INFINITY;
                boolean empty = false;
                for (int i = 0; i < sides.size() && !empty; i++) {
                    if (i == j) {
                        continue;
                    }
                    double[] h = sides.get(i);
                    double norm = Math.hypot(h[0], h[1]);
                    if (norm == 0) {
                        continue;
                    }
                    // side * h(p + t d) >= 0, as a signed distance c0 + c1 t; lenient by rounding's worth, so as to err to a larger box
                    double c0 = h[3] * (h[0] * p[0] + h[1] * p[1] + h[2]) / norm;
                    double c1 = h[3] * (h[0] * d[0] + h[1] * d[1]) / norm;
                    double tol = 1e-9 * (1 + Math.abs(h[2]) / norm + Math.hypot(p[0], p[1]));
                    if (Math.abs(c1) < 1e-10) {
                        // parallel, up to the rounding of products of several layers' weights: a crossing computed
                        // from such lines would be a rounding artefact far out
                        empty = c0 < -tol;
                    } else if (c1 > 0) {
                        lo = Math.max(lo, -(c0 + tol) / c1);
                    } else {
                        hi = Math.min(hi, (c0 + tol) / -c1);
                    }
                    empty |= lo > hi;
                }
                if (empty) {
                    continue; // not a facet of this region
                }
                for (double t : new double[] {lo, hi, Math.max(lo, Math.min(hi, 0))}) {
                    if (Double.isFinite(t)) {
                        far = Math.max(far, Math.max(Math.abs(p[0] + t * d[0]), Math.abs(p[1] + t * d[1])));
                    }
                }
            }
        }
        return far;
    }
}

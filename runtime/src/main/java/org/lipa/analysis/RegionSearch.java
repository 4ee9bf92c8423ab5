package org.lipa.analysis;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Search over the activation regions of a relu (or leaky relu) network: best-first from a starting
 * region, each region expanded by flipping the neurons whose flip promises the largest Jacobian norm,
 * every flip realized by moving the point just across that neuron's boundary and judged on the real
 * network. An expansion stops at the first neighbour better than its region (first improvement: on a
 * wide net most of a full expansion would go to regions about to be left behind); the region goes back
 * to wait, to be expanded further if the climb from there stalls.
 *
 * <p>Within a region J is constant, so gradients of {@code ||J||} vanish and only crossing a boundary
 * changes anything. Flipping neuron k of hidden layer l changes its slope by {@code Delta} and J by the
 * rank-one term {@code Delta b a^T}, with {@code b = W_H D ... W_{l+1} e_k} and
 * {@code a^T = e_k^T W_l D ... W_0}. For the current top pair (u, v),
 * {@code ||J' v||^2 = sigma^2 + 2 Delta sigma (u.b)(a.v) + Delta^2 (a.v)^2 ||b||^2} (likewise
 * {@code ||J'^T u||}): a lower estimate of the new norm for every neuron from one tangent and one
 * cotangent pass ({@code ||b||} comes with the dense Jacobian; without it, the first-order term alone
 * ranks).
 *
 * <p>The move: within the region every pre-activation is affine in x, with gradient
 * {@code e_j^T W_l D ... W_0}. The least-norm step that sets {@code z_k} to a small value of the
 * opposite sign is along that gradient; if it would also flip other neurons, those are held (their
 * change constrained to zero; all at once, the earliest crossed first when there is no room for all)
 * and the least-norm step meeting all the constraints is taken, with at most
 * {@code min(32, input dimension)} constraints. When the hidden layers have no more neurons than the
 * input has dimensions, a single flip is reachable this way. When the constraints run out on a
 * low-dimensional input (a 2-D one), the step goes instead just across the first boundary on the way,
 * into the adjacent region there; on a high-dimensional one it is taken as it is, k flipping and
 * perhaps a few neurons there was no room to hold.
 *
 * <p>Regions already visited (by activation pattern) are not evaluated again. Not thread-safe (it
 * drives a {@link SearchState}).
 */
final class RegionSearch {
    /** How far past its boundary a flipped neuron lands, relative to its pre-activation before. */
    private static final double LANDING = 0.05;
    /** Flips tried when a region is expanded. */
    private static final int BRANCHING = 8;
    /** Regions kept waiting for expansion, the best ones. */
    private static final int FRONTIER = 64;
    /** Constraints (the target plus neurons held) in one move, at most. */
    private static final int MAX_CONSTRAINTS = 32;

    private final SearchState state;
    private final Set<BitSet> seen = new HashSet<>();

    RegionSearch(SearchState state) {
        this.state = state;
    }

    /** A neuron to flip, with the lower estimate of the norm after the flip. */
    record Flip(int layer, int neuron, double predicted) {
    }

    /** A point to evaluate and the neuron expected to have flipped there. */
    record Move(double[] x, int layer, int neuron) {
    }

    /** A region waiting in the frontier, and how far down its candidate flips the expansions have got. */
    private static final class Node {
        final LocalJacobian region;
        int next;

        Node(LocalJacobian region) {
            this.region = region;
        }
    }

    /**
     * Best-first search from {@code start} (a real-network evaluation): repeatedly expands the best
     * region waiting, until {@code patience} expansions in a row find nothing better, the regions run
     * out or the budget does.
     */
    void explore(LocalJacobian start, int patience) {
        List<Node> frontier = new ArrayList<>();
        seen.add(pattern(start));
        frontier.add(new Node(start));
        double best = start.sigma;
        int stall = 0;
        while (!frontier.isEmpty() && stall < patience && !state.exhausted()) {
            Node at = frontier.remove(0);
            boolean improved = false;
            List<Node> children = new ArrayList<>();
            if (!expand(at, children)) {
                insert(frontier, at); // to be expanded further if the climb from its better neighbour stalls
            }
            for (Node child : children) {
                insert(frontier, child);
                if (child.region.sigma > best * (1 + 1e-12)) {
                    best = child.region.sigma;
                    improved = true;
                }
            }
            stall = improved ? 0 : stall + 1;
        }
    }

    /**
     * Evaluates unvisited neighbours of a region, reached by its most promising flips not yet tried,
     * offers them and adds them to {@code children}: up to {@link #BRANCHING} of them, or up to the first
     * better than the region.
     *
     * @return false when it stopped at a better neighbour, with flips left to try
     */
    boolean expand(Node node, List<Node> children) {
        LocalJacobian at = node.region;
        BitSet here = pattern(at);
        List<Flip> flips = candidates(at);
        int tried = 0;
        int moves = 0;
        while (node.next < flips.size()) {
            // on a low-dimensional input many flips lead across the same few facets: bound the moves computed
            if (tried >= BRANCHING || moves >= 4 * BRANCHING || state.exhausted()) {
                return true;
            }
            Flip f = flips.get(node.next++);
            if (seen.contains(flipped(here, at, f.layer(), f.neuron()))) {
                continue;
            }
            moves++;
            Move m = move(at, f.layer(), f.neuron());
            if (m == null || seen.contains(flipped(here, at, m.layer(), m.neuron()))) {
                continue;
            }
            tried++;
            LocalJacobian p = state.evaluate(state.net, m.x(), at.v);
            if (p.differentiable && seen.add(pattern(p))) {
                state.offer(p, LowerBoundSearch.Method.REGION_SEARCH);
                children.add(new Node(p));
                if (p.sigma > at.sigma) {
                    return false;
                }
            }
        }
        return true;
    }

    private static void insert(List<Node> frontier, Node n) {
        int i = 0;
        while (i < frontier.size() && frontier.get(i).region.sigma >= n.region.sigma) {
            i++;
        }
        if (i < FRONTIER) {
            frontier.add(i, n);
            if (frontier.size() > FRONTIER) {
                frontier.remove(FRONTIER);
            }
        }
    }

    /** Every hidden neuron, by the estimated norm after flipping it, largest first. */
    List<Flip> candidates(LocalJacobian at) {
        Nonlinearity phi = at.net.activation();
        double[][] a = at.tangent(at.v);
        double[][] p = at.cotangent(at.u);
        double s = at.sigma;
        List<Flip> out = new ArrayList<>();
        for (int l = 0; l < at.z.length; l++) {
            for (int k = 0; k < at.z[l].length; k++) {
                double delta = phi.derivative(-at.z[l][k]) - at.slopes[l][k];
                double first = 2 * delta * s * p[l][k] * a[l][k];
                double second = 0;
                if (at.downstream2 != null) {
                    second = Math.max(second, delta * delta * a[l][k] * a[l][k] * at.downstream2[l][k]);
                }
                if (at.upstream2 != null) {
                    second = Math.max(second, delta * delta * p[l][k] * p[l][k] * at.upstream2[l][k]);
                }
                out.add(new Flip(l, k, Math.sqrt(Math.max(0, s * s + first + second))));
            }
        }
        out.sort(Comparator.comparingDouble(Flip::predicted).reversed());
        return out;
    }

    /**
     * A point where neuron {@code (layer, k)} has crossed its boundary while the neurons the step would
     * cross first are held where they are; failing that, a point just across the first boundary the
     * step meets. Null when neither works out (dependent constraints, or nothing crossed).
     */
    Move move(LocalJacobian at, int layer, int k) {
        double zk = at.z[layer][k];
        double land = -Math.signum(zk) * Math.max(LANDING * Math.abs(zk), 1e-9 * rms(at.z[layer]));
        List<double[]> rows = new ArrayList<>();
        List<Double> targets = new ArrayList<>();
        boolean[][] held = new boolean[at.z.length][];
        for (int l = 0; l < held.length; l++) {
            held[l] = new boolean[at.z[l].length];
        }
        held[layer][k] = true;
        rows.add(at.preActivationGradient(layer, k));
        targets.add(land - zk);
        int n = at.x.length;
        int limit = Math.min(MAX_CONSTRAINTS, n);
        double[] first = null;
        double[] last = null;
        boolean clean = false;
        while (true) {
            double[] d = leastNorm(rows, targets);
            if (d == null) {
                break; // the held neurons' gradients are dependent
            }
            if (first == null) {
                first = d;
            }
            last = d;
            // room for at least one, so that an empty answer means none crossed
            List<int[]> crossed = crossed(at, at.tangent(d), held, Math.max(1, limit - rows.size()));
            if (crossed.isEmpty()) {
                clean = true;
                break;
            }
            if (rows.size() >= limit) {
                break;
            }
            // hold the neurons this step would cross, earliest first, all at once: fewer rounds than one at a time
            for (int[] c : crossed) {
                held[c[0]][c[1]] = true;
                rows.add(at.preActivationGradient(c[0], c[1]));
                targets.add(0.0);
            }
        }
        if (last == null) {
            return null;
        }
        if (clean || n > MAX_CONSTRAINTS) {
            // k flips (on a high-dimensional input perhaps with a few neurons there was no room to hold)
            return new Move(NetKernels.plus(at.x, 1, last), layer, k);
        }
        // a low-dimensional input with no room to hold more: the neighbour across the first boundary on the way instead
        return acrossFirstBoundary(at, first);
    }

    /**
     * The neurons not held whose pre-activations the step (changes dz) takes across zero: all of them, or
     * the {@code room} crossed earliest when there are more.
     */
    private static List<int[]> crossed(LocalJacobian at, double[][] dz, boolean[][] held, int room) {
        List<int[]> out = new ArrayList<>();
        for (int l = 0; l < at.z.length; l++) {
            for (int j = 0; j < at.z[l].length; j++) {
                double z = at.z[l][j];
                if (!held[l][j] && Math.signum(z + dz[l][j]) != Math.signum(z)) {
                    out.add(new int[] {l, j});
                }
            }
        }
        if (out.size() <= room) {
            return out;
        }
        double[] when = new double[out.size()];
        for (int i = 0; i < when.length; i++) {
            int[] c = out.get(i);
            when[i] = Math.abs(at.z[c[0]][c[1]] / dz[c[0]][c[1]]);
        }
        // the room earliest, by selection: room is small next to the crossings when it matters
        List<int[]> earliest = new ArrayList<>(room);
        for (int r = 0; r < room; r++) {
            int min = 0;
            for (int i = 1; i < when.length; i++) {
                if (when[i] < when[min]) {
                    min = i;
                }
            }
            earliest.add(out.get(min));
            when[min] = Double.POSITIVE_INFINITY;
        }
        return earliest;
    }

    /** Along the direction d from at.x, a point just past the first boundary crossed (and before the second). */
    private static Move acrossFirstBoundary(LocalJacobian at, double[] d) {
        double[][] dz = at.tangent(d);
        double t1 = Double.POSITIVE_INFINITY;
        double t2 = Double.POSITIVE_INFINITY;
        int[] which = null;
        for (int l = 0; l < at.z.length; l++) {
            for (int j = 0; j < at.z[l].length; j++) {
                double rate = dz[l][j];
                double z = at.z[l][j];
                if (rate == 0 || Math.signum(rate) == Math.signum(z)) {
                    continue; // moving away from (or along) this boundary
                }
                double t = -z / rate;
                if (t < t1) {
                    t2 = t1;
                    t1 = t;
                    which = new int[] {l, j};
                } else if (t < t2) {
                    t2 = t;
                }
            }
        }
        if (which == null) {
            return null;
        }
        double t = Math.min(t1 * (1 + LANDING), (t1 + t2) / 2);
        return new Move(NetKernels.plus(at.x, t, d), which[0], which[1]);
    }

    /** The activation pattern: one bit per hidden neuron, set where its pre-activation is positive. */
    static BitSet pattern(LocalJacobian p) {
        BitSet b = new BitSet();
        int i = 0;
        for (double[] z : p.z) {
            for (double v : z) {
                if (v > 0) {
                    b.set(i);
                }
                i++;
            }
        }
        return b;
    }

    /** The pattern {@code here} (of {@code at}) with one neuron flipped. */
    private static BitSet flipped(BitSet here, LocalJacobian at, int layer, int k) {
        int offset = 0;
        for (int l = 0; l < layer; l++) {
            offset += at.z[l].length;
        }
        BitSet b = (BitSet) here.clone();
        b.flip(offset + k);
        return b;
    }

    /** The least-norm d with {@code rows[i] . d = targets[i]}, {@code d = R^T (R R^T)^{-1} t}; null when R R^T is (nearly) singular. */
    static double[] leastNorm(List<double[]> rows, List<Double> targets) {
        int c = rows.size();
        double[][] m = new double[c][c + 1];
        double scale = 0;
        for (int i = 0; i < c; i++) {
            for (int j = 0; j <= i; j++) {
                double g = Vectors.dot(rows.get(i), rows.get(j));
                m[i][j] = g;
                m[j][i] = g;
            }
            m[i][c] = targets.get(i);
            scale = Math.max(scale, m[i][i]);
        }
        if (!(scale > 0)) {
            return null;
        }
        // Gaussian elimination with partial pivoting; a pivot far below the diagonal's scale means the
        // constraints' gradients are (nearly) dependent
        for (int col = 0; col < c; col++) {
            int pivot = col;
            for (int r = col + 1; r < c; r++) {
                if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(m[pivot][col]) <= 1e-10 * scale) {
                return null;
            }
            double[] t = m[col];
            m[col] = m[pivot];
            m[pivot] = t;
            for (int r = col + 1; r < c; r++) {
                double f = m[r][col] / m[col][col];
                for (int q = col; q <= c; q++) {
                    m[r][q] -= f * m[col][q];
                }
            }
        }
        double[] y = new double[c];
        for (int i = c - 1; i >= 0; i--) {
            double s = m[i][c];
            for (int j = i + 1; j < c; j++) {
                s -= m[i][j] * y[j];
            }
            y[i] = s / m[i][i];
        }
        double[] d = new double[rows.get(0).length];
        for (int i = 0; i < c; i++) {
            double[] r = rows.get(i);
            for (int j = 0; j < d.length; j++) {
                d[j] += y[i] * r[j];
            }
        }
        return d;
    }

    private static double rms(double[] a) {
        return Vectors.norm(a) / Math.sqrt(a.length);
    }
}

package org.lipa.analysis;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Upper bounds and estimates of the l2 Lipschitz constant of a feed-forward network, each labelled with
 * its guarantee:
 * <ul>
 * <li><b>AutoLip</b> (certified): the product of the layers' certified spectral norms
 * ({@link OperatorNorm#dense}) and the activation's Lipschitz constant, rounded up.</li>
 * <li><b>SeqLip</b> (estimate): {@link SeqLip}.</li>
 * <li><b>ECLipsE-Fast</b> (certified): the closed-form layer multipliers of Xu and Sivaranjani (2024),
 * certified through LipSDP's matrix inequality ({@link LipSdp#eclipseFast}).</li>
 * <li><b>LipSDP-Layer</b> and <b>LipSDP-Neuron</b> (certified): {@link LipSdp#solve}.</li>
 * </ul>
 * A certified value is at least the exact Lipschitz constant of the real-valued function the weights
 * define, floating-point error included; an estimate may fall on either side.
 *
 * <pre>{@code
 * List<NetworkBounds.Bound> all = NetworkBounds.compute(net, NetworkBounds.Options.all());
 * NetworkBounds.Bound best = NetworkBounds.bestCertified(all);       // LipSDP-Neuron, usually
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class NetworkBounds {
    private NetworkBounds() {
    }

    /** Whether a value is proven or estimated. */
    public enum Guarantee { CERTIFIED, ESTIMATE }

    /**
     * One method's value.
     *
     * @param method    its name (AutoLip, SeqLip, ECLipsE-Fast, LipSDP-Layer, LipSDP-Neuron)
     * @param value     the bound or estimate
     * @param guarantee certified (an upper bound, rounding included) or an estimate
     * @param seconds   its wall time
     * @param detail    how it was obtained, in a sentence
     */
    public record Bound(String method, double value, Guarantee guarantee, double seconds, String detail) {
    }

    /**
     * Which methods run.
     *
     * @param seqLip       SeqLip's estimate
     * @param lipSdpLayer  LipSDP-Layer's options, or null to skip it
     * @param lipSdpNeuron LipSDP-Neuron's options, or null to skip it
     * @param progress     a line per method
     */
    public record Options(boolean seqLip, LipSdp.Options lipSdpLayer, LipSdp.Options lipSdpNeuron, Consumer<String> progress) {
        public Options {
            Objects.requireNonNull(progress, "progress");
        }

        /** Every method with its default settings, silent. */
        public static Options all() {
            return new Options(true, LipSdp.Options.layer(), LipSdp.Options.neuron(), s -> { });
        }

        public Options withProgress(Consumer<String> p) {
            return new Options(seqLip, lipSdpLayer == null ? null : lipSdpLayer.withProgress(p),
                    lipSdpNeuron == null ? null : lipSdpNeuron.withProgress(p), p);
        }
    }

    /** The certified spectral norm of each layer. */
    public static List<OperatorNorm.Bound> layerNorms(FeedForward net) {
        int[] widths = net.widths();
        List<OperatorNorm.Bound> norms = new ArrayList<>();
        for (int l = 0; l < net.layers(); l++) {
            norms.add(OperatorNorm.dense(net.weightView(l), widths[l + 1], widths[l]));
        }
        return norms;
    }

    /** Runs the chosen methods on {@code net}, AutoLip always. */
    public static List<Bound> compute(FeedForward net, Options o) {
        return compute(net, layerNorms(net), o);
    }

    /** {@link #compute(FeedForward, Options)} with the layers' certified norms already computed. */
    static List<Bound> compute(FeedForward net, List<OperatorNorm.Bound> layers, Options o) {
        List<Bound> out = new ArrayList<>();
        long t0 = System.nanoTime();
        double product = 1;
        for (OperatorNorm.Bound b : layers) {
            product = Math.nextUp(product * b.upper());
        }
        double activation = net.activation().lipschitz();
        for (int l = 0; l + 1 < net.layers(); l++) {
            product = Math.nextUp(product * activation);
        }
        out.add(done(o, new Bound("AutoLip", product, Guarantee.CERTIFIED, seconds(t0),
                "product of the layers' certified spectral norms and the activation's constant " + activation)));
        if (net.layers() < 2) {
            return out; // a single linear layer: its norm is the constant, and AutoLip is exact
        }
        if (o.seqLip()) {
            long t = System.nanoTime();
            out.add(done(o, new Bound("SeqLip", SeqLip.estimate(net), Guarantee.ESTIMATE, seconds(t),
                    "greedy activation patterns between SVD-split layers (Virmaux and Scaman 2018); not a bound")));
        }
        LipSdpProblem problem = new LipSdpProblem(net); // one problem: the three share ECLipsE-Fast's multipliers
        LipSdp.Result e = LipSdp.eclipseFast(problem);
        out.add(done(o, new Bound("ECLipsE-Fast", e.bound(), Guarantee.CERTIFIED, e.seconds(),
                "closed-form layer multipliers (" + e.startMethod() + "), certified by a Cholesky proof of LipSDP's inequality")));
        if (o.lipSdpLayer() != null) {
            out.add(done(o, lipSdp("LipSDP-Layer", problem, o.lipSdpLayer())));
        }
        if (o.lipSdpNeuron() != null) {
            out.add(done(o, lipSdp("LipSDP-Neuron", problem, o.lipSdpNeuron())));
        }
        return List.copyOf(out);
    }

    private static Bound lipSdp(String name, LipSdpProblem problem, LipSdp.Options options) {
        LipSdp.Result r = LipSdp.solve(problem, options);
        return new Bound(name, r.bound(), Guarantee.CERTIFIED, r.seconds(), String.format(java.util.Locale.ROOT,
                "BFGS from %s (%.6g) over %d iterations to %.10g, certified by a Cholesky proof of LipSDP's inequality",
                r.startMethod(), r.start(), r.iterations(), r.estimate()));
    }

    /** The smallest certified value. */
    public static Bound bestCertified(List<Bound> bounds) {
        return bounds.stream().filter(b -> b.guarantee() == Guarantee.CERTIFIED)
                .min(java.util.Comparator.comparingDouble(Bound::value))
                .orElseThrow(() -> new IllegalArgumentException("bounds: none is certified"));
    }

    private static Bound done(Options o, Bound b) {
        o.progress().accept(String.format(java.util.Locale.ROOT, "%s: %.8g (%s, %.2f s)", b.method(), b.value(),
                b.guarantee().name().toLowerCase(java.util.Locale.ROOT), b.seconds()));
        return b;
    }

    private static double seconds(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }
}

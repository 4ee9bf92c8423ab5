package org.lipa.app.experiments;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.lipa.analysis.Lipschitz;
import org.lipa.autodiff.Differentiable;
import org.lipa.models.nn.Attention;
import org.lipa.app.report.Charts;
import org.lipa.tensor.DType;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * How the local Lipschitz constant of self-attention depends on the scale of its input (Kim et al., 2021):
 * for each attention kind and each radius r, the largest Jacobian norm ||J(x)|| found on the sphere
 * ||x|| = r (random starts, half of them with one token at the origin as in Kim et al.'s proof, then
 * projected gradient ascent on ||J(x)||). Dot-product attention's grows
 * without bound (the scores grow like r^2), L2 attention's stays under its global constant. Cosine
 * attention's scores are bounded, yet its constant is not: a token at the origin has the query bias as
 * its query, the cosine's derivative there does not shrink with r while the values it mixes grow like r,
 * so with biased projections it grows linearly (measured, not claimed).
 *
 * <pre>{@code
 * Experiment.Result r = new AttentionScale().run(context);
 * }</pre>
 *
 * <p>Thread safety: stateless; each run builds its own models and writes its files in the context's output folder (two runs into one folder overwrite each other's files).
 */
public final class AttentionScale implements Experiment {
    private static final int DIM = 8;
    private static final int HEADS = 2;
    private static final int TOKENS = 4;

    @Override
    public String name() {
        return "attention-lipschitz-scale";
    }

    @Override
    public String claim() {
        return "The local Lipschitz constant of dot-product attention grows with the input's scale (more than 5x from radius "
                + "0.5 to 64), while L2-distance attention's stays bounded (within 2x) (Kim et al., 2021).";
    }

    @Override
    public Result run(Context c) {
        boolean small = c.size() == Size.SMALL;
        double[] radii = small ? new double[]{0.5, 8, 64} : new double[]{0.5, 1, 2, 4, 8, 16, 32, 64};
        int starts = small ? 2 : 6;
        int steps = small ? 2 : 20;
        Lipschitz.SearchOptions power = new Lipschitz.SearchOptions(small ? 1e-3 : 1e-5, 200, 0, 0, c.seed());
        Map<String, Object> figures = new LinkedHashMap<>();
        figures.put("radii", radii);
        List<Charts.Series> series = new ArrayList<>();
        Map<Attention.Kind, double[]> found = new LinkedHashMap<>();
        try (Arena model = Arena.ofConfined()) {
            for (Attention.Kind kind : Attention.Kind.values()) {
                Attention att = new Attention(model, new Random(c.seed()), kind, DIM, HEADS);
                att.train(false);
                TensorSpec spec = new TensorSpec(org.lipa.tensor.Shape.of(1, TOKENS, DIM), DType.F32);
                Differentiable f = Differentiable.trace(c.backend(), List.of(spec), (ops, in) -> List.of(att.forward(ops, in.get(0))));
                Lipschitz.Ascent ascent = new Lipschitz.Ascent(f);
                double[] best = new double[radii.length];
                for (int i = 0; i < radii.length; i++) {
                    Random rnd = new Random(c.seed() * 31 + i);
                    for (int s = 0; s < starts; s++) {
                        // every other start is Kim et al.'s construction: one token at the origin, whose uniform
                        // attention over the spread-out others makes the Jacobian grow like their covariance
                        best[i] = Math.max(best[i], search(f, ascent, sphere(rnd, radii[i], s % 2 == 0), radii[i], steps, power));
                    }
                    c.progress().accept(String.format(Locale.ROOT, "%s attention, radius %.2f: local Lipschitz %.4g", kind, radii[i], best[i]));
                }
                found.put(kind, best);
                figures.put(kind.name().toLowerCase(Locale.ROOT), best);
                series.add(new Charts.Series(kind.name().toLowerCase(Locale.ROOT), radii, best, true));
            }
        }
        Path plot = c.outputDir().resolve("attention-scale.png");
        Charts.line(plot, "Local Lipschitz constant of self-attention vs input radius", "radius ||x||", "max ||J(x)|| on the sphere",
                Charts.Scale.LOG, series);
        double dotGrowth = growth(found.get(Attention.Kind.DOT));
        double l2Growth = growth(found.get(Attention.Kind.L2));
        figures.put("dot_growth", dotGrowth);
        figures.put("l2_growth", l2Growth);
        figures.put("cosine_growth", growth(found.get(Attention.Kind.COSINE)));
        boolean holds = decide(dotGrowth, l2Growth);
        String evidence = String.format(Locale.ROOT, "From radius %.2g to %.2g the largest local constant found grows %.1fx for dot-product "
                        + "attention and %.2fx for L2 attention (cosine: %.2fx).", radii[0], radii[radii.length - 1], dotGrowth, l2Growth,
                growth(found.get(Attention.Kind.COSINE)));
        return new Result(name(), claim(), holds, evidence, figures, List.of(plot));
    }

    /** The claim's decision from its two figures. */
    static boolean decide(double dotGrowth, double l2Growth) {
        return dotGrowth > 5 && l2Growth < 2;
    }

    /** Last over first. */
    private static double growth(double[] v) {
        return v[v.length - 1] / v[0];
    }

    private static double[] sphere(Random rnd, double radius, boolean firstTokenAtOrigin) {
        double[] x = new double[TOKENS * DIM];
        for (int i = firstTokenAtOrigin ? DIM : 0; i < x.length; i++) {
            x[i] = rnd.nextGaussian();
        }
        return onSphere(x, radius);
    }

    private static double[] onSphere(double[] x, double radius) {
        double n = 0;
        for (double v : x) {
            n += v * v;
        }
        double s = radius / Math.sqrt(n);
        double[] r = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = x[i] * s;
        }
        return r;
    }

    /** Projected gradient ascent on ||J(x)|| over the sphere of the given radius; the largest norm seen. */
    private static double search(Differentiable f, Lipschitz.Ascent ascent, double[] x, double radius, int steps, Lipschitz.SearchOptions o) {
        double best = 0;
        double step = 0.2 * radius;
        for (int k = 0; k <= steps; k++) {
            try (Arena a = Arena.ofConfined()) {
                Tensor xt = Tensor.of(a, DType.F32, x, 1, TOKENS, DIM);
                Lipschitz.Local at = Lipschitz.local(a, f, xt, o);
                best = Math.max(best, at.sigma());
                if (k == steps) {
                    break;
                }
                double[] g = ascent.gradient(a, xt, at).toDoubleArray();
                double gn = 0;
                for (double v : g) {
                    gn += v * v;
                }
                gn = Math.sqrt(gn);
                if (gn == 0) {
                    break;
                }
                double[] next = x.clone();
                for (int i = 0; i < next.length; i++) {
                    next[i] += step * g[i] / gn;
                }
                x = onSphere(next, radius);
            }
        }
        return best;
    }
}

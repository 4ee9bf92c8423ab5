package org.lipa.app.report;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lipa.models.analysis.LipschitzReport;

/**
 * The Lipschitz report's figure: per module, the upper bound beside the largest local norm found.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class LipschitzPlots {
    private LipschitzPlots() {
    }

    /**
     * Bars per module (log scale): upper bounds (modules without one are left out of that group, drawn at the
     * axis floor) and local norms; returns the file written.
     */
    public static Path bars(Path png, String title, List<LipschitzReport.Result> reports, List<String> labels) {
        List<String> names = reports.get(0).parts().stream().map(LipschitzReport.Part::name).toList();
        List<double[]> values = new ArrayList<>();
        List<String> groups = new ArrayList<>();
        for (int r = 0; r < reports.size(); r++) {
            List<LipschitzReport.Part> parts = reports.get(r).parts();
            groups.add("upper bound" + labels.get(r));
            groups.add("local (lower)" + labels.get(r));
            values.add(parts.stream().mapToDouble(p -> Double.isFinite(p.upper()) ? p.upper() : 0).toArray());
            values.add(parts.stream().mapToDouble(LipschitzReport.Part::local).toArray());
        }
        Charts.bars(png, title, "Lipschitz constant (l2)", Charts.Scale.LOG, names, groups, values);
        return png;
    }

    /**
     * A feed-forward network's bracket: the certified lower bound, then each upper-bound method, certified
     * ones and estimates in separate colours; returns the file written.
     */
    public static Path bracket(Path png, String title, org.lipa.analysis.Lipschitz.Bracket r) {
        List<String> names = new ArrayList<>();
        names.add("lower bound (search)");
        r.upperBounds().forEach(b -> names.add(b.method()));
        double[] certified = new double[names.size()];
        double[] estimate = new double[names.size()];
        double[] lower = new double[names.size()];
        lower[0] = r.lowerBound();
        for (int i = 0; i < r.upperBounds().size(); i++) {
            var b = r.upperBounds().get(i);
            (b.guarantee() == org.lipa.analysis.NetworkBounds.Guarantee.CERTIFIED ? certified : estimate)[i + 1] = b.value();
        }
        double max = java.util.Arrays.stream(certified).max().orElse(1);
        double floor = Math.max(0, r.lowerBound() - 0.1 * (max - r.lowerBound()) - 1e-9 * max);
        Charts.labelledBars(png, title, "Lipschitz constant (l2)", names,
                List.of("certified lower bound", "certified upper bound", "estimate"), List.of(lower, certified, estimate), floor);
        return png;
    }
}

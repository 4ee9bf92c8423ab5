package org.lipa.models.analysis;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.lipa.models.report.Charts;

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
    public static Path bars(Path png, String title, List<LipschitzReport.Report> reports, List<String> labels) {
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
}

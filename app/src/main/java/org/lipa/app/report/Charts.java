package org.lipa.app.report;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The plots of the analyses, drawn by XChart and written as PNG files: lines (curves against depth, epoch
 * or a direction), bars (one value per layer) and heat maps (2-D loss surfaces). One look for all of them.
 *
 * <pre>{@code
 * Charts.line(dir.resolve("loss.png"), "Training loss", "epoch", "loss", Charts.Scale.LOG,
 *         List.of(new Charts.Series("train", epochs, losses)));
 * }</pre>
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Charts {
    private static final int WIDTH = 760;
    private static final int HEIGHT = 460;

    private Charts() {
    }

    /** The y axis: linear or logarithmic (for norms that span orders of magnitude). */
    public enum Scale {
        LINEAR, LOG
    }

    /** A named curve; {@code markers} draws a dot at each point (for few, measured points). */
    public record Series(String name, double[] x, double[] y, boolean markers) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("series " + name + ": " + x.length + " x values but " + y.length + " y values");
            }
        }

        public Series(String name, double[] x, double[] y) {
            this(name, x, y, false);
        }
    }

    /** Curves on shared axes. */
    public static void line(Path png, String title, String xLabel, String yLabel, Scale scale, List<Series> series) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel).build();
        c.getStyler().setYAxisLogarithmic(scale == Scale.LOG);
        c.getStyler().setXAxisDecimalPattern(pattern(series.stream().flatMapToDouble(s -> java.util.Arrays.stream(s.x())).toArray()));
        style(c.getStyler(), series.size() > 1);
        for (Series s : series) {
            double[] y = s.y();
            if (scale == Scale.LOG) {
                y = positive(y);
            }
            XYSeries xy = c.addSeries(s.name(), s.x(), y);
            xy.setMarker(s.markers() ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        }
        save(c, png);
    }

    /** One bar per category for each named group (for example upper and lower bound per layer). */
    public static void bars(Path png, String title, String yLabel, Scale scale, List<String> categories, List<String> groups,
                            List<double[]> values) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).yAxisTitle(yLabel).build();
        c.getStyler().setYAxisLogarithmic(scale == Scale.LOG);
        if (scale == Scale.LOG) {
            // bars grow from the axis' minimum, which XChart puts at 0 unless told: start a decade below the data
            double min = Double.MAX_VALUE;
            for (double[] v : values) {
                for (double d : positive(v)) {
                    min = Math.min(min, d);
                }
            }
            c.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(min)) - 1));
        }
        c.getStyler().setXAxisLabelRotation(categories.size() > 6 ? 45 : 0);
        style(c.getStyler(), groups.size() > 1);
        for (int g = 0; g < groups.size(); g++) {
            double[] v = scale == Scale.LOG ? positive(values.get(g)) : values.get(g);
            List<Double> ys = new ArrayList<>();
            for (double d : v) {
                ys.add(d);
            }
            c.addSeries(groups.get(g), categories, ys);
        }
        save(c, png);
    }

    /**
     * One bar per category, coloured by its group (each category has a value in one group only, zeros elsewhere),
     * the axis starting at {@code yMin} so that close values stay apart, the legend below the plot.
     */
    public static void labelledBars(Path png, String title, String yLabel, List<String> categories, List<String> groups,
                                    List<double[]> values, double yMin) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).yAxisTitle(yLabel).build();
        style(c.getStyler(), true);
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setOverlapped(true);
        c.getStyler().setYAxisMin(yMin);
        c.getStyler().setXAxisLabelRotation(categories.size() > 6 ? 45 : 0);
        for (int g = 0; g < groups.size(); g++) {
            List<Double> ys = new ArrayList<>();
            for (double d : values.get(g)) {
                ys.add(d == 0 ? yMin : d);
            }
            c.addSeries(groups.get(g), categories, ys);
        }
        save(c, png);
    }

    /** z[i][j] at (xs[j], ys[i]) as colors. */
    public static void heatmap(Path png, String title, String xLabel, String yLabel, double[] xs, double[] ys, double[][] z) {
        HeatMapChart c = new HeatMapChartBuilder().width(WIDTH).height(HEIGHT + 60).title(title).xAxisTitle(xLabel).yAxisTitle(yLabel)
                .build();
        c.getStyler().setShowValue(false);
        c.getStyler().setXAxisDecimalPattern("0.00");
        c.getStyler().setYAxisDecimalPattern("0.00");
        style(c.getStyler(), false);
        List<Double> xl = new ArrayList<>();
        for (double v : xs) {
            xl.add(v);
        }
        List<Double> yl = new ArrayList<>();
        for (double v : ys) {
            yl.add(v);
        }
        List<Number[]> cells = new ArrayList<>();
        for (int i = 0; i < ys.length; i++) {
            if (z[i].length != xs.length) {
                throw new IllegalArgumentException("z: row " + i + " has " + z[i].length + " values for " + xs.length + " x positions");
            }
            for (int j = 0; j < xs.length; j++) {
                cells.add(new Number[]{j, i, z[i][j]});
            }
        }
        c.addSeries(title, xl, yl, cells);
        save(c, png);
    }

    /** Tick labels that show the data's scale: scientific for very small or large values, else up to 3 decimals. */
    private static String pattern(double[] values) {
        double max = 0;
        for (double v : values) {
            if (Double.isFinite(v)) {
                max = Math.max(max, Math.abs(v));
            }
        }
        return max != 0 && (max < 1e-2 || max >= 1e5) ? "0.##E0" : "#,##0.###";
    }

    private static void style(Styler s, boolean legend) {
        // a heat map's color legend may only sit outside the plot (XChart throws otherwise)
        s.setLegendPosition(s instanceof org.knowm.xchart.style.HeatMapStyler ? Styler.LegendPosition.OutsideE
                : Styler.LegendPosition.InsideNE);
        s.setLegendVisible(legend);
        s.setChartBackgroundColor(java.awt.Color.WHITE);
    }

    /** Log axes cannot show zeros or negatives: they are clamped to the smallest positive value. */
    private static double[] positive(double[] y) {
        double min = Double.MAX_VALUE;
        for (double v : y) {
            if (v > 0 && v < min) {
                min = v;
            }
        }
        double floor = min == Double.MAX_VALUE ? 1e-30 : min;
        double[] r = y.clone();
        for (int i = 0; i < r.length; i++) {
            if (!(r[i] > 0)) {
                r[i] = floor;
            }
        }
        return r;
    }

    private static void save(Chart<?, ?> chart, Path png) {
        System.setProperty("java.awt.headless", "true");
        try {
            if (png.getParent() != null) {
                Files.createDirectories(png.getParent());
            }
            try (OutputStream out = Files.newOutputStream(png)) {
                BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write plot " + png, e);
        }
    }
}

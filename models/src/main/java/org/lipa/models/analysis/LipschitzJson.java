package org.lipa.models.analysis;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.lipa.analysis.FeedForward;
import org.lipa.analysis.Lipschitz;
import org.lipa.analysis.LowerBoundSearch;
import org.lipa.analysis.NetworkBounds;
import org.lipa.analysis.OperatorNorm;

/**
 * The Lipschitz results as JSON-ready maps with a stable schema, shared by {@code lipa lipschitz} and the
 * report. Top level: {@code lowerBound} (certified) and {@code upperBound} (the best certified) as
 * numbers, {@code upperMethod}, {@code gap}; then {@code lower} (value, where and how it was found),
 * {@code upperBounds} (each method with its value, {@code guarantee} "certified" or "estimate", seconds
 * and how), and {@code layers} (each layer's norm and certified upper bound).
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class LipschitzJson {
    private LipschitzJson() {
    }

    /** A feed-forward network's bracket. */
    public static Map<String, Object> of(FeedForward net, Lipschitz.Bracket r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("lowerBound", r.lowerBound());
        m.put("upperBound", r.upperBound());
        m.put("upperMethod", r.upper().method());
        m.put("gap", r.gap());
        m.put("widths", net.widths());
        m.put("activation", net.activation().toString());
        m.put("slopes", new double[] {net.activation().slopeLower(), net.activation().slopeUpper()});
        m.put("lower", lower(r.lower()));
        m.put("upperBounds", upper(r.upperBounds()));
        List<Map<String, Object>> layers = new ArrayList<>();
        int[] widths = net.widths();
        for (int l = 0; l < r.layers().size(); l++) {
            OperatorNorm.Bound b = r.layers().get(l);
            Map<String, Object> layer = new LinkedHashMap<>();
            layer.put("layer", l);
            layer.put("shape", new int[] {widths[l + 1], widths[l]});
            layer.put("norm", b.estimate());
            layer.put("certifiedUpper", b.upper());
            layer.put("method", b.method());
            layers.add(layer);
        }
        m.put("layers", layers);
        return m;
    }

    /** A module report: the parts, the composed bound, and the feed-forward bracket when there is one. */
    public static Map<String, Object> of(Map<String, Object> header, LipschitzReport.Result r, FeedForward net) {
        Map<String, Object> m = new LinkedHashMap<>(header);
        m.put("lowerBound", r.lowerBound());
        m.put("lowerGuarantee", r.lowerCertified() ? "certified" : "estimate (float32 local Jacobian norm)");
        m.put("upperBound", r.upperBound());
        m.put("gap", r.gap());
        m.put("productBound", r.productBound());
        m.put("productGuarantee", r.productCertified() ? "certified" : "estimate");
        m.put("datasetBest", r.datasetBest());
        m.put("searchBest", r.search().best());
        List<Map<String, Object>> parts = new ArrayList<>();
        for (LipschitzReport.Part p : r.parts()) {
            Map<String, Object> part = new LinkedHashMap<>();
            part.put("name", p.name());
            part.put("type", p.type());
            part.put("upper", p.upper());
            part.put("guarantee", Double.isInfinite(p.upper()) ? "none" : p.certified() ? "certified" : "estimate");
            part.put("why", p.why());
            part.put("local", p.local());
            parts.add(part);
        }
        m.put("modules", parts);
        if (r.feedForward() != null && net != null) {
            Map<String, Object> ff = of(net, r.feedForward());
            m.put("upperMethod", ff.get("upperMethod"));
            m.put("feedForward", ff);
        }
        return m;
    }

    private static Map<String, Object> lower(LowerBoundSearch.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("value", r.value());
        m.put("guarantee", "certified");
        m.put("estimate", r.estimate());
        m.put("foundBy", r.method().label());
        double norm = 0;
        if (r.x() != null) {
            for (double v : r.x()) {
                norm += v * v;
            }
        }
        m.put("inputNorm", Math.sqrt(norm));
        m.put("evaluations", r.evaluations());
        m.put("seconds", r.seconds());
        List<Map<String, Object>> phases = new ArrayList<>();
        for (LowerBoundSearch.Phase p : r.trace()) {
            phases.add(Map.of("phase", p.name(), "best", p.best(), "evaluations", p.evaluations(), "seconds", p.seconds()));
        }
        m.put("phases", phases);
        return m;
    }

    private static List<Map<String, Object>> upper(List<NetworkBounds.Bound> bounds) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (NetworkBounds.Bound b : bounds) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", b.method());
            m.put("value", b.value());
            m.put("guarantee", b.guarantee().name().toLowerCase(Locale.ROOT));
            m.put("seconds", b.seconds());
            m.put("detail", b.detail());
            out.add(m);
        }
        return out;
    }
}

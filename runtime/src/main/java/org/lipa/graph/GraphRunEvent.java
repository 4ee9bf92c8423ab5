package org.lipa.graph;

import jdk.jfr.Category;
import jdk.jfr.DataAmount;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.Threshold;

/** A JFR event per planned graph run that takes at least 1 ms: what the runtime is doing, for operators. */
@Name("org.lipa.GraphRun")
@Label("Graph run")
@Category({"Lipa", "Graph"})
@Description("One evaluation of a planned graph (forward, JVP, VJP or HVP)")
@Threshold("1 ms")
final class GraphRunEvent extends jdk.jfr.Event {
    @Label("Ops")
    int applies;

    @Label("Plan buffer")
    @DataAmount
    long planBytes;

    @Label("Backend")
    String backend;
}

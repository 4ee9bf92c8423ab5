package org.lipa.analysis;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A JFR event per iterative analysis run (power iteration, Lanczos): long operations an operator wants to see. */
@Name("org.lipa.Analysis")
@Label("Analysis")
@Category({"Lipa", "Analysis"})
@Description("An iterative spectral computation on a linear operator")
final class AnalysisEvent extends jdk.jfr.Event {
    @Label("Method")
    String method;

    @Label("Iterations")
    int iterations;

    @Label("Converged")
    boolean converged;
}

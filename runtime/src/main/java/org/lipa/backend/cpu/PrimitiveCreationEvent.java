package org.lipa.backend.cpu;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;

/** A JFR event per oneDNN primitive created (creation costs milliseconds: JIT compilation of the kernel). */
@Name("org.lipa.PrimitiveCreation")
@Label("oneDNN primitive creation")
@Category({"Lipa", "oneDNN"})
@Description("A primitive created for an op and argument layouts not seen before (or evicted since)")
final class PrimitiveCreationEvent extends jdk.jfr.Event {
    @Label("Op")
    String op;

    @Label("Variant")
    String variant;
}

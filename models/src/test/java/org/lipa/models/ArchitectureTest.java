package org.lipa.models;

import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/**
 * The models' layers above the runtime, bottom to top: {@code init}; {@code nn}; {@code arch}; the rest of
 * the library ({@code data}, {@code io}, {@code optim}, {@code train}, {@code analysis}, {@code report});
 * the application (the command line and the experiments). No package cycle, the runtime names nothing
 * above it, and only the runtime's backends see the bindings. The runtime's own layers are checked in the
 * runtime module. Main classes only: tests may reach across layers.
 */
@AnalyzeClasses(packages = "org.lipa", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    /** No two packages of the models depend on each other, directly or through others. */
    @ArchTest
    static final ArchRule noCycleBetweenPackages = slices().matching("org.lipa.models.(*)..").should().beFreeOfCycles();

    /** The application's packages are optional: they leave this module for one of their own. */
    @ArchTest
    static final ArchRule layers = layeredArchitecture()
            .consideringOnlyDependenciesInAnyPackage("org.lipa..")
            .withOptionalLayers(true)
            .layer("Bindings").definedBy("org.lipa.bindings..")
            .layer("Runtime").definedBy("org.lipa.memory..", "org.lipa.tensor..", "org.lipa.ops..", "org.lipa.backend..",
                    "org.lipa.eval..", "org.lipa.graph..", "org.lipa.autodiff..", "org.lipa.analysis..")
            .layer("Init").definedBy("org.lipa.models.init..")
            .layer("Nn").definedBy("org.lipa.models.nn..")
            .layer("Arch").definedBy("org.lipa.models.arch..")
            .layer("Library").definedBy("org.lipa.models.data..", "org.lipa.models.io..", "org.lipa.models.optim..",
                    "org.lipa.models.train..", "org.lipa.models.analysis..", "org.lipa.models.report..")
            .layer("App").definedBy("org.lipa.models.cli..", "org.lipa.models.experiments..", "org.lipa.app..")
            .whereLayer("Bindings").mayOnlyBeAccessedByLayers("Runtime")
            .whereLayer("Runtime").mayOnlyBeAccessedByLayers("Init", "Nn", "Arch", "Library", "App")
            .whereLayer("Init").mayOnlyBeAccessedByLayers("Nn", "Arch", "Library", "App")
            .whereLayer("Nn").mayOnlyBeAccessedByLayers("Arch", "Library", "App")
            .whereLayer("Arch").mayOnlyBeAccessedByLayers("Library", "App")
            .whereLayer("Library").mayOnlyBeAccessedByLayers("App")
            .whereLayer("App").mayNotBeAccessedByAnyLayer()
            .ensureAllClassesAreContainedInArchitecture();
}

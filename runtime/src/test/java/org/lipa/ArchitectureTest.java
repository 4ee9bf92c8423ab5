package org.lipa;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SliceAssignment;
import com.tngtech.archunit.library.dependencies.SliceIdentifier;

/**
 * The runtime's layers, bottom to top: bindings; memory; tensor; ops; the backend interface
 * ({@code org.lipa.backend}); evaluation ({@code eval}: {@code Eager}, {@code FiniteCheck}); the backends
 * ({@code backend.ref}, {@code backend.cpu}, {@code backend.gpu}, which run a composite op's definition
 * eagerly on themselves); graph; autodiff; analysis. A layer uses only layers below it, no package cycle
 * exists, only the backends see the bindings, and the graph, autodiff and analysis layers name no
 * particular backend. Main classes only: tests may reach across layers.
 */
@AnalyzeClasses(packages = "org.lipa", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {
    private static final String[] RUNTIME = {"org.lipa.memory..", "org.lipa.tensor..", "org.lipa.ops..",
        "org.lipa.backend..", "org.lipa.eval..", "org.lipa.graph..", "org.lipa.autodiff..", "org.lipa.analysis.."};

    /** No two packages depend on each other, directly or through others. */
    @ArchTest
    static final ArchRule noCycleBetweenPackages = slices().matching("org.lipa.(**)").should().beFreeOfCycles();

    /**
     * No cycle between the top-level package trees ({@code org.lipa.(*)..}), except that each backend
     * implementation counts apart from the backend interface it sits above.
     */
    @ArchTest
    static final ArchRule noCycleBetweenPackageTrees = slices().assignedFrom(new SliceAssignment() {
        @Override
        public SliceIdentifier getIdentifierOf(JavaClass c) {
            String[] p = c.getPackageName().split("\\.");
            if (p.length < 3 || !p[0].equals("org") || !p[1].equals("lipa")) {
                return SliceIdentifier.ignore();
            }
            return p[2].equals("backend") && p.length > 3 ? SliceIdentifier.of("backend." + p[3]) : SliceIdentifier.of(p[2]);
        }

        @Override
        public String getDescription() {
            return "top-level packages of org.lipa, each backend implementation apart";
        }
    }).should().beFreeOfCycles();

    @ArchTest
    static final ArchRule layers = layeredArchitecture()
            .consideringOnlyDependenciesInAnyPackage("org.lipa..")
            .layer("Bindings").definedBy("org.lipa.bindings..")
            .layer("Memory").definedBy("org.lipa.memory..")
            .layer("Tensor").definedBy("org.lipa.tensor..")
            .layer("Ops").definedBy("org.lipa.ops..")
            .layer("Backend interface").definedBy("org.lipa.backend")
            .layer("Eval").definedBy("org.lipa.eval..")
            .layer("Backends").definedBy("org.lipa.backend.ref..", "org.lipa.backend.cpu..", "org.lipa.backend.gpu..")
            .layer("Graph").definedBy("org.lipa.graph..")
            .layer("Autodiff").definedBy("org.lipa.autodiff..")
            .layer("Analysis").definedBy("org.lipa.analysis..")
            .whereLayer("Bindings").mayOnlyBeAccessedByLayers("Backends")
            .whereLayer("Memory").mayOnlyBeAccessedByLayers("Tensor", "Ops", "Backend interface", "Eval", "Backends",
                    "Graph", "Autodiff", "Analysis")
            .whereLayer("Tensor").mayOnlyBeAccessedByLayers("Ops", "Backend interface", "Eval", "Backends", "Graph",
                    "Autodiff", "Analysis")
            .whereLayer("Ops").mayOnlyBeAccessedByLayers("Backend interface", "Eval", "Backends", "Graph", "Autodiff",
                    "Analysis")
            .whereLayer("Backend interface").mayOnlyBeAccessedByLayers("Eval", "Backends", "Graph", "Autodiff", "Analysis")
            .whereLayer("Eval").mayOnlyBeAccessedByLayers("Backends", "Graph", "Autodiff", "Analysis")
            .whereLayer("Backends").mayNotBeAccessedByAnyLayer()
            .whereLayer("Graph").mayOnlyBeAccessedByLayers("Autodiff", "Analysis")
            .whereLayer("Autodiff").mayOnlyBeAccessedByLayers("Analysis")
            .whereLayer("Analysis").mayNotBeAccessedByAnyLayer()
            .ensureAllClassesAreContainedInArchitecture();

    /** The runtime is a library below the models and the application. */
    @ArchTest
    static final ArchRule runtimeKnowsNoModels = noClasses().that().resideInAnyPackage(RUNTIME)
            .should().dependOnClassesThat().resideInAnyPackage("org.lipa.models..", "org.lipa.app..");
}

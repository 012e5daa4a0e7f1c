package io.hpcbridge.bridge;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module layering of DESIGN.md, checked on the compiled classes of every module on this test
 * classpath (the backend API, state, the local backend and the bridge, as directories in a reactor
 * build or as jars otherwise): backends depend only on the backend API, state only on the backend
 * API's vocabulary (pod references, handles, observations), and only the bridge talks to
 * Kubernetes.
 */
class LayeringTest {

  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.hpcbridge");
  }

  @Test
  void theCheckSeesEveryLayer() {
    // Without this, a classpath change could make every rule below pass on nothing.
    assertThat(classes.contain("io.hpcbridge.backend.PodPlan")).isTrue();
    assertThat(classes.contain("io.hpcbridge.backend.Backend")).isTrue();
    assertThat(classes.contain("io.hpcbridge.state.StateStore")).isTrue();
    assertThat(classes.contain("io.hpcbridge.bridge.plan.PlanBuilder")).isTrue();
  }

  @Test
  void backendsDependOnlyOnTheBackendApi() {
    noClasses()
        .that()
        .resideInAPackage("io.hpcbridge.backend..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(
            "io.hpcbridge.bridge..", "io.hpcbridge.state..", "io.fabric8..", "java.sql..")
        .because("backends get everything from the pod plan and keep no state of the bridge")
        .check(classes);
  }

  @Test
  void stateDependsOnlyOnTheBackendApiVocabulary() {
    noClasses()
        .that()
        .resideInAPackage("io.hpcbridge.state..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.hpcbridge.backend.*..", "io.hpcbridge.bridge..", "io.fabric8..")
        .because("the store keeps typed pod records, never Kubernetes objects or backend code")
        .check(classes);
  }

  @Test
  void backendsDoNotDependOnEachOther() {
    // One slice per backend package (local, slurm, docker, ...); the API package
    // io.hpcbridge.backend itself is no slice, so every backend may use it.
    slices()
        .matching("io.hpcbridge.backend.(*)..")
        .should()
        .notDependOnEachOther()
        .allowEmptyShould(true) // only the backends on this classpath can be checked
        .check(classes);
  }
}

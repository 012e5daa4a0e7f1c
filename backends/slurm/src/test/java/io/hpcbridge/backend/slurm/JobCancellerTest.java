package io.hpcbridge.backend.slurm;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What scancel printed for a batch of ids, read back per job. */
class JobCancellerTest {
  @Test
  void unknownOrEndedJobsAreNoFailureOtherErrorsFailTheirJobOnly() {
    List<List<String>> chunks = List.of(List.of("123", "124", "125", "126"));
    String out =
        """
        @@chunk 0
        scancel: error: Kill job error on job id 123: Invalid job id specified
        scancel: error: Kill job error on job id 124: Job/step already completing or completed
        scancel: error: Kill job error on job id 125: Access/permission denied
        @@rc 1
        """;
    var failed = JobCanceller.failures(out, chunks, "");
    assertThat(failed).containsOnlyKeys("125");
    assertThat(failed.get("125")).hasMessageContaining("Access/permission denied");
  }

  @Test
  void aChunkThatFailedWithoutNamingAJobFailsAllOfItsJobs() {
    List<List<String>> chunks = List.of(List.of("1", "2"), List.of("3"), List.of("4"));
    String out =
        """
        @@chunk 0
        scancel: error: Unable to contact slurm controller (connect failure)
        @@rc 1
        @@chunk 1
        @@rc 0
        @@chunk 2
        @@rc 1
        """;
    var failed = JobCanceller.failures(out, chunks, "");
    assertThat(failed).containsOnlyKeys("1", "2", "4");
    assertThat(failed.get("1")).hasMessageContaining("Unable to contact slurm controller");
  }

  @Test
  void aChunkThatDidNotReportFailsAndALineNamingAnotherJobCountsForTheChunk() {
    List<List<String>> chunks = List.of(List.of("7"), List.of("8"));
    String out =
        """
        @@chunk 0
        scancel: error: Kill job error on job id 99: Access/permission denied
        @@rc 1
        @@chunk 1
        """;
    var failed = JobCanceller.failures(out, chunks, "timed out");
    assertThat(failed).containsOnlyKeys("7", "8");
    assertThat(failed.get("8")).hasMessageContaining("did not report: timed out");
  }

  @Test
  void idsAreCutIntoChunksOfBoundedLength() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 1201; i++) {
      ids.add(String.valueOf(1_000_000_000_000_000L + i));
    }
    var chunks = JobCanceller.chunks(ids);
    assertThat(chunks).extracting(List::size).containsExactly(500, 500, 201);
    assertThat(chunks.stream().flatMap(List::stream).toList()).isEqualTo(ids);
  }
}

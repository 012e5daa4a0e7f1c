package io.hpcbridge.backend.docker;

import io.hpcbridge.backend.ContainerPlan;
import io.hpcbridge.backend.PodPlan;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/** Chooses the Docker host for a new pod from what each host has and what its pods requested. */
public final class Placement {

  private Placement() {}

  /**
   * {@code SPREAD} puts a pod on the least used host; {@code BINPACK} on the most used that fits.
   */
  public enum Policy {
    SPREAD,
    BINPACK;

    /** The config's spelling, {@code spread} or {@code binpack}, in any case. */
    @com.fasterxml.jackson.annotation.JsonCreator
    public static Policy of(String text) {
      for (Policy p : values()) {
        if (p.name().equalsIgnoreCase(text.trim())) {
          return p;
        }
      }
      throw new IllegalArgumentException("must be spread or binpack, not " + text);
    }
  }

  /**
   * What a pod asks for: like the scheduler, the larger of the biggest init container and the sum
   * of the containers.
   */
  public record Request(long cpuMillis, long memoryBytes) {
    public static Request of(PodPlan plan) {
      long cpu = 0;
      long mem = 0;
      for (ContainerPlan c : plan.containers()) {
        cpu += c.resources().cpuMillis();
        mem += c.resources().memoryBytes();
      }
      for (ContainerPlan c : plan.initContainers()) {
        cpu = Math.max(cpu, c.resources().cpuMillis());
        mem = Math.max(mem, c.resources().memoryBytes());
      }
      return new Request(cpu, mem);
    }
  }

  /**
   * One reachable host as placement sees it.
   *
   * @param name host name
   * @param cpuMillis total CPU
   * @param memoryBytes total memory
   * @param maxPods how many pods it accepts
   * @param usedCpuMillis CPU requested by its active pods
   * @param usedMemoryBytes memory requested by its active pods
   * @param pods its active pods
   */
  public record HostLoad(
      String name,
      long cpuMillis,
      long memoryBytes,
      int maxPods,
      long usedCpuMillis,
      long usedMemoryBytes,
      int pods) {

    boolean fits(Request r) {
      return pods < maxPods
          && usedCpuMillis + r.cpuMillis() <= cpuMillis
          && usedMemoryBytes + r.memoryBytes() <= memoryBytes;
    }

    /** Total size alone, ignoring what runs: could the pod ever fit? */
    boolean couldEverFit(Request r) {
      return maxPods > 0 && r.cpuMillis() <= cpuMillis && r.memoryBytes() <= memoryBytes;
    }

    /** The larger of CPU and memory use after adding {@code r}, 0..1. */
    double utilisationWith(Request r) {
      return Math.max(
          frac(usedCpuMillis + r.cpuMillis(), cpuMillis),
          frac(usedMemoryBytes + r.memoryBytes(), memoryBytes));
    }

    private static double frac(long used, long total) {
      return total <= 0 ? 0 : (double) used / total;
    }
  }

  /**
   * The chosen host, or empty when none fits now. Ties go to fewer pods (spread) or more pods
   * (binpack), then to config order.
   */
  public static Optional<String> choose(Policy policy, List<HostLoad> hosts, Request request) {
    Comparator<Integer> byIndex = Comparator.naturalOrder();
    List<Integer> fitting =
        java.util.stream.IntStream.range(0, hosts.size())
            .filter(i -> hosts.get(i).fits(request))
            .boxed()
            .toList();
    if (fitting.isEmpty()) {
      return Optional.empty();
    }
    Comparator<Integer> util =
        Comparator.comparingDouble(i -> hosts.get(i).utilisationWith(request));
    Comparator<Integer> pods = Comparator.comparingInt(i -> hosts.get(i).pods());
    Comparator<Integer> order =
        policy == Policy.SPREAD
            ? util.thenComparing(pods).thenComparing(byIndex)
            : util.reversed().thenComparing(pods.reversed()).thenComparing(byIndex);
    return fitting.stream().min(order).map(i -> hosts.get(i).name());
  }

  /** True when at least one host could take the pod if it were empty. */
  public static boolean couldEverFit(List<HostLoad> hosts, Request request) {
    return hosts.stream().anyMatch(h -> h.couldEverFit(request));
  }
}

package io.hpcbridge.bridge.run;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.PodTemplateSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.batch.v1.JobSpec;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.backend.Backend;
import io.hpcbridge.backend.BackendException;
import io.hpcbridge.backend.Handle;
import io.hpcbridge.backend.LogOptions;
import io.hpcbridge.backend.Observed;
import io.hpcbridge.bridge.plan.PlanBuilder;
import io.hpcbridge.bridge.plan.PlanException;
import io.hpcbridge.bridge.pod.Launcher;
import io.hpcbridge.state.StateStore;
import java.io.InputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code bridge run}: runs a Pod or a Job from a manifest on the configured backend without a
 * cluster, through the same plan, state and backend code as {@code serve}. Prints status
 * transitions to stderr and the containers' logs to stdout.
 */
public final class Runner {

  private final Backend backend;
  private final StateStore state;
  private final PlanBuilder plans;
  private final String nodeName;
  private final PrintStream out;
  private final PrintStream err;
  private final Duration poll;
  private final Launcher launcher;
  private final List<Running> active = new ArrayList<>();

  public Runner(
      Backend backend,
      StateStore state,
      PlanBuilder plans,
      String nodeName,
      PrintStream out,
      PrintStream err,
      Duration poll) {
    this.backend = backend;
    this.state = state;
    this.plans = plans;
    this.nodeName = nodeName;
    this.out = out;
    this.err = err;
    this.poll = poll;
    this.launcher = new Launcher(state, backend);
  }

  private static final class Running {
    final Pod pod;
    final Handle handle;
    final Integer index;
    String phase = "";

    Running(Pod pod, Handle handle, Integer index) {
      this.pod = pod;
      this.handle = handle;
      this.index = index;
    }

    String name() {
      return pod.getMetadata().getName();
    }
  }

  /** Runs the workload and returns the process exit code. */
  public int run(HasMetadata workload) throws Exception {
    Thread hook = new Thread(this::cancelAll, "run-cancel");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      if (workload instanceof Pod pod) {
        return runPod(pod);
      }
      return runJob((Job) workload);
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException ignored) {
        // already shutting down
      }
    }
  }

  private int runPod(Pod template) throws Exception {
    Pod pod =
        prepare(
            template.getMetadata(),
            template.getSpec() == null
                ? null
                : new PodTemplateSpec(template.getMetadata(), template.getSpec()),
            template.getMetadata().getName(),
            null);
    Running r = start(pod, null);
    if (r == null) {
      return 1;
    }
    Observed last = await(List.of(r)).get(r);
    return exitCode(last);
  }

  private int runJob(Job job) throws Exception {
    JobSpec spec = job.getSpec();
    if (spec == null || spec.getTemplate() == null) {
      err.println("error: job " + job.getMetadata().getName() + " has no pod template");
      return 2;
    }
    boolean indexed = "Indexed".equals(spec.getCompletionMode());
    int completions = spec.getCompletions() == null ? 1 : spec.getCompletions();
    int parallelism = spec.getParallelism() == null ? 1 : spec.getParallelism();
    int backoffLimit = spec.getBackoffLimit() == null ? 6 : spec.getBackoffLimit();
    String restart = spec.getTemplate().getSpec().getRestartPolicy();
    if (restart == null || restart.equals("Always")) {
      err.println("error: a Job's pod template needs restartPolicy Never or OnFailure");
      return 2;
    }
    Deque<Integer> todo = new ArrayDeque<>();
    for (int i = 0; i < completions; i++) {
      todo.add(i);
    }
    int succeeded = 0;
    int failed = 0;
    int lastExit = 1;
    List<Running> running = new ArrayList<>();
    while (succeeded < completions) {
      while (running.size() < parallelism && !todo.isEmpty()) {
        Integer index = todo.poll();
        String name = job.getMetadata().getName() + "-" + (indexed ? index + "-" : "") + suffix();
        Pod pod = prepare(job.getMetadata(), spec.getTemplate(), name, indexed ? index : null);
        pod.getMetadata().getLabels().put("job-name", job.getMetadata().getName());
        Running r = start(pod, indexed ? index : null);
        if (r == null) {
          return 1; // invalid pod: every retry would fail the same way
        }
        running.add(r);
      }
      Map<Running, Observed> done = await(running);
      for (var e : done.entrySet()) {
        running.remove(e.getKey());
        if (e.getValue().phase() == Observed.Phase.SUCCEEDED) {
          succeeded++;
        } else {
          failed++;
          lastExit = Math.max(1, exitCode(e.getValue()));
          if (failed > backoffLimit) {
            err.printf(
                "job %s failed: BackoffLimitExceeded (%d failed pods)%n",
                job.getMetadata().getName(), failed);
            cancelAll();
            return lastExit;
          }
          todo.addFirst(e.getKey().index == null ? 0 : e.getKey().index);
        }
      }
    }
    err.printf(
        "job %s complete: %d/%d succeeded, %d failed%n",
        job.getMetadata().getName(), succeeded, completions, failed);
    return 0;
  }

  private static String suffix() {
    return UUID.randomUUID().toString().substring(0, 5);
  }

  private Pod prepare(ObjectMeta owner, PodTemplateSpec template, String name, Integer index) {
    Pod pod =
        new PodBuilder()
            .withMetadata(
                template.getMetadata() == null
                    ? new ObjectMeta()
                    : Serialization.clone(template.getMetadata()))
            .withSpec(Serialization.clone(template.getSpec()))
            .build();
    ObjectMeta md = pod.getMetadata();
    md.setName(name);
    md.setNamespace(owner.getNamespace() == null ? "default" : owner.getNamespace());
    md.setUid(UUID.randomUUID().toString());
    md.setCreationTimestamp(Instant.now().toString());
    md.setLabels(new LinkedHashMap<>(md.getLabels() == null ? Map.of() : md.getLabels()));
    md.setAnnotations(
        new LinkedHashMap<>(md.getAnnotations() == null ? Map.of() : md.getAnnotations()));
    md.setResourceVersion(null);
    pod.getSpec().setNodeName(nodeName);
    if (index != null) {
      md.getAnnotations().put("batch.kubernetes.io/job-completion-index", String.valueOf(index));
      List<Container> all = new ArrayList<>(pod.getSpec().getContainers());
      if (pod.getSpec().getInitContainers() != null) {
        all.addAll(pod.getSpec().getInitContainers());
      }
      for (Container c : all) {
        List<EnvVar> env = new ArrayList<>(c.getEnv() == null ? List.of() : c.getEnv());
        env.add(0, new EnvVar("JOB_COMPLETION_INDEX", String.valueOf(index), null));
        c.setEnv(env);
      }
    }
    return pod;
  }

  private Running start(Pod pod, Integer index) throws Exception {
    PlanBuilder.Result result;
    try {
      result = plans.build(pod);
    } catch (PlanException e) {
      err.printf(
          "pod/%s Failed: %s: %s%n", pod.getMetadata().getName(), e.reason(), e.getMessage());
      return null;
    }
    result.warnings().forEach(w -> err.println("warning: " + w));
    Handle h;
    try {
      h = launcher.launch(pod, result.plan());
    } catch (BackendException.InvalidPod e) {
      state.recordFailed(pod.getMetadata().getUid(), e.reason(), e.getMessage());
      err.printf(
          "pod/%s Failed: %s: %s%n", pod.getMetadata().getName(), e.reason(), e.getMessage());
      return null;
    }
    err.printf(
        "pod/%s submitted to %s as %s%n", pod.getMetadata().getName(), backend.name(), h.id());
    Running r = new Running(pod, h, index);
    synchronized (active) {
      active.add(r);
    }
    return r;
  }

  /** Polls until at least one of {@code pods} is terminal; returns the terminal ones. */
  private Map<Running, Observed> await(List<Running> pods) throws Exception {
    while (true) {
      Map<Handle, Running> byHandle = new HashMap<>();
      pods.forEach(p -> byHandle.put(p.handle, p));
      Map<Handle, Observed> seen = backend.observe(byHandle.keySet());
      Map<Running, Observed> done = new LinkedHashMap<>();
      for (Running p : pods) {
        Observed o = seen.get(p.handle);
        if (o == null) {
          continue;
        }
        String phase = o.phase().toKubernetes();
        if (!phase.equals(p.phase)) {
          err.printf("pod/%s %s%s%n", p.name(), phase, detail(o));
          p.phase = phase;
          state.recordObserved(p.pod.getMetadata().getUid(), o);
        }
        if (o.phase().terminal()) {
          done.put(p, o);
        }
      }
      if (!done.isEmpty()) {
        for (var e : done.entrySet()) {
          printLogs(e.getKey(), e.getValue());
          synchronized (active) {
            active.remove(e.getKey());
          }
        }
        return done;
      }
      Thread.sleep(poll.toMillis());
    }
  }

  private static String detail(Observed o) {
    StringBuilder sb = new StringBuilder();
    if (o.reason() != null) {
      sb.append(" (")
          .append(o.reason())
          .append(o.message() == null ? "" : ": " + o.message())
          .append(')');
    }
    for (Observed.ContainerStatus c : o.containers()) {
      if (c.state() == Observed.State.TERMINATED) {
        sb.append(" ").append(c.name()).append("=").append(c.exitCode());
      }
    }
    return sb.toString();
  }

  private void printLogs(Running r, Observed o) throws Exception {
    List<String> names = new ArrayList<>();
    r.pod.getSpec().getContainers().forEach(c -> names.add(c.getName()));
    for (String c : names) {
      if (names.size() > 1) {
        err.printf("==> pod/%s container %s <==%n", r.name(), c);
      }
      try (InputStream in = backend.logs(r.handle, c, LogOptions.ALL)) {
        in.transferTo(out);
      } catch (BackendException e) {
        err.printf("(no log for %s: %s)%n", c, e.getMessage());
      }
      out.flush();
    }
  }

  /**
   * The pod's exit code: 0 when it succeeded, else the highest container exit code (at least 1).
   */
  static int exitCode(Observed o) {
    if (o.phase() == Observed.Phase.SUCCEEDED) {
      return 0;
    }
    int code = 1;
    for (Observed.ContainerStatus c : o.containers()) {
      if (c.exitCode() != null && c.exitCode() > code) {
        code = c.exitCode();
      }
    }
    for (Observed.ContainerStatus c : o.initContainers()) {
      if (c.exitCode() != null && c.exitCode() > code) {
        code = c.exitCode();
      }
    }
    return Math.min(code, 255);
  }

  /** Ctrl-C: stop what still runs, with each pod's grace period. */
  private void cancelAll() {
    List<Running> copy;
    synchronized (active) {
      copy = new ArrayList<>(active);
    }
    for (Running r : copy) {
      try {
        long grace =
            r.pod.getSpec().getTerminationGracePeriodSeconds() == null
                ? 30
                : r.pod.getSpec().getTerminationGracePeriodSeconds();
        backend.cancel(r.handle, Duration.ofSeconds(grace));
        err.printf("pod/%s cancelled%n", r.name());
      } catch (BackendException | RuntimeException e) {
        err.printf("pod/%s could not be cancelled: %s%n", r.name(), e.getMessage());
      }
    }
  }
}

package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeProjection;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.hpcbridge.backend.PodRef;
import io.hpcbridge.bridge.plan.ObjectSource;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ConfigMaps and Secrets the node's pods reference, from informers — like the kubelet's watch
 * strategy: one informer per referenced object (a watch on that name only), started when the first
 * pod referencing it is planned and stopped when the last one is forgotten. No per-pod GETs, and
 * the bridge never lists every Secret of the cluster. When a watched object changes (a missing one
 * appears), the pods referencing it are handed to {@code onChange}.
 */
final class ObjectCache implements ObjectSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ObjectCache.class);

  /** ConfigMaps and Secrets one pod may reference: each is a watch on the API server. */
  static final int MAX_REFERENCES = 64;

  /** A referenced object: kind ({@code configmap} or {@code secret}), namespace, name. */
  record Ref(String kind, String namespace, String name) {}

  private final KubernetesClient client;
  private final Consumer<String> onChange;
  private final Map<Ref, SharedIndexInformer<? extends HasMetadata>> informers = new HashMap<>();
  private final Map<Ref, Set<String>> users = new HashMap<>();
  private final Map<String, Set<Ref>> byPod = new HashMap<>();

  /**
   * @param onChange gets the UID of each pod referencing an object that was added or changed
   */
  ObjectCache(KubernetesClient client, Consumer<String> onChange) {
    this.client = client;
    this.onChange = onChange;
  }

  /** Watches what {@code pod} references (blocking for each new informer's first list). */
  void track(Pod pod) {
    String uid = pod.getMetadata().getUid();
    Set<Ref> refs = references(pod);
    List<Ref> fresh = new ArrayList<>();
    synchronized (this) {
      Set<Ref> old = byPod.put(uid, refs);
      if (old != null) {
        old.stream().filter(r -> !refs.contains(r)).forEach(r -> release(r, uid));
      }
      for (Ref r : refs) {
        users.computeIfAbsent(r, k -> new HashSet<>()).add(uid);
        if (!informers.containsKey(r)) {
          fresh.add(r);
          informers.put(r, null); // reserved; started below, outside the lock
        }
      }
    }
    for (Ref r : fresh) {
      SharedIndexInformer<? extends HasMetadata> inf = start(r);
      synchronized (this) {
        if (informers.containsKey(r) && informers.get(r) == null && users.containsKey(r)) {
          informers.put(r, inf);
          continue;
        }
      }
      inf.close(); // released (or started twice) while it started
    }
  }

  /** Stops watching what only {@code uid} referenced. */
  synchronized void untrack(String uid) {
    Set<Ref> refs = byPod.remove(uid);
    if (refs != null) {
      refs.forEach(r -> release(r, uid));
    }
  }

  private void release(Ref r, String uid) {
    Set<String> u = users.get(r);
    if (u != null && u.remove(uid) && u.isEmpty()) {
      users.remove(r);
      SharedIndexInformer<? extends HasMetadata> inf = informers.remove(r);
      if (inf != null) {
        inf.close();
      }
    }
  }

  private SharedIndexInformer<? extends HasMetadata> start(Ref r) {
    ResourceEventHandler<HasMetadata> h =
        new ResourceEventHandler<>() {
          @Override
          public void onAdd(HasMetadata obj) {
            changed(r);
          }

          @Override
          public void onUpdate(HasMetadata old, HasMetadata obj) {
            changed(r);
          }

          @Override
          public void onDelete(HasMetadata obj, boolean unknownFinalState) {}
        };
    log.debug("watching {} {}/{}", r.kind(), r.namespace(), r.name());
    @SuppressWarnings({"unchecked", "rawtypes"})
    SharedIndexInformer<? extends HasMetadata> inf =
        r.kind().equals("secret")
            ? client
                .secrets()
                .inNamespace(r.namespace())
                .withName(r.name())
                .inform((ResourceEventHandler) h, 0)
            : client
                .configMaps()
                .inNamespace(r.namespace())
                .withName(r.name())
                .inform((ResourceEventHandler) h, 0);
    return inf;
  }

  private void changed(Ref r) {
    Set<String> pods;
    synchronized (this) {
      pods = new HashSet<>(users.getOrDefault(r, Set.of()));
    }
    pods.forEach(onChange);
  }

  private Optional<HasMetadata> get(Ref r) {
    SharedIndexInformer<? extends HasMetadata> inf;
    synchronized (this) {
      inf = informers.get(r);
    }
    if (inf == null) {
      // Not tracked (a pod planned without track(), e.g. by a test): read it directly.
      return Optional.ofNullable(
          r.kind().equals("secret")
              ? client.secrets().inNamespace(r.namespace()).withName(r.name()).get()
              : client.configMaps().inNamespace(r.namespace()).withName(r.name()).get());
    }
    return Optional.ofNullable(inf.getStore().getByKey(r.namespace() + "/" + r.name()));
  }

  @Override
  public Optional<ConfigMap> configMap(String namespace, String name) {
    return get(new Ref("configmap", namespace, name)).map(ConfigMap.class::cast);
  }

  @Override
  public Optional<Secret> secret(String namespace, String name) {
    return get(new Ref("secret", namespace, name)).map(Secret.class::cast);
  }

  /** The API server's shortest token lifetime: it refuses to issue shorter ones. */
  static final long MIN_TOKEN_SECONDS = 600;

  @Override
  public Optional<Token> serviceAccountToken(
      PodRef pod, String serviceAccount, String audience, long expirationSeconds) {
    var request =
        new TokenRequestBuilder()
            .withNewSpec()
            .withAudiences(audience == null || audience.isEmpty() ? List.of() : List.of(audience))
            .withExpirationSeconds(Math.max(MIN_TOKEN_SECONDS, expirationSeconds))
            .withNewBoundObjectRef()
            .withApiVersion("v1")
            .withKind("Pod")
            .withName(pod.name())
            .withUid(pod.uid())
            .endBoundObjectRef()
            .endSpec()
            .build();
    var answer =
        client
            .serviceAccounts()
            .inNamespace(pod.namespace())
            .withName(serviceAccount)
            .tokenRequest(request);
    var status = answer.getStatus();
    if (status == null || status.getToken() == null) {
      return Optional.empty();
    }
    // The API server caps the lifetime at its maximum: the status says what was granted.
    Instant expires =
        status.getExpirationTimestamp() == null
            ? Instant.now().plusSeconds(expirationSeconds)
            : Instant.parse(status.getExpirationTimestamp());
    return Optional.of(new Token(status.getToken(), expires));
  }

  /** Every ConfigMap and Secret a pod's volumes and containers' env refer to. */
  static Set<Ref> references(Pod pod) {
    String ns = pod.getMetadata().getNamespace();
    Set<Ref> out = new HashSet<>();
    var spec = pod.getSpec();
    for (Volume v : list(spec.getVolumes())) {
      if (v.getConfigMap() != null) {
        out.add(new Ref("configmap", ns, v.getConfigMap().getName()));
      }
      if (v.getSecret() != null) {
        out.add(new Ref("secret", ns, v.getSecret().getSecretName()));
      }
      if (v.getProjected() != null) {
        for (VolumeProjection p : list(v.getProjected().getSources())) {
          if (p.getConfigMap() != null) {
            out.add(new Ref("configmap", ns, p.getConfigMap().getName()));
          }
          if (p.getSecret() != null) {
            out.add(new Ref("secret", ns, p.getSecret().getName()));
          }
        }
      }
    }
    List<Container> all = new ArrayList<>(list(spec.getInitContainers()));
    all.addAll(list(spec.getContainers()));
    for (Container c : all) {
      for (EnvFromSource f : list(c.getEnvFrom())) {
        if (f.getConfigMapRef() != null) {
          out.add(new Ref("configmap", ns, f.getConfigMapRef().getName()));
        }
        if (f.getSecretRef() != null) {
          out.add(new Ref("secret", ns, f.getSecretRef().getName()));
        }
      }
      for (EnvVar e : list(c.getEnv())) {
        if (e.getValueFrom() != null && e.getValueFrom().getConfigMapKeyRef() != null) {
          out.add(new Ref("configmap", ns, e.getValueFrom().getConfigMapKeyRef().getName()));
        }
        if (e.getValueFrom() != null && e.getValueFrom().getSecretKeyRef() != null) {
          out.add(new Ref("secret", ns, e.getValueFrom().getSecretKeyRef().getName()));
        }
      }
    }
    out.removeIf(r -> r.name() == null || r.name().isEmpty());
    return out;
  }

  private static <T> List<T> list(List<T> l) {
    return l == null ? List.of() : l;
  }

  @Override
  public synchronized void close() {
    informers
        .values()
        .forEach(
            i -> {
              if (i != null) {
                i.close();
              }
            });
    informers.clear();
    users.clear();
    byPod.clear();
  }
}

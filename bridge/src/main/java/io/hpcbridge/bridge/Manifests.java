package io.hpcbridge.bridge;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.hpcbridge.bridge.plan.ObjectSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** The objects of a manifest file: one Pod or Job, and the ConfigMaps/Secrets it uses. */
public record Manifests(List<HasMetadata> objects) implements ObjectSource {

  public static Manifests read(Path file) throws IOException {
    List<HasMetadata> out = new ArrayList<>();
    YAMLMapper yaml = new YAMLMapper(new YAMLFactory());
    try (JsonParser p = yaml.getFactory().createParser(Files.newBufferedReader(file))) {
      MappingIterator<Object> it = yaml.readValues(p, Object.class);
      int n = 0;
      while (it.hasNext()) {
        n++;
        Object doc = it.next();
        if (doc == null) {
          continue;
        }
        if (!(doc instanceof Map<?, ?> m) || m.get("kind") == null) {
          throw new IOException(file + ": document " + n + " is not a Kubernetes object (no kind)");
        }
        Object o = Serialization.unmarshal(Serialization.asJson(doc));
        if (!(o instanceof HasMetadata h)) {
          throw new IOException(file + ": document " + n + " (" + m.get("kind") + ") is not supported");
        }
        out.add(h);
      }
    }
    return new Manifests(out);
  }

  /** The one Pod or Job to run. */
  public HasMetadata workload() throws IOException {
    List<HasMetadata> w = objects.stream().filter(o -> o instanceof Pod || o instanceof Job).toList();
    if (w.size() != 1) {
      throw new IOException("the file must hold exactly one Pod or Job, found " + w.size());
    }
    return w.get(0);
  }

  @Override
  public Optional<ConfigMap> configMap(String namespace, String name) {
    return find(ConfigMap.class, namespace, name);
  }

  @Override
  public Optional<Secret> secret(String namespace, String name) {
    return find(Secret.class, namespace, name);
  }

  private <T extends HasMetadata> Optional<T> find(Class<T> type, String namespace, String name) {
    return objects.stream()
        .filter(type::isInstance)
        .map(type::cast)
        .filter(o -> Objects.equals(o.getMetadata().getName(), name))
        .filter(o -> o.getMetadata().getNamespace() == null || o.getMetadata().getNamespace().equals(namespace))
        .findFirst();
  }
}

package io.hpcbridge.bridge;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
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
      // hasNextValue/nextValue, not hasNext/next: those wrap parse errors in RuntimeExceptions.
      while (it.hasNextValue()) {
        n++;
        Object doc = it.nextValue();
        if (doc == null) {
          continue;
        }
        if (!(doc instanceof Map<?, ?> m) || m.get("kind") == null) {
          throw new IOException(file + ": document " + n + " is not a Kubernetes object (no kind)");
        }
        Object o;
        try {
          o = Serialization.unmarshal(Serialization.asJson(doc));
        } catch (RuntimeException e) {
          throw new IOException(
              file
                  + ": document "
                  + n
                  + " ("
                  + m.get("kind")
                  + ") is not a valid "
                  + m.get("kind")
                  + ": "
                  + mappingProblem(e),
              e);
        }
        if (!(o instanceof HasMetadata h)) {
          throw new IOException(
              file + ": document " + n + " (" + m.get("kind") + ") is not supported");
        }
        out.add(h);
      }
    } catch (JsonProcessingException e) {
      throw new IOException(file + ": not valid YAML: " + oneLine(e), e);
    }
    return new Manifests(out);
  }

  /**
   * What the object mapper disliked and where, e.g. "Cannot deserialize ... at spec.containers".
   */
  private static String mappingProblem(RuntimeException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof JsonMappingException j) {
        String what =
            j.getOriginalMessage() == null
                ? ""
                : j.getOriginalMessage().strip().lines().findFirst().orElse("");
        StringBuilder path = new StringBuilder();
        for (JsonMappingException.Reference r : j.getPath()) {
          if (r.getFieldName() != null) {
            path.append(path.length() == 0 ? "" : ".").append(r.getFieldName());
          } else if (r.getIndex() >= 0) {
            path.append('[').append(r.getIndex()).append(']');
          }
        }
        return path.length() == 0 ? what : what + " at " + path;
      }
    }
    return String.valueOf(e.getMessage());
  }

  /** A YAML parser's message without its multi-line excerpt, with line and column. */
  private static String oneLine(JsonProcessingException e) {
    String original =
        e.getOriginalMessage() == null ? e.getClass().getSimpleName() : e.getOriginalMessage();
    String msg =
        String.join(
            "; ",
            original
                .lines()
                .filter(l -> !l.isBlank() && !Character.isWhitespace(l.charAt(0)))
                .toList());
    JsonLocation at = e.getLocation();
    return at == null
        ? msg
        : msg + " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")";
  }

  /** The one Pod or Job to run. */
  public HasMetadata workload() throws IOException {
    List<HasMetadata> w =
        objects.stream().filter(o -> o instanceof Pod || o instanceof Job).toList();
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
        .filter(
            o ->
                o.getMetadata().getNamespace() == null
                    || o.getMetadata().getNamespace().equals(namespace))
        .findFirst();
  }
}

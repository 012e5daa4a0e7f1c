package io.hpcbridge.backend;

import java.util.Objects;

/** Identifies a pod: the UID is the key, namespace/name are for people and labels. */
public record PodRef(String namespace, String name, String uid) {
  public PodRef {
    Objects.requireNonNull(namespace, "namespace");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(uid, "uid");
  }

  @Override
  public String toString() {
    return namespace + "/" + name;
  }
}

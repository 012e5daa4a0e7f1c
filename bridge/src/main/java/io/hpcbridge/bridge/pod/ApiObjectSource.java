package io.hpcbridge.bridge.pod;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.hpcbridge.bridge.plan.ObjectSource;
import java.util.List;
import java.util.Optional;

/** ConfigMaps and Secrets read from the API server when a pod is planned. */
public final class ApiObjectSource implements ObjectSource {
  private final KubernetesClient client;

  public ApiObjectSource(KubernetesClient client) {
    this.client = client;
  }

  @Override
  public Optional<ConfigMap> configMap(String namespace, String name) {
    return Optional.ofNullable(client.configMaps().inNamespace(namespace).withName(name).get());
  }

  @Override
  public Optional<String> serviceAccountToken(
      String namespace, String serviceAccount, String audience, long expirationSeconds) {
    var request =
        new TokenRequestBuilder()
            .withNewSpec()
            .withAudiences(audience == null || audience.isEmpty() ? List.of() : List.of(audience))
            .withExpirationSeconds(expirationSeconds)
            .endSpec()
            .build();
    var answer =
        client
            .serviceAccounts()
            .inNamespace(namespace)
            .withName(serviceAccount)
            .tokenRequest(request);
    return Optional.ofNullable(answer.getStatus()).map(s -> s.getToken());
  }

  @Override
  public Optional<Secret> secret(String namespace, String name) {
    return Optional.ofNullable(client.secrets().inNamespace(namespace).withName(name).get());
  }
}

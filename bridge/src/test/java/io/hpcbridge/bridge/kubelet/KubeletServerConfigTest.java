package io.hpcbridge.bridge.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Pod;
import io.hpcbridge.backend.LogOptions;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class KubeletServerConfigTest {

  private static final PodLogSource NONE =
      new PodLogSource() {
        @Override
        public InputStream open(String ns, String pod, String container, LogOptions options) {
          throw new java.util.NoSuchElementException();
        }

        @Override
        public List<Pod> pods() {
          return List.of();
        }
      };

  @Test
  void refusesToStartWithoutClientCaUnlessAnonymousIsAllowed() {
    KubeletServerConfig cfg =
        new KubeletServerConfig("0.0.0.0", 10250, null, null, null, false, null);
    assertThatThrownBy(
            () -> new KubeletServer(cfg, NONE, TokenReviewer.NONE, KubeletAuthorizer.ALWAYS_ALLOW))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("kubelet.clientCaFile: not set")
        .hasMessageContaining("kubelet.allowAnonymous")
        .hasMessageNotContaining("\n");
    assertThatCode(
            () ->
                new KubeletServer(
                    new KubeletServerConfig("0.0.0.0", 10250, null, null, null, true, null),
                    NONE,
                    TokenReviewer.NONE,
                    KubeletAuthorizer.ALWAYS_ALLOW))
        .doesNotThrowAnyException();
  }

  @Test
  void certAndKeyGoTogether() {
    assertThatThrownBy(
            () ->
                new KubeletServerConfig(
                        "0.0.0.0", 10250, Path.of("c.pem"), null, Path.of("ca.pem"), false, null)
                    .validate())
        .hasMessageStartingWith(
            "kubelet.tlsKeyFile: must be set together with kubelet.tlsCertFile");
    assertThatThrownBy(
            () ->
                new KubeletServerConfig(
                        "0.0.0.0", 10250, null, Path.of("k.pem"), Path.of("ca.pem"), false, null)
                    .validate())
        .hasMessageStartingWith(
            "kubelet.tlsCertFile: must be set together with kubelet.tlsKeyFile");
  }

  @Test
  void portAndAddressAreChecked() {
    assertThatThrownBy(
            () ->
                new KubeletServerConfig("0.0.0.0", 70000, null, null, null, true, null).validate())
        .hasMessageStartingWith("kubelet.port: 70000");
    assertThatThrownBy(
            () -> new KubeletServerConfig(" ", 10250, null, null, null, true, null).validate())
        .hasMessageStartingWith("kubelet.bindAddress:");
    assertThatThrownBy(
            () ->
                new KubeletServerConfig("0.0.0.0", 1, null, null, null, true, List.of("a", ""))
                    .validate())
        .hasMessageStartingWith("kubelet.serverNames:");
  }

  @Test
  void serverNamesDefaultToEmptyAndAreCopied() {
    assertThat(new KubeletServerConfig("0.0.0.0", 1, null, null, null, true, null).serverNames())
        .isEmpty();
  }
}

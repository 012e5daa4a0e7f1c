package io.hpcbridge.bridge.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TlsMaterialTest {

  @TempDir Path dir;

  @ParameterizedTest(name = "{0} key, pkcs8={1}")
  @CsvSource({"RSA,false", "RSA,true", "EC,false", "EC,true"})
  void readsCertificateWithPkcs1Sec1OrPkcs8Keys(String type, boolean pkcs8) throws Exception {
    TestPki.Issued ca = TestPki.ca("test-ca");
    KeyPair kp = type.equals("RSA") ? TestPki.rsa() : TestPki.ec();
    TestPki.Issued server = TestPki.issue(ca, "CN=node", kp, List.of("127.0.0.1"));
    Path cert = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    server.write(cert, key, pkcs8);
    String pem = Files.readString(key);
    assertThat(pem)
        .startsWith(
            pkcs8 ? "-----BEGIN PRIVATE KEY-----" : "-----BEGIN " + type + " PRIVATE KEY-----");

    TlsMaterial.Identity id = TlsMaterial.readIdentity(cert, "c", key, "k");
    assertThat(id.chain()).containsExactly(server.cert());
    assertThat(id.key().getAlgorithm()).isEqualTo(type);
    assertThat(TlsMaterial.serverContext(id, new ClientCertVerifier(List.of(ca.cert()))))
        .isNotNull();
  }

  @Test
  void readsChainsAndBundles() throws Exception {
    TestPki.Issued a = TestPki.ca("a");
    TestPki.Issued b = TestPki.ca("b");
    Path bundle = dir.resolve("ca.crt");
    TestPki.writePem(bundle, a.cert(), b.cert());
    Files.writeString(bundle, "# cluster CAs\n" + Files.readString(bundle));
    assertThat(TlsMaterial.readCertificates(bundle, "kubelet.clientCaFile"))
        .containsExactly(a.cert(), b.cert());
  }

  @Test
  void keyOfAnotherCertificateIsRefused() throws Exception {
    TestPki.Issued ca = TestPki.ca("test-ca");
    TestPki.Issued server = TestPki.issue(ca, "CN=node", TestPki.ec(), List.of("localhost"));
    TestPki.Issued other = TestPki.issue(ca, "CN=other", TestPki.ec(), List.of("localhost"));
    Path cert = dir.resolve("tls.crt");
    Path key = dir.resolve("tls.key");
    server.write(cert, dir.resolve("unused.key"), false);
    other.write(dir.resolve("unused.crt"), key, false);
    assertThatThrownBy(
            () -> TlsMaterial.readIdentity(cert, "kubelet.tlsCertFile", key, "kubelet.tlsKeyFile"))
        .hasMessageStartingWith("kubelet.tlsKeyFile: " + key + " is not the private key");
  }

  @Test
  void missingOrWrongFilesNameTheKey() throws Exception {
    Path missing = dir.resolve("nope.pem");
    assertThatThrownBy(() -> TlsMaterial.readCertificates(missing, "kubelet.clientCaFile"))
        .hasMessage(
            "kubelet.clientCaFile: cannot read certificates from " + missing + ": no such file");
    Path text = dir.resolve("text.pem");
    Files.writeString(text, "hello\n");
    assertThatThrownBy(() -> TlsMaterial.readCertificates(text, "kubelet.clientCaFile"))
        .hasMessageStartingWith("kubelet.clientCaFile: " + text + " contains no PEM certificate");
    assertThatThrownBy(() -> TlsMaterial.readPrivateKey(text, "kubelet.tlsKeyFile"))
        .hasMessageStartingWith("kubelet.tlsKeyFile: " + text + " contains no PEM private key");
  }

  @Test
  void encryptedKeysAreRefusedClearly() throws Exception {
    Path key = dir.resolve("enc.key");
    Files.writeString(
        key,
        "-----BEGIN RSA PRIVATE KEY-----\n"
            + "Proc-Type: 4,ENCRYPTED\n"
            + "DEK-Info: AES-128-CBC,00000000000000000000000000000000\n\n"
            + "AAAA\n"
            + "-----END RSA PRIVATE KEY-----\n");
    assertThatThrownBy(() -> TlsMaterial.readPrivateKey(key, "kubelet.tlsKeyFile"))
        .hasMessageContaining("kubelet.tlsKeyFile: ")
        .hasMessageContaining("encrypted");
  }

  @Test
  void selfSignedCarriesTheServerNames() throws Exception {
    TlsMaterial.Identity id =
        TlsMaterial.selfSigned(List.of("node-1.example.org", "10.1.2.3", "fd00::1"));
    X509Certificate c = id.chain().get(0);
    c.verify(c.getPublicKey());
    c.checkValidity();
    assertThat(c.getSubjectX500Principal().getName()).contains("CN=node-1.example.org");
    assertThat(TestPki.sans(c))
        .containsExactly("node-1.example.org", "10.1.2.3", "fd00:0:0:0:0:0:0:1");
    assertThat(c.getExtendedKeyUsage()).containsExactly("1.3.6.1.5.5.7.3.1");
  }

  @Test
  void selfSignedDefaultsToLoopbackNames() throws Exception {
    X509Certificate c = TlsMaterial.selfSigned(List.of()).chain().get(0);
    assertThat(TestPki.sans(c)).contains("localhost", "127.0.0.1");
  }
}

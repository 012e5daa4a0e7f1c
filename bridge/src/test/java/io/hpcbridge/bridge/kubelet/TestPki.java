package io.hpcbridge.bridge.kubelet;

import java.io.IOException;
import java.io.Writer;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A throw-away PKI for tests: CAs, server and client certificates, PEM files, SSL contexts. */
final class TestPki {

  /** A certificate with its key pair. */
  record Issued(X509Certificate cert, KeyPair keys) {

    /** Writes the certificate and the key (PKCS#1/SEC1, or PKCS#8 when {@code pkcs8}). */
    void write(Path certFile, Path keyFile, boolean pkcs8) throws IOException {
      writePem(certFile, cert);
      try (Writer w = Files.newBufferedWriter(keyFile);
          JcaPEMWriter pw = new JcaPEMWriter(w)) {
        pw.writeObject(pkcs8 ? new JcaPKCS8Generator(keys.getPrivate(), null) : keys.getPrivate());
      }
    }
  }

  private TestPki() {}

  static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048);
    return g.generateKeyPair();
  }

  static KeyPair ec() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  static Issued ca(String cn) throws Exception {
    KeyPair kp = ec();
    X500Name name = new X500Name("CN=" + cn);
    JcaX509v3CertificateBuilder b = builder(name, name, kp);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
    return new Issued(sign(b, kp), kp);
  }

  /** A leaf signed by {@code ca}; a server certificate when {@code sans} are given. */
  static Issued issue(Issued ca, String subject, KeyPair kp, List<String> sans) throws Exception {
    Instant now = Instant.now();
    return issue(
        ca, subject, kp, sans, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
  }

  static Issued issue(
      Issued ca, String subject, KeyPair kp, List<String> sans, Instant notBefore, Instant notAfter)
      throws Exception {
    JcaX509v3CertificateBuilder b =
        builder(
            new X500Name(ca.cert().getSubjectX500Principal().getName()),
            new X500Name(subject),
            kp,
            notBefore,
            notAfter);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
    b.addExtension(
        Extension.keyUsage,
        true,
        new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
    if (sans.isEmpty()) {
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
    } else {
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      GeneralName[] gn =
          sans.stream()
              .map(
                  s ->
                      TlsMaterial.isIpLiteral(s)
                          ? new GeneralName(GeneralName.iPAddress, s)
                          : new GeneralName(GeneralName.dNSName, s))
              .toArray(GeneralName[]::new);
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(gn));
    }
    return new Issued(sign(b, ca.keys()), kp);
  }

  static void writePem(Path file, Object... objects) throws IOException {
    try (Writer w = Files.newBufferedWriter(file);
        JcaPEMWriter pw = new JcaPEMWriter(w)) {
      for (Object o : objects) {
        pw.writeObject(o);
      }
    }
  }

  /**
   * A client SSL context presenting {@code client} (or nothing) and trusting {@code serverCa} (or
   * anything when null).
   */
  static SSLContext clientContext(Issued client, X509Certificate serverCa) throws Exception {
    KeyManagerFactory kmf = null;
    if (client != null) {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(
          "client", client.keys().getPrivate(), new char[0], new X509Certificate[] {client.cert()});
      kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
    }
    TrustManager[] tms;
    if (serverCa == null) {
      tms = new TrustManager[] {new TrustAll()};
    } else {
      KeyStore ts = KeyStore.getInstance("PKCS12");
      ts.load(null, null);
      ts.setCertificateEntry("ca", serverCa);
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ts);
      tms = tmf.getTrustManagers();
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(
        kmf == null
            ? null
            : new javax.net.ssl.KeyManager[] {
              new AlwaysPresent(
                  (javax.net.ssl.X509ExtendedKeyManager) kmf.getKeyManagers()[0], "client")
            },
        tms,
        new SecureRandom());
    return ctx;
  }

  /**
   * Presents the client certificate whatever CAs the server asks for, as Go's TLS client (the
   * apiserver) and curl do; the JDK's own key manager would silently send none.
   */
  private static final class AlwaysPresent extends javax.net.ssl.X509ExtendedKeyManager {
    private final javax.net.ssl.X509ExtendedKeyManager km;
    private final String alias;

    AlwaysPresent(javax.net.ssl.X509ExtendedKeyManager km, String alias) {
      this.km = km;
      this.alias = alias;
    }

    @Override
    public String[] getClientAliases(String keyType, java.security.Principal[] issuers) {
      return new String[] {alias};
    }

    @Override
    public String chooseClientAlias(
        String[] keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return alias;
    }

    @Override
    public String chooseEngineClientAlias(
        String[] keyType, java.security.Principal[] issuers, javax.net.ssl.SSLEngine engine) {
      return alias;
    }

    @Override
    public String[] getServerAliases(String keyType, java.security.Principal[] issuers) {
      return null;
    }

    @Override
    public String chooseServerAlias(
        String keyType, java.security.Principal[] issuers, java.net.Socket socket) {
      return null;
    }

    @Override
    public X509Certificate[] getCertificateChain(String a) {
      return km.getCertificateChain(a);
    }

    @Override
    public java.security.PrivateKey getPrivateKey(String a) {
      return km.getPrivateKey(a);
    }
  }

  /** The subject alternative names of {@code c}, as text. */
  static List<String> sans(X509Certificate c) throws Exception {
    return c.getSubjectAlternativeNames().stream().map(l -> String.valueOf(l.get(1))).toList();
  }

  /** An HTTP/1.1 client (like the apiserver's proxy to the kubelet) over {@code ctx}. */
  static java.net.http.HttpClient clientHttp(SSLContext ctx) {
    return java.net.http.HttpClient.newBuilder()
        .version(java.net.http.HttpClient.Version.HTTP_1_1)
        .sslContext(ctx)
        .connectTimeout(java.time.Duration.ofSeconds(10))
        .build();
  }

  static java.net.http.HttpClient clientHttp(Issued client, X509Certificate serverCa)
      throws Exception {
    return clientHttp(clientContext(client, serverCa));
  }

  private static JcaX509v3CertificateBuilder builder(
      X500Name issuer, X500Name subject, KeyPair kp) {
    Instant now = Instant.now();
    return builder(
        issuer, subject, kp, now.minus(Duration.ofHours(1)), now.plus(Duration.ofDays(1)));
  }

  private static JcaX509v3CertificateBuilder builder(
      X500Name issuer, X500Name subject, KeyPair kp, Instant notBefore, Instant notAfter) {
    return new JcaX509v3CertificateBuilder(
        issuer,
        new BigInteger(64, new SecureRandom()).add(BigInteger.ONE),
        Date.from(notBefore),
        Date.from(notAfter),
        subject,
        kp.getPublic());
  }

  private static X509Certificate sign(JcaX509v3CertificateBuilder b, KeyPair signer)
      throws Exception {
    String alg =
        "RSA".equals(signer.getPrivate().getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
    return new JcaX509CertificateConverter()
        .getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer.getPrivate())));
  }

  /** Test only: the self-signed server certificate cannot be known in advance. */
  private static final class TrustAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}

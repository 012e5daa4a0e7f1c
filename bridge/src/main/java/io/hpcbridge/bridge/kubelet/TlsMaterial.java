package io.hpcbridge.bridge.kubelet;

import java.io.IOException;
import java.io.Reader;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;

/**
 * Serving certificate, private key and client CA of the kubelet API: read from PEM files or, for
 * the serving certificate, generated self-signed. Uses the JDK's providers only; BouncyCastle
 * parses PEM and builds certificates.
 */
final class TlsMaterial {

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final char[] NO_PASSWORD = new char[0];

  /** A private key and its certificate chain, leaf first. */
  record Identity(PrivateKey key, List<X509Certificate> chain) {}

  private TlsMaterial() {}

  /**
   * The SSL context of the server: its identity and, when {@code clients} is not null, the
   * handshake trust manager that requests client certificates.
   */
  static SSLContext serverContext(Identity identity, ClientCertVerifier clients)
      throws GeneralSecurityException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try {
      ks.load(null, null);
    } catch (IOException e) {
      throw new GeneralSecurityException(e);
    }
    ks.setKeyEntry(
        "kubelet", identity.key(), NO_PASSWORD, identity.chain().toArray(new X509Certificate[0]));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, NO_PASSWORD);
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(
        kmf.getKeyManagers(),
        clients == null ? null : new TrustManager[] {clients.handshakeTrustManager()},
        new SecureRandom());
    return ctx;
  }

  /**
   * Reads a certificate chain and its key; checks that the key belongs to the first certificate.
   */
  static Identity readIdentity(Path certFile, String certKey, Path keyFile, String keyKey) {
    List<X509Certificate> chain = readCertificates(certFile, certKey);
    PrivateKey key = readPrivateKey(keyFile, keyKey, chain.get(0));
    if (!matches(key, chain.get(0).getPublicKey())) {
      throw new IllegalArgumentException(
          keyKey + ": " + keyFile + " is not the private key of the certificate in " + certFile);
    }
    return new Identity(key, chain);
  }

  /** All certificates of a PEM file, in file order. */
  static List<X509Certificate> readCertificates(Path file, String configKey) {
    List<X509Certificate> out = new ArrayList<>();
    JcaX509CertificateConverter conv = new JcaX509CertificateConverter();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser p = new PEMParser(r)) {
      Object o;
      while ((o = p.readObject()) != null) {
        if (o instanceof X509CertificateHolder h) {
          out.add(conv.getCertificate(h));
        }
      }
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new IllegalArgumentException(
          configKey + ": cannot read certificates from " + file + ": " + describe(e), e);
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException(
          configKey + ": " + file + " contains no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return out;
  }

  /** The first private key of a PEM file: PKCS#1 RSA, SEC1 EC or unencrypted PKCS#8. */
  static PrivateKey readPrivateKey(Path file, String configKey) {
    return readPrivateKey(file, configKey, null);
  }

  /**
   * As {@link #readPrivateKey(Path, String)}; an EC key written without its curve takes the curve
   * of {@code cert}.
   */
  static PrivateKey readPrivateKey(Path file, String configKey, X509Certificate cert) {
    PrivateKeyInfo info = null;
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser p = new PEMParser(r)) {
      Object o;
      while (info == null && (o = p.readObject()) != null) {
        if (o instanceof PEMKeyPair kp) {
          info = kp.getPrivateKeyInfo();
        } else if (o instanceof PrivateKeyInfo pki) {
          info = pki;
        } else if (o instanceof PEMEncryptedKeyPair || o instanceof PKCS8EncryptedPrivateKeyInfo) {
          throw new IllegalArgumentException(
              configKey + ": " + file + " holds an encrypted key; give an unencrypted PEM key");
        }
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof IllegalArgumentException iae && iae.getMessage().startsWith(configKey)) {
        throw iae;
      }
      throw new IllegalArgumentException(
          configKey + ": cannot read a private key from " + file + ": " + describe(e), e);
    }
    if (info == null) {
      throw new IllegalArgumentException(
          configKey + ": " + file + " contains no PEM private key (RSA, EC or PKCS#8)");
    }
    ASN1ObjectIdentifier alg = info.getPrivateKeyAlgorithm().getAlgorithm();
    String jca;
    if (alg.equals(PKCSObjectIdentifiers.rsaEncryption)) {
      jca = "RSA";
    } else if (alg.equals(X9ObjectIdentifiers.id_ecPublicKey)) {
      jca = "EC";
      if (info.getPrivateKeyAlgorithm().getParameters() == null && cert != null) {
        try {
          AlgorithmIdentifier certAlg =
              SubjectPublicKeyInfo.getInstance(cert.getPublicKey().getEncoded()).getAlgorithm();
          if (certAlg.getAlgorithm().equals(alg)) {
            info = new PrivateKeyInfo(certAlg, info.parsePrivateKey());
          }
        } catch (IOException e) {
          // leave it to the key factory to explain
        }
      }
    } else {
      throw new IllegalArgumentException(
          configKey + ": " + file + " holds a key of type " + alg + "; use an RSA or EC key");
    }
    try {
      return KeyFactory.getInstance(jca)
          .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          configKey + ": invalid " + jca + " key in " + file + ": " + describe(e), e);
    }
  }

  /**
   * A self-signed EC P-256 serving certificate valid for one year, with {@code names} (IP addresses
   * and DNS names) as subject alternative names; the first name is the common name.
   */
  static Identity selfSigned(List<String> names) {
    List<String> sans = names.isEmpty() ? List.of("localhost", "127.0.0.1", "::1") : names;
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair kp = g.generateKeyPair();
      X500Name subject =
          new X500NameBuilder(BCStyle.INSTANCE)
              .addRDN(BCStyle.O, "hpc-bridge")
              .addRDN(BCStyle.CN, sans.get(0))
              .build();
      Instant now = Instant.now();
      GeneralName[] gn = new GeneralName[sans.size()];
      for (int i = 0; i < sans.size(); i++) {
        String n = sans.get(i).trim();
        gn[i] =
            isIpLiteral(n)
                ? new GeneralName(GeneralName.iPAddress, n)
                : new GeneralName(GeneralName.dNSName, n);
      }
      JcaX509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              new BigInteger(127, new SecureRandom()).add(BigInteger.ONE),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(Duration.ofDays(365))),
              subject,
              kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
      b.addExtension(
          Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
      b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(gn));
      X509Certificate cert =
          new JcaX509CertificateConverter()
              .getCertificate(
                  b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
      return new Identity(kp.getPrivate(), List.of(cert));
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new IllegalStateException("cannot generate a self-signed certificate: " + e, e);
    }
  }

  static boolean isIpLiteral(String name) {
    return IPV4.matcher(name).matches() || name.indexOf(':') >= 0;
  }

  private static boolean matches(PrivateKey key, PublicKey pub) {
    if (!key.getAlgorithm().equals(pub.getAlgorithm())) {
      return false;
    }
    String alg = "RSA".equals(key.getAlgorithm()) ? "SHA256withRSA" : "SHA256withECDSA";
    try {
      byte[] probe = "hpc-bridge key check".getBytes(StandardCharsets.US_ASCII);
      Signature s = Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      Signature v = Signature.getInstance(alg);
      v.initVerify(pub);
      v.update(probe);
      return v.verify(sig);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static String describe(Exception e) {
    return e instanceof java.nio.file.NoSuchFileException
        ? "no such file"
        : e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
  }
}

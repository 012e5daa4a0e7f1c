package io.hpcbridge.bridge.kubelet;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * Checks client certificates against the cluster CA once the request has arrived, as the kubelet's
 * x509 authenticator does, so a wrong certificate gets a 401 that says why (and a log line) rather
 * than a silently dropped connection.
 *
 * <p>The TLS handshake asks for a client certificate naming the cluster CA and accepts whatever
 * chain is presented; the handshake itself still proves that the client holds the certificate's
 * private key. {@link #verify} then runs the JDK's PKIX validation for TLS clients (chain to one of
 * the CAs, validity dates, key usage and extended key usage).
 */
final class ClientCertVerifier {

  private final X509TrustManager pkix;

  ClientCertVerifier(List<X509Certificate> clusterCa) throws GeneralSecurityException {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    try {
      ts.load(null, null);
    } catch (java.io.IOException e) {
      throw new GeneralSecurityException(e);
    }
    for (int i = 0; i < clusterCa.size(); i++) {
      ts.setCertificateEntry("ca-" + i, clusterCa.get(i));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    X509TrustManager found = null;
    for (TrustManager tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        found = x;
      }
    }
    if (found == null) {
      throw new GeneralSecurityException("no X.509 trust manager available");
    }
    this.pkix = found;
  }

  /**
   * Validates a client chain (leaf first).
   *
   * @throws CertificateException with a short reason when the chain is not trusted
   */
  void verify(X509Certificate[] chain) throws CertificateException {
    if (chain == null || chain.length == 0) {
      throw new CertificateException("no client certificate");
    }
    try {
      pkix.checkClientTrusted(chain, chain[0].getPublicKey().getAlgorithm());
    } catch (CertificateException e) {
      String msg = String.valueOf(e.getMessage());
      if (msg.contains("path building failed")) {
        throw new CertificateException(
            "it does not chain to the cluster CA (" + KubeletServerConfig.KEY_CLIENT_CA_FILE + ")",
            e);
      }
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      throw new CertificateException(root.getMessage(), e);
    }
  }

  /** The trust manager for the handshake: requests certificates of the cluster CA, accepts any. */
  X509ExtendedTrustManager handshakeTrustManager() {
    return new X509ExtendedTrustManager() {
      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

      @Override
      public void checkClientTrusted(X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
          throws CertificateException {
        throw new CertificateException("the kubelet API does not verify servers");
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
          throws CertificateException {
        throw new CertificateException("the kubelet API does not verify servers");
      }

      @Override
      public void checkServerTrusted(X509Certificate[] chain, String authType)
          throws CertificateException {
        throw new CertificateException("the kubelet API does not verify servers");
      }

      @Override
      public X509Certificate[] getAcceptedIssuers() {
        return pkix.getAcceptedIssuers();
      }
    };
  }
}

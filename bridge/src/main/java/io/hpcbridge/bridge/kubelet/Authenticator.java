package io.hpcbridge.bridge.kubelet;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;

/**
 * Who sent a kubelet API request, like the API server's authenticators: a client certificate that
 * chains to the cluster CA, else a bearer token the API server vouches for (TokenReview), else
 * anonymous when allowed.
 */
final class Authenticator {
  private final ClientCertVerifier verifier;
  private final TokenReviewer tokens;
  private final boolean allowAnonymous;

  Authenticator(ClientCertVerifier verifier, TokenReviewer tokens, boolean allowAnonymous) {
    this.verifier = verifier;
    this.tokens = tokens;
    this.allowAnonymous = allowAnonymous;
  }

  /**
   * The caller: a verified client certificate, else a bearer token the API server vouches for, else
   * anonymous if allowed (null if not).
   *
   * @throws CertificateException for a client certificate that is presented but not accepted
   */
  Identity authenticate(Request req) throws CertificateException {
    X509Certificate[] chain = peerCertificates(req);
    if (chain != null && chain.length > 0) {
      if (verifier == null) {
        throw new CertificateException(
            "client certificates are not accepted (no kubelet.clientCaFile)");
      }
      try {
        verifier.verify(chain);
      } catch (CertificateException e) {
        throw new CertificateException(
            "client certificate \""
                + chain[0].getSubjectX500Principal().getName()
                + "\" (issuer \""
                + chain[0].getIssuerX500Principal().getName()
                + "\") is not accepted: "
                + e.getMessage(),
            e);
      }
      return identity(chain[0]);
    }
    String auth = req.getHeaders().get(HttpHeader.AUTHORIZATION);
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return tokens
          .review(auth.substring(7).trim())
          .orElseThrow(() -> new CertificateException("the bearer token is not valid"));
    }
    return allowAnonymous ? Identity.ANONYMOUS : null;
  }

  private static X509Certificate[] peerCertificates(Request req) {
    Object data = req.getAttribute(EndPoint.SslSessionData.ATTRIBUTE);
    return data instanceof EndPoint.SslSessionData d ? d.peerCertificates() : null;
  }

  /**
   * CN is the user, each O a group (the API server's x509 authenticator rule). A subject with no
   * CN, several, or attributes joined into one RDN names nobody clearly and is not accepted.
   */
  static Identity identity(X509Certificate cert) throws CertificateException {
    String user = null;
    List<String> groups = new ArrayList<>();
    try {
      for (Rdn rdn : new LdapName(cert.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.size() != 1) {
          throw new CertificateException("the certificate's subject has a multi-valued RDN");
        }
        if (rdn.getType().equalsIgnoreCase("CN")) {
          if (user != null) {
            throw new CertificateException("the certificate's subject has several CNs");
          }
          user = String.valueOf(rdn.getValue());
        } else if (rdn.getType().equalsIgnoreCase("O")) {
          groups.add(0, String.valueOf(rdn.getValue()));
        }
      }
    } catch (InvalidNameException e) {
      throw new CertificateException("the certificate's subject cannot be read");
    }
    if (user == null || user.isEmpty()) {
      throw new CertificateException("the certificate's subject has no CN to name a user");
    }
    groups.add("system:authenticated");
    return new Identity(user, groups);
  }
}

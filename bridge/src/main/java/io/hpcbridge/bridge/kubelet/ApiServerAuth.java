package io.hpcbridge.bridge.kubelet;

import io.fabric8.kubernetes.api.model.authentication.TokenReview;
import io.fabric8.kubernetes.api.model.authentication.TokenReviewBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReview;
import io.fabric8.kubernetes.api.model.authorization.v1.SubjectAccessReviewBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kubelet's webhook mode: bearer tokens are checked with a TokenReview and every request with a
 * SubjectAccessReview for {@code nodes/<subresource>} of this node, answers cached briefly (allowed
 * 5 min, denied 30 s, tokens 2 min) so a log follow does not cost an API call per request.
 */
final class ApiServerAuth implements KubeletAuthorizer, TokenReviewer {
  private static final Logger log = LoggerFactory.getLogger(ApiServerAuth.class);
  private static final Duration ALLOWED = Duration.ofMinutes(5);
  private static final Duration DENIED = Duration.ofSeconds(30);
  private static final Duration TOKENS = Duration.ofMinutes(2);
  private static final int MAX_ENTRIES = 4096;

  private final KubernetesClient client;
  private final String nodeName;

  /** One decision: who, what verb, which subresource (a record, so keys cannot run together). */
  private record Question(Identity who, String verb, String subresource) {}

  private static final Duration UNKNOWN_TOKENS = Duration.ofSeconds(10);

  private final Cache<Question, String> decisions = new Cache<>();
  private final Cache<String, Optional<Identity>> tokens = new Cache<>();

  ApiServerAuth(KubernetesClient client, String nodeName) {
    this.client = client;
    this.nodeName = nodeName;
  }

  @Override
  public String check(Identity who, String verb, String subresource) {
    Question key = new Question(who, verb, subresource);
    String cached = decisions.get(key);
    if (cached != null) {
      return cached.isEmpty() ? null : cached;
    }
    SubjectAccessReview sar =
        new SubjectAccessReviewBuilder()
            .withNewSpec()
            .withUser(who.user())
            .withUid(who.uid())
            .withGroups(who.groups())
            .withExtra(who.extra())
            .withNewResourceAttributes()
            .withVerb(verb)
            .withGroup("")
            .withResource("nodes")
            .withSubresource(subresource)
            .withName(nodeName)
            .endResourceAttributes()
            .endSpec()
            .build();
    String why;
    try {
      var status = client.authorization().v1().subjectAccessReview().create(sar).getStatus();
      boolean allowed = status != null && Boolean.TRUE.equals(status.getAllowed());
      why =
          allowed
              ? null
              : "user \""
                  + who.user()
                  + "\" cannot "
                  + verb
                  + " resource \"nodes/"
                  + subresource
                  + "\" of node \""
                  + nodeName
                  + "\""
                  + (status != null && status.getReason() != null && !status.getReason().isEmpty()
                      ? ": " + status.getReason()
                      : "");
    } catch (RuntimeException e) {
      log.warn("kubelet API: SubjectAccessReview failed: {}", e.toString());
      return "authorization failed: the API server could not be asked (" + e.getMessage() + ")";
    }
    decisions.put(key, why == null ? "" : why, why == null ? ALLOWED : DENIED);
    return why;
  }

  @Override
  public Optional<Identity> review(String token) {
    String key = sha256(token);
    Optional<Identity> cached = tokens.get(key);
    if (cached != null) {
      return cached;
    }
    TokenReview review = new TokenReviewBuilder().withNewSpec().withToken(token).endSpec().build();
    Optional<Identity> who;
    try {
      var status = client.authentication().v1().tokenReviews().create(review).getStatus();
      who =
          status != null
                  && Boolean.TRUE.equals(status.getAuthenticated())
                  && status.getUser() != null
              ? Optional.of(
                  new Identity(
                      status.getUser().getUsername(),
                      status.getUser().getUid(),
                      status.getUser().getGroups() == null
                          ? List.of()
                          : status.getUser().getGroups(),
                      status.getUser().getExtra()))
              : Optional.empty();
    } catch (RuntimeException e) {
      log.warn("kubelet API: TokenReview failed: {}", e.toString());
      return Optional.empty(); // not cached: the API server may answer next time
    }
    // Tokens nobody vouches for are remembered briefly too, so a flood of one bad token is cheap.
    tokens.put(key, who, who.isPresent() ? TOKENS : UNKNOWN_TOKENS);
    return who;
  }

  private static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A small expiring map, oldest entries dropped beyond {@link #MAX_ENTRIES}. */
  private static final class Cache<K, V> {
    private record Entry<V>(V value, long until) {}

    private final Map<K, Entry<V>> map =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<K, Entry<V>> e) {
            return size() > MAX_ENTRIES;
          }
        };

    synchronized V get(K key) {
      Entry<V> e = map.get(key);
      if (e == null) {
        return null;
      }
      if (System.nanoTime() - e.until() > 0) {
        map.remove(key);
        return null;
      }
      return e.value();
    }

    synchronized void put(K key, V value, Duration ttl) {
      map.put(key, new Entry<>(value, System.nanoTime() + ttl.toNanos()));
    }
  }
}

package io.hpcbridge.bridge.kubelet;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.hpcbridge.backend.LogOptions;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kubelet API over real HTTPS on loopback, with a PKI made for the test. */
class KubeletServerIT {

  static TestPki.Issued clusterCa;
  static TestPki.Issued apiserverClient;
  static TestPki.Issued otherCaClient;
  static TestPki.Issued serving;

  @TempDir static Path dir;

  /** The test's RBAC: members of system:masters may do everything, nobody else anything. */
  static final KubeletAuthorizer MASTERS_ONLY =
      (who, verb, subresource) ->
          who.groups().contains("system:masters")
              ? null
              : "user \"" + who.user() + "\" cannot " + verb + " nodes/" + subresource;

  final FakeSource source = new FakeSource();
  KubeletServer server;

  @BeforeAll
  static void pki() throws Exception {
    clusterCa = TestPki.ca("kube-ca");
    apiserverClient =
        TestPki.issue(
            clusterCa,
            "CN=kube-apiserver-kubelet-client,O=system:masters",
            TestPki.rsa(),
            List.of());
    TestPki.Issued otherCa = TestPki.ca("other-ca");
    otherCaClient =
        TestPki.issue(otherCa, "CN=kube-apiserver-kubelet-client", TestPki.ec(), List.of());
    serving =
        TestPki.issue(clusterCa, "CN=node-1", TestPki.rsa(), List.of("127.0.0.1", "localhost"));
    serving.write(dir.resolve("tls.crt"), dir.resolve("tls.key"), true);
    TestPki.writePem(dir.resolve("ca.crt"), clusterCa.cert());
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  // --- authentication ------------------------------------------------------------------------

  @Test
  void clientCertificateOfClusterCaGetsTheLog() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("hello\nworld\n"));
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("hello\nworld\n");
    assertThat(r.headers().firstValue("content-type")).hasValue("text/plain; charset=utf-8");
    assertThat(source.lastOptions.get()).isEqualTo(LogOptions.ALL);
  }

  @Test
  void requestWithoutClientCertificateIsRejected() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(false);
    HttpResponse<String> r = get(null, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.body()).doesNotContain("secret").contains("client certificate");
    assertThat(get(null, "/pods").statusCode()).isEqualTo(401);
    assertThat(source.opened.get()).isZero();
  }

  @Test
  void clientCertificateOfAnotherCaIsRejected() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(false);
    HttpResponse<String> r = get(otherCaClient, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.body())
        .doesNotContain("secret")
        .contains("CN=kube-apiserver-kubelet-client")
        .contains("CN=other-ca")
        .contains("does not chain to the cluster CA (kubelet.clientCaFile)");
    assertThat(get(otherCaClient, "/pods").statusCode()).isEqualTo(401);
    assertThat(source.opened.get()).isZero();
    // The server keeps serving good clients.
    assertThat(get(apiserverClient, "/containerLogs/default/job-abc/main").body())
        .isEqualTo("secret\n");
  }

  @Test
  void expiredClientCertificateIsRejected() throws Exception {
    Instant now = Instant.now();
    TestPki.Issued expired =
        TestPki.issue(
            clusterCa,
            "CN=kube-apiserver-kubelet-client",
            TestPki.ec(),
            List.of(),
            now.minus(Duration.ofDays(2)),
            now.minus(Duration.ofDays(1)));
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(false);
    HttpResponse<String> r = get(expired, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(401);
    assertThat(r.body()).contains("is not accepted").contains("NotAfter");
    assertThat(source.opened.get()).isZero();
  }

  @Test
  void badCertificateIsRejectedEvenWhenAnonymousIsAllowed() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(true);
    assertThat(get(otherCaClient, "/containerLogs/default/job-abc/main").statusCode())
        .isEqualTo(401);
  }

  @Test
  void allowAnonymousLetsRequestsWithoutCertificateThroughToAuthorization() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("hello\n"));
    start(true);
    // Anonymous is an identity like any other: the authorizer (RBAC) still decides.
    HttpResponse<String> r = get(null, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body()).contains("system:anonymous").doesNotContain("hello");
    assertThat(get(apiserverClient, "/containerLogs/default/job-abc/main").body())
        .isEqualTo("hello\n");
  }

  @Test
  void aClusterCaCertificateTheAuthorizerDeniesGets403() throws Exception {
    TestPki.Issued intruder =
        TestPki.issue(clusterCa, "CN=intruder,O=students", TestPki.ec(), List.of());
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(false);
    HttpResponse<String> r = get(intruder, "/containerLogs/default/job-abc/main");
    assertThat(r.statusCode()).isEqualTo(403);
    assertThat(r.body())
        .contains("user \"intruder\" cannot get nodes/proxy")
        .doesNotContain("secret");
    assertThat(get(intruder, "/pods").statusCode()).isEqualTo(403);
    assertThat(source.opened.get()).isZero();
  }

  @Test
  void allowAnonymousWithoutClientCaServesEveryone() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("hello\n"));
    server =
        new KubeletServer(
            new KubeletServerConfig(
                "127.0.0.1",
                0,
                dir.resolve("tls.crt"),
                dir.resolve("tls.key"),
                null,
                true,
                List.of()),
            source,
            TokenReviewer.NONE,
            KubeletAuthorizer.ALWAYS_ALLOW);
    server.start();
    assertThat(get(null, "/containerLogs/default/job-abc/main").body()).isEqualTo("hello\n");
  }

  @Test
  void healthzNeedsNoCertificate() throws Exception {
    start(false);
    HttpResponse<String> r = get(null, "/healthz");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("ok\n");
  }

  @Test
  void selfSignedCertificateCarriesTheConfiguredNames() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("hello\n"));
    server =
        new KubeletServer(
            new KubeletServerConfig(
                "127.0.0.1",
                0,
                null,
                null,
                dir.resolve("ca.crt"),
                false,
                List.of("node-1.example.org", "127.0.0.1")),
            source,
            TokenReviewer.NONE,
            MASTERS_ONLY);
    server.start();
    SSLContext ctx = TestPki.clientContext(apiserverClient, null);
    try (SSLSocket s =
        (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      s.startHandshake();
      X509Certificate c = (X509Certificate) s.getSession().getPeerCertificates()[0];
      assertThat(TestPki.sans(c)).containsExactly("node-1.example.org", "127.0.0.1");
    }
    HttpResponse<String> r =
        send(ctx, HttpRequest.newBuilder(uri("/containerLogs/default/job-abc/main")).build());
    assertThat(r.body()).isEqualTo("hello\n");
  }

  @Test
  void busyPortIsAClearError() throws Exception {
    start(false);
    KubeletServer second =
        new KubeletServer(
            new KubeletServerConfig(
                "127.0.0.1", server.port(), null, null, dir.resolve("ca.crt"), false, List.of()),
            source,
            TokenReviewer.NONE,
            MASTERS_ONLY);
    assertThatThrownBy(second::start)
        .isInstanceOf(IOException.class)
        .hasMessageStartingWith("kubelet.port: cannot listen on 127.0.0.1:" + server.port());
    second.close();
  }

  // --- endpoints -----------------------------------------------------------------------------

  @Test
  void queryParametersReachTheSource() throws Exception {
    source.put("ns-1", "pod-1", "c-1", () -> stream("x\n"));
    start(false);
    HttpResponse<String> r =
        get(
            apiserverClient,
            "/containerLogs/ns-1/pod-1/c-1?tailLines=5&timestamps=true&previous=false"
                + "&sinceTime=2024-05-06T07%3A08%3A09Z&limitBytes=100");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(source.lastOptions.get())
        .isEqualTo(
            new LogOptions(
                false, 5, true, 100L, null, Instant.parse("2024-05-06T07:08:09Z"), false));
    get(apiserverClient, "/containerLogs/ns-1/pod-1/c-1?sinceSeconds=30&follow=true");
    assertThat(source.lastOptions.get().sinceSeconds()).isEqualTo(30L);
    assertThat(source.lastOptions.get().follow()).isTrue();
  }

  @Test
  void badQueryIs400WithMessage() throws Exception {
    source.put("default", "p", "c", () -> stream("x\n"));
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/p/c?tailLines=abc");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).isEqualTo("tailLines: 'abc' is not an integer\n");
    r = get(apiserverClient, "/containerLogs/default/p/c?sinceTime=yesterday");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("sinceTime");
    r = get(apiserverClient, "/containerLogs/default/p");
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.body()).contains("/containerLogs/{namespace}/{pod}/{container}");
    assertThat(source.opened.get()).isZero();
  }

  @Test
  void unknownPodOrContainerIs404() throws Exception {
    source.put("default", "p", "c", () -> stream("x\n"));
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/p/nope");
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.body()).contains("default/p/nope");
    assertThat(get(apiserverClient, "/containerLogs/default/ghost/c").statusCode()).isEqualTo(404);
    assertThat(get(apiserverClient, "/stats/summary").statusCode()).isEqualTo(404);
  }

  @Test
  void sourceFailureIs500WithoutTheBackendsDetails() throws Exception {
    source.put(
        "default",
        "p",
        "c",
        () -> {
          throw new IllegalStateException("ssh to login-7.internal:22 refused");
        });
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/p/c");
    assertThat(r.statusCode()).isEqualTo(500);
    assertThat(r.body()).contains("cannot open the log of container c").doesNotContain("login-7");
  }

  @Test
  void aCertificateThatNamesNobodyClearlyIsRejected() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("secret\n"));
    start(false);
    TestPki.Issued noCn = TestPki.issue(clusterCa, "O=system:masters", TestPki.ec(), List.of());
    TestPki.Issued twoCns =
        TestPki.issue(clusterCa, "CN=a,CN=b,O=system:masters", TestPki.ec(), List.of());
    for (TestPki.Issued c : List.of(noCn, twoCns)) {
      HttpResponse<String> r = get(c, "/containerLogs/default/job-abc/main");
      assertThat(r.statusCode()).isEqualTo(401);
      assertThat(r.body()).doesNotContain("secret");
    }
  }

  @Test
  void execAttachPortForwardRunAre501() throws Exception {
    start(false);
    for (String op : List.of("exec", "attach", "portForward", "run")) {
      HttpResponse<String> r =
          send(
              TestPki.clientContext(apiserverClient, clusterCa.cert()),
              HttpRequest.newBuilder(uri("/" + op + "/default/p/c?command=sh"))
                  .POST(HttpRequest.BodyPublishers.noBody())
                  .build());
      assertThat(r.statusCode()).as(op).isEqualTo(501);
      assertThat(r.body()).startsWith(op + " is not supported by this node");
    }
  }

  @Test
  void podsIsAPodList() throws Exception {
    source.pods =
        List.of(
            new PodBuilder()
                .withNewMetadata()
                .withNamespace("default")
                .withName("job-abc")
                .withUid("u-1")
                .endMetadata()
                .withNewSpec()
                .withNodeName("node-1")
                .endSpec()
                .build());
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/pods");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type")).hasValue("application/json");
    JsonNode list = new ObjectMapper().readTree(r.body());
    assertThat(list.path("kind").asText()).isEqualTo("PodList");
    assertThat(list.path("apiVersion").asText()).isEqualTo("v1");
    assertThat(list.path("items")).hasSize(1);
    assertThat(list.path("items").get(0).path("metadata").path("name").asText())
        .isEqualTo("job-abc");
  }

  // --- streaming -----------------------------------------------------------------------------

  @Test
  void followStreamsLinesAsTheyAreProduced() throws Exception {
    PipedOutputStream producer = new PipedOutputStream();
    PipedInputStream pipe = new PipedInputStream(producer, 4096);
    AtomicBoolean closed = new AtomicBoolean();
    source.put("default", "p", "c", () -> onClose(pipe, closed));
    start(false);
    HttpResponse<InputStream> r =
        TestPki.clientHttp(apiserverClient, clusterCa.cert())
            .send(
                HttpRequest.newBuilder(uri("/containerLogs/default/p/c?follow=true")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.statusCode()).isEqualTo(200);
    BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), UTF_8));

    producer.write("first\n".getBytes(UTF_8));
    producer.flush();
    assertThat(readLine(lines)).isEqualTo("first");

    producer.write("second\n".getBytes(UTF_8));
    producer.flush();
    assertThat(readLine(lines)).isEqualTo("second");

    producer.close(); // the container terminated
    assertThat(readLine(lines)).isNull();
    await().atMost(Duration.ofSeconds(10)).untilTrue(closed);
  }

  @Test
  void clientGoingAwayClosesTheSource() throws Exception {
    PipedOutputStream producer = new PipedOutputStream();
    PipedInputStream pipe = new PipedInputStream(producer, 4096);
    AtomicBoolean closed = new AtomicBoolean();
    source.put("default", "p", "c", () -> onClose(pipe, closed));
    start(false);
    SSLContext ctx = TestPki.clientContext(apiserverClient, clusterCa.cert());
    try (SSLSocket s =
        (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", server.port())) {
      s.getOutputStream()
          .write(
              "GET /containerLogs/default/p/c?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n"
                  .getBytes(UTF_8));
      s.getOutputStream().flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), UTF_8));
      producer.write("first\n".getBytes(UTF_8));
      producer.flush();
      assertThat(readLine(in)).isEqualTo("HTTP/1.1 200 OK");
    }
    // Further output finds the client gone: the server stops reading and closes the source.
    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () -> {
              try {
                producer.write("more\n".getBytes(UTF_8));
                producer.flush();
              } catch (IOException pipeClosed) {
                return true;
              }
              return closed.get();
            });
    await().atMost(Duration.ofSeconds(10)).untilTrue(closed);
  }

  @Test
  void limitBytesCutsTheStream() throws Exception {
    source.put("default", "p", "c", () -> stream("0123456789abcdefghij\n")); // ignores the option
    start(false);
    HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/p/c?limitBytes=10");
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.body()).isEqualTo("0123456789");
  }

  @Test
  void limitBytesEndsAFollowAndClosesTheSource() throws Exception {
    PipedOutputStream producer = new PipedOutputStream();
    PipedInputStream pipe = new PipedInputStream(producer, 4096);
    AtomicBoolean closed = new AtomicBoolean();
    source.put("default", "p", "c", () -> onClose(pipe, closed));
    start(false);
    CompletableFuture<HttpResponse<String>> r =
        TestPki.clientHttp(apiserverClient, clusterCa.cert())
            .sendAsync(
                HttpRequest.newBuilder(uri("/containerLogs/default/p/c?follow=true&limitBytes=8"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    producer.write("line-1\n".getBytes(UTF_8));
    producer.flush();
    producer.write("line-2\n".getBytes(UTF_8));
    producer.flush();
    assertThat(r.get(10, TimeUnit.SECONDS).body()).isEqualTo("line-1\nl");
    await().atMost(Duration.ofSeconds(10)).untilTrue(closed);
  }

  @Test
  void closeEndsRunningFollowers() throws Exception {
    PipedOutputStream producer = new PipedOutputStream();
    PipedInputStream pipe = new PipedInputStream(producer, 4096);
    AtomicBoolean closed = new AtomicBoolean();
    source.put("default", "p", "c", () -> onClose(pipe, closed));
    start(false);
    HttpResponse<InputStream> r =
        TestPki.clientHttp(apiserverClient, clusterCa.cert())
            .send(
                HttpRequest.newBuilder(uri("/containerLogs/default/p/c?follow=true")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
    BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), UTF_8));
    producer.write("first\n".getBytes(UTF_8));
    producer.flush();
    assertThat(readLine(lines)).isEqualTo("first");
    server.close();
    server = null;
    await().atMost(Duration.ofSeconds(10)).untilTrue(closed);
  }

  // --- resilience ----------------------------------------------------------------------------

  @Test
  void stalledTlsClientsDoNotBlockOthers() throws Exception {
    source.put("default", "job-abc", "main", () -> stream("hello\n"));
    start(false);
    List<java.net.Socket> stalled = new java.util.ArrayList<>();
    try {
      for (int i = 0; i < 80; i++) {
        java.net.Socket s = new java.net.Socket("127.0.0.1", server.port());
        if (i % 2 == 0) {
          s.getOutputStream().write(new byte[] {0x16, 0x03, 0x01}); // a TLS record, cut short
          s.getOutputStream().flush();
        }
        stalled.add(s);
      }
      long t0 = System.nanoTime();
      HttpResponse<String> r = get(apiserverClient, "/containerLogs/default/job-abc/main");
      assertThat(r.body()).isEqualTo("hello\n");
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(5));
    } finally {
      for (java.net.Socket s : stalled) {
        s.close();
      }
    }
  }

  private void startWithLimits(int maxRequests, int maxFollows, int perNamespace)
      throws IOException {
    server =
        new KubeletServer(
            new KubeletServerConfig(
                "127.0.0.1",
                0,
                dir.resolve("tls.crt"),
                dir.resolve("tls.key"),
                dir.resolve("ca.crt"),
                false,
                List.of(),
                KubeletServerConfig.Authorization.WEBHOOK,
                maxRequests,
                maxFollows,
                perNamespace,
                Duration.ofSeconds(30)),
            source,
            TokenReviewer.NONE,
            MASTERS_ONLY);
    server.start();
  }

  @Test
  void requestsBeyondTheLimitGet503InsteadOfWaitingForever() throws Exception {
    Feed slow = new Feed(); // a log that does not end: the request holds its slot
    source.put("default", "slow", "c", () -> slow);
    source.put("default", "q", "c", () -> stream("quick\n"));
    startWithLimits(1, 4, 4);
    var client = TestPki.clientHttp(apiserverClient, clusterCa.cert());
    client.sendAsync(
        HttpRequest.newBuilder(uri("/containerLogs/default/slow/c")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    await().atMost(Duration.ofSeconds(10)).until(() -> source.opened.get() == 1);
    // The next waits for a slot, then is turned away; the one after that at once.
    var waiting =
        client.sendAsync(
            HttpRequest.newBuilder(uri("/containerLogs/default/q/c")).build(),
            HttpResponse.BodyHandlers.ofString());
    await().atMost(Duration.ofSeconds(2)).pollDelay(Duration.ofMillis(300)).until(() -> true);
    HttpResponse<String> refused = get(apiserverClient, "/containerLogs/default/q/c");
    assertThat(refused.statusCode()).isEqualTo(503);
    assertThat(waiting.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(503);
    // Follows are counted apart: one still starts while the slot is taken.
    source.put("default", "f", "c", () -> stream("followed\n"));
    assertThat(get(apiserverClient, "/containerLogs/default/f/c?follow=true").body())
        .isEqualTo("followed\n");
    slow.close(); // the slow log ends: the slot is free again
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> get(apiserverClient, "/containerLogs/default/q/c").statusCode() == 200);
  }

  @Test
  void oneNamespacesFollowersCannotTakeEveryFollowSlot() throws Exception {
    Feed a = new Feed();
    Feed b = new Feed();
    source.put("team-a", "p", "c", () -> a);
    source.put("team-a", "q", "c", () -> b);
    source.put("team-b", "p", "c", () -> stream("b\n"));
    startWithLimits(8, 8, 1);
    var client = TestPki.clientHttp(apiserverClient, clusterCa.cert());
    client.sendAsync(
        HttpRequest.newBuilder(uri("/containerLogs/team-a/p/c?follow=true")).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    await().atMost(Duration.ofSeconds(10)).until(() -> source.opened.get() == 1);
    HttpResponse<String> second = get(apiserverClient, "/containerLogs/team-a/q/c?follow=true");
    assertThat(second.statusCode()).isEqualTo(503);
    assertThat(second.body()).contains("namespace team-a already follows 1 logs");
    assertThat(get(apiserverClient, "/containerLogs/team-b/p/c?follow=true").body())
        .isEqualTo("b\n");
    a.close();
    b.close();
  }

  @Test
  void aFollowEndsWhenAnHttp2ClientGoesAwayEvenWithoutNewLines() throws Exception {
    Feed feed = new Feed();
    source.put("default", "p", "c", () -> feed);
    start(false);
    int before = streamingThreads();
    var client =
        java.net.http.HttpClient.newBuilder()
            .version(java.net.http.HttpClient.Version.HTTP_2)
            .sslContext(TestPki.clientContext(apiserverClient, clusterCa.cert()))
            .build();
    HttpResponse<InputStream> r =
        client.send(
            HttpRequest.newBuilder(uri("/containerLogs/default/p/c?follow=true")).build(),
            HttpResponse.BodyHandlers.ofInputStream());
    assertThat(r.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_2);
    feed.add("first\n");
    BufferedReader lines = new BufferedReader(new InputStreamReader(r.body(), UTF_8));
    assertThat(readLine(lines)).isEqualTo("first");
    assertThat(streamingThreads()).isEqualTo(before + 1);
    r.body().close(); // the client goes away; the container stays silent
    await().atMost(Duration.ofSeconds(10)).until(() -> feed.closed);
    await().atMost(Duration.ofSeconds(10)).until(() -> streamingThreads() == before);
  }

  /** A followed log that blocks until lines are added and returns at once when closed. */
  static final class Feed extends InputStream {
    final java.util.concurrent.BlockingQueue<byte[]> chunks =
        new java.util.concurrent.LinkedBlockingQueue<>();
    volatile boolean closed;
    private byte[] current = new byte[0];
    private int pos;

    void add(String s) {
      chunks.add(s.getBytes(UTF_8));
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      while (pos >= current.length) {
        if (closed) {
          return -1;
        }
        try {
          byte[] next = chunks.poll(100, TimeUnit.MILLISECONDS);
          if (next != null) {
            current = next;
            pos = 0;
          }
        } catch (InterruptedException e) {
          throw new java.io.InterruptedIOException();
        }
      }
      int n = Math.min(len, current.length - pos);
      System.arraycopy(current, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  /** Threads of this JVM now serving a log stream. */
  private static int streamingThreads() {
    int n = 0;
    for (StackTraceElement[] stack : Thread.getAllStackTraces().values()) {
      for (StackTraceElement e : stack) {
        if (e.getClassName().equals(KubeletHandler.class.getName())
            && e.getMethodName().equals("stream")) {
          n++;
          break;
        }
      }
    }
    return n;
  }

  // --- helpers -------------------------------------------------------------------------------

  private void start(boolean allowAnonymous) throws IOException {
    server =
        new KubeletServer(
            new KubeletServerConfig(
                "127.0.0.1",
                0,
                dir.resolve("tls.crt"),
                dir.resolve("tls.key"),
                dir.resolve("ca.crt"),
                allowAnonymous,
                List.of()),
            source,
            TokenReviewer.NONE,
            MASTERS_ONLY);
    server.start();
  }

  private URI uri(String pathAndQuery) {
    return URI.create("https://127.0.0.1:" + server.port() + pathAndQuery);
  }

  private HttpResponse<String> get(TestPki.Issued client, String pathAndQuery) throws Exception {
    return send(
        TestPki.clientContext(client, clusterCa.cert()),
        HttpRequest.newBuilder(uri(pathAndQuery)).build());
  }

  private static HttpResponse<String> send(SSLContext ctx, HttpRequest request) throws Exception {
    return TestPki.clientHttp(ctx).send(request, HttpResponse.BodyHandlers.ofString());
  }

  /** Reads one line, failing after 10 s instead of hanging. */
  private static String readLine(BufferedReader r) throws Exception {
    return CompletableFuture.supplyAsync(
            () -> {
              try {
                return r.readLine();
              } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
              }
            })
        .get(10, TimeUnit.SECONDS);
  }

  private static InputStream stream(String s) {
    return new ByteArrayInputStream(s.getBytes(UTF_8));
  }

  private static InputStream onClose(InputStream in, AtomicBoolean closed) {
    return new java.io.FilterInputStream(in) {
      @Override
      public void close() throws IOException {
        closed.set(true);
        super.close();
      }
    };
  }

  /** Logs by namespace/pod/container; records what the server asked for. */
  static final class FakeSource implements PodLogSource {
    final Map<String, Supplier<InputStream>> logs = new ConcurrentHashMap<>();
    final AtomicReference<LogOptions> lastOptions = new AtomicReference<>();
    final java.util.concurrent.atomic.AtomicInteger opened =
        new java.util.concurrent.atomic.AtomicInteger();
    volatile List<Pod> pods = List.of();

    void put(String ns, String pod, String container, Supplier<InputStream> log) {
      logs.put(ns + "/" + pod + "/" + container, log);
    }

    @Override
    public InputStream open(String ns, String pod, String container, LogOptions options) {
      Supplier<InputStream> log = logs.get(ns + "/" + pod + "/" + container);
      if (log == null) {
        throw new NoSuchElementException(
            "container " + ns + "/" + pod + "/" + container + " not found");
      }
      lastOptions.set(options);
      opened.incrementAndGet();
      return log.get();
    }

    @Override
    public List<Pod> pods() {
      return pods;
    }
  }
}

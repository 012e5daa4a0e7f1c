package io.hpcbridge.bridge;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import io.hpcbridge.bridge.config.BridgeConfig;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A token bucket in front of every API server request, with a kubelet's {@code kubeAPIQPS} and
 * {@code kubeAPIBurst} semantics: up to {@code burst} requests at once, {@code qps} per second
 * sustained. A request over the limit waits on its own thread (the caller's: a worker, an informer)
 * until its turn; none is refused.
 */
final class ApiRateLimiter implements Interceptor {
  private final double perNano;
  private final double burst;
  private final LongSupplier clock;
  private double tokens;
  private long last;

  /** A client for {@code config} within the limits of {@code api}. */
  static KubernetesClient client(Config config, BridgeConfig.KubeApi api) {
    config.setMaxConcurrentRequests(api.maxConcurrentRequests());
    config.setMaxConcurrentRequestsPerHost(api.maxConcurrentRequests());
    ApiRateLimiter limiter = new ApiRateLimiter(api.qps(), api.burst());
    return new KubernetesClientBuilder()
        .withConfig(config)
        .withHttpClientBuilderConsumer(b -> b.addOrReplaceInterceptor("rate-limit", limiter))
        .build();
  }

  ApiRateLimiter(double qps, int burst) {
    this(qps, burst, System::nanoTime);
  }

  ApiRateLimiter(double qps, int burst, LongSupplier nanoClock) {
    this.perNano = qps / TimeUnit.SECONDS.toNanos(1);
    this.burst = burst;
    this.clock = nanoClock;
    this.tokens = burst;
    this.last = nanoClock.getAsLong();
  }

  @Override
  public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
    long wait = reserve();
    if (wait > 0) {
      try {
        TimeUnit.NANOSECONDS.sleep(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Takes one token (possibly going into debt) and says how long to wait for it, in nanos. */
  synchronized long reserve() {
    long now = clock.getAsLong();
    tokens = Math.min(burst, tokens + (now - last) * perNano);
    last = now;
    tokens -= 1;
    return tokens >= 0 ? 0 : (long) Math.ceil(-tokens / perNano);
  }
}

package io.tidings.server.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheus.PrometheusConfig;
import io.micrometer.prometheus.PrometheusMeterRegistry;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogStats;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Every metric Tidings exports, named {@code tidings_…} in base units, with labels of bounded
 * cardinality only (protocol, outcome, route, status class — never a room or a user). The one
 * class that knows the registry type (the Prometheus simpleclient registry), so it can be swapped.
 * Documented in docs/operations.md. Thread-safe.
 */
public final class Metrics {
    public static final String NATIVE = "native";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentMap<String, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, AtomicLong> connections = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> webhookTimers = new ConcurrentHashMap<>();
    private final Timer appendLatency;
    private final Timer deliveryLatency;
    private final DistributionSummary lagEvents;
    private final DistributionSummary lagSeconds;
    private volatile LogStats logStats;

    public Metrics() {
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);
        appendLatency = Timer.builder("tidings_log_append_seconds")
                .description("Time from a publish request's append call to its commit")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(10_000))
                .maximumExpectedValue(Duration.ofSeconds(5)).register(registry);
        deliveryLatency = Timer.builder("tidings_delivery_latency_seconds")
                .description("Time from an event's append to its hand-off to a client socket (live push)")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
        lagEvents = DistributionSummary.builder("tidings_consumer_lag_events")
                .description("Events between the log head and each catching-up session's position, sampled every second")
                .publishPercentileHistogram().maximumExpectedValue(10_000_000.0).register(registry);
        lagSeconds = DistributionSummary.builder("tidings_consumer_lag_seconds")
                .description("Age of the last event delivered to each catching-up session, sampled every second")
                .baseUnit("seconds").publishPercentileHistogram().maximumExpectedValue(86_400.0).register(registry);
    }

    /** Gauges read from the log (extent, disk) and the hub (sessions). */
    public void bindLog(EventLog log) {
        Gauge.builder("tidings_log_writable", () -> log.isWritable() ? 1 : 0)
                .description("1 while the log can commit appends (open, enough free disk)").register(registry);
        Gauge.builder("tidings_log_head_offset", () -> stats(log).head().index())
                .description("Index of the last committed event").register(registry);
        Gauge.builder("tidings_log_first_offset", () -> stats(log).first() == null ? 0 : stats(log).first().index())
                .description("Index of the first retained event").register(registry);
        Gauge.builder("tidings_log_first_event_timestamp_seconds", () -> stats(log).firstTimeMillis() / 1000.0)
                .description("Append time of the first retained event (Unix seconds)").register(registry);
        Gauge.builder("tidings_log_head_event_timestamp_seconds", () -> stats(log).headTimeMillis() / 1000.0)
                .description("Append time of the last committed event (Unix seconds)").register(registry);
        Gauge.builder("tidings_log_bytes", () -> stats(log).bytes()).baseUnit("bytes")
                .description("Size of the log's files").register(registry);
        Gauge.builder("tidings_log_files", () -> stats(log).files())
                .description("Number of log roll files").register(registry);
        Gauge.builder("tidings_log_events", () -> stats(log).events())
                .description("Retained events").register(registry);
    }

    /** Refreshes the cached log extent (called by the maintenance thread, so scrapes stay cheap). */
    public void refreshLog(EventLog log) {
        logStats = log.stats();
    }

    private LogStats stats(EventLog log) {
        LogStats s = logStats;
        if (s == null) logStats = s = log.stats();
        return s;
    }

    public void bindSessions(Supplier<Number> subscriptions, Supplier<Number> catchingUp) {
        Gauge.builder("tidings_subscriptions", subscriptions).description("Room subscriptions of all sessions").register(registry);
        Gauge.builder("tidings_sessions_catching_up", catchingUp)
                .description("Sessions currently served from the log (replaying or fallen behind)").register(registry);
    }

    private Counter counter(String name, String description, String... tags) {
        return counters.computeIfAbsent(name + String.join(",", tags),
                k -> Counter.builder(name).description(description).tags(tags).register(registry));
    }

    // ---- log ----
    public void appended(String outcome, long events) {
        counter("tidings_log_appended_events_total", "Events given to the log, by outcome (committed, duplicate, rejected, failed)",
                "outcome", outcome).increment(events);
    }

    public void appendTime(long nanos) {
        appendLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void retentionDeleted(int files) {
        counter("tidings_log_retention_deleted_files_total", "Log files deleted by retention").increment(files);
    }

    // ---- connections and subscriptions ----
    public void connectionOpened(String protocol) {
        connections.computeIfAbsent(protocol, p -> {
            AtomicLong n = new AtomicLong();
            Gauge.builder("tidings_connections", n, AtomicLong::get).description("Open client connections")
                    .tag("protocol", p).register(registry);
            return n;
        }).incrementAndGet();
    }

    public void connectionClosed(String protocol) {
        AtomicLong n = connections.get(protocol);
        if (n != null) n.decrementAndGet();
    }

    /** outcome: live, replay, gap, forbidden. */
    public void join(String protocol, String outcome) {
        counter("tidings_joins_total", "Room joins by outcome", "protocol", protocol, "outcome", outcome).increment();
    }

    /** outcome: recovered, gap (session-level resume of Socket.IO / AnyCable). */
    public void resume(String protocol, String outcome) {
        counter("tidings_resumes_total", "Session resumes by outcome", "protocol", protocol, "outcome", outcome).increment();
    }

    public void replayed(long events) {
        counter("tidings_replayed_events_total", "Events delivered from the log by catch-up (resume or slow client)").increment(events);
    }

    public void delivered(String protocol, long frames, long bytes) {
        counter("tidings_deliveries_total", "Event frames handed to client sockets", "protocol", protocol).increment(frames);
        counter("tidings_sent_bytes_total", "Bytes of event frames handed to client sockets", "protocol", protocol).increment(bytes);
    }

    public void deliveryLatency(long appendTimeMillis) {
        deliveryLatency.record(Math.max(0, System.currentTimeMillis() - appendTimeMillis), TimeUnit.MILLISECONDS);
    }

    public void lag(long events, double seconds) {
        lagEvents.record(events);
        lagSeconds.record(seconds);
    }

    public void slowClientDisconnect(String protocol) {
        counter("tidings_slow_client_disconnects_total", "Clients closed because they read nothing for the slow-client timeout",
                "protocol", protocol).increment();
    }

    public void lagged() {
        counter("tidings_sessions_fell_behind_total", "Times a live session's queue was full and it switched to reading the log").increment();
    }

    /** Connections closed by the ticker because their credentials expired (after the grace period). */
    public void expiredDisconnect(String protocol) {
        counter("tidings_expired_disconnects_total", "Connections closed because their credentials expired (after the grace period)",
                "protocol", protocol).increment();
    }

    /** reason: missing, invalid, expired, denied, unavailable. */
    public void authFailure(String protocol, String reason) {
        counter("tidings_auth_failures_total", "Rejected credentials", "protocol", protocol, "reason", reason).increment();
    }

    /** An API request authorized by key {@code name} (configured names only: bounded). scope: publish, audit. */
    public void apiKeyUsed(String name, String scope) {
        counter("tidings_api_key_requests_total", "HTTP API requests by key name and scope",
                "key", name, "scope", scope, "outcome", "ok").increment();
    }

    /** An API request refused because a room lies outside the key's prefixes. */
    public void apiKeyRefused(String name, String scope) {
        counter("tidings_api_key_requests_total", "HTTP API requests by key name and scope",
                "key", name, "scope", scope, "outcome", "forbidden_room").increment();
    }

    /** A refresh of the JWT public keys: source file or url; outcome ok, failed. */
    public void jwtKeysRefresh(String source, String outcome) {
        counter("tidings_jwt_key_refreshes_total", "Refreshes of the RS256/ES256 public keys by source and outcome",
                "source", source, "outcome", outcome).increment();
    }

    public void bindJwtKeys(Supplier<Number> keys) {
        Gauge.builder("tidings_jwt_public_keys", keys).description("Public keys currently accepted for RS256/ES256 tokens").register(registry);
    }

    /**
     * A call of the authorization webhook: kind connect, join; outcome allow, deny, error, timeout,
     * busy (refused without a call: too many in flight).
     */
    public void webhookRequest(String kind, String outcome, long nanos) {
        counter("tidings_webhook_requests_total", "Authorization webhook calls by kind and outcome",
                "kind", kind, "outcome", outcome).increment();
        if (!outcome.equals("busy")) {
            webhookTimers.computeIfAbsent(kind, k -> Timer.builder("tidings_webhook_request_seconds")
                    .description("Authorization webhook call duration").tag("kind", k)
                    .publishPercentileHistogram().minimumExpectedValue(Duration.ofMillis(1))
                    .maximumExpectedValue(Duration.ofSeconds(30)).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /** result: hit, miss. */
    public void webhookCache(String kind, String result) {
        counter("tidings_webhook_cache_total", "Authorization webhook questions answered from the cache (hit) or not (miss)",
                "kind", kind, "result", result).increment();
    }

    public void bindWebhook(Supplier<Number> inFlight, Supplier<Number> waiting) {
        Gauge.builder("tidings_webhook_in_flight", inFlight).description("Authorization webhook calls in flight").register(registry);
        Gauge.builder("tidings_webhook_waiting", waiting).description("Authorization webhook questions waiting for a free slot").register(registry);
    }

    /** An upgrade refused before it happened: reason rate, concurrent, blocked, capacity (HTTP 429) or origin (HTTP 403). */
    public void connectionRefused(String protocol, String reason) {
        counter("tidings_connections_refused_total", "WebSocket upgrades refused before the upgrade, by reason",
                "protocol", protocol, "reason", reason).increment();
    }

    /** An address was blocked for too many failed authentications. */
    public void addressBlocked() {
        counter("tidings_address_blocks_total", "Times a client address was blocked for too many failed authentications").increment();
    }

    public void bindTrackedAddresses(Supplier<Number> tracked) {
        Gauge.builder("tidings_tracked_addresses", tracked).description("Client addresses with per-address limit state").register(registry);
    }

    /**
     * Creates the security series at 0 so that rates and alerts see their first increment: refusals
     * before the upgrade and expiry closes for each protocol, address blocks.
     */
    public void declareConnectionSecurity(java.util.List<String> protocols) {
        for (String p : protocols) {
            for (String reason : new String[] {"rate", "concurrent", "blocked", "capacity", "origin"}) {
                counter("tidings_connections_refused_total", "WebSocket upgrades refused before the upgrade, by reason",
                        "protocol", p, "reason", reason);
            }
            counter("tidings_expired_disconnects_total", "Connections closed because their credentials expired (after the grace period)",
                    "protocol", p);
        }
        counter("tidings_address_blocks_total", "Times a client address was blocked for too many failed authentications");
    }

    /** The webhook's series at 0 (when one is configured). */
    public void declareWebhook() {
        for (String kind : new String[] {"connect", "join"}) {
            for (String outcome : new String[] {"allow", "deny", "error", "timeout", "busy"}) {
                counter("tidings_webhook_requests_total", "Authorization webhook calls by kind and outcome", "kind", kind, "outcome", outcome);
            }
        }
    }

    /** The key refresh series of a configured source (file, url) at 0. */
    public void declareJwtKeys(String source) {
        for (String outcome : new String[] {"ok", "failed"}) {
            counter("tidings_jwt_key_refreshes_total", "Refreshes of the RS256/ES256 public keys by source and outcome",
                    "source", source, "outcome", outcome);
        }
    }

    /** The config reload series at 0 (when a config file is watched). */
    public void declareConfigReloads() {
        for (String outcome : new String[] {"ok", "failed"}) {
            counter("tidings_config_reloads_total", "Reloads of the config file's keys by outcome", "outcome", outcome);
        }
    }

    /** A reload of the config file: outcome ok, failed (the old settings stay). */
    public void configReload(String outcome) {
        counter("tidings_config_reloads_total", "Reloads of the config file's keys by outcome", "outcome", outcome).increment();
    }

    public Timer httpTimer(String route, String method, int status) {
        return Timer.builder("tidings_http_request_seconds").description("HTTP requests by route and status")
                .tags("route", route, "method", method, "status", Integer.toString(status)).register(registry);
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition (format 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }
}

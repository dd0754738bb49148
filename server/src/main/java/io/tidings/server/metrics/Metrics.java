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
import io.tidings.storage.TailRepair;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Every metric Tidings exports, named {@code tidings_…} in base units, with labels of bounded
 * cardinality only (protocol, outcome, route, status class — never a room or a user). The one
 * class that knows the registry type (the Prometheus simpleclient registry), so it can be swapped.
 * Documented in docs/operations.md (section Metrics); the dashboards and alert rules in
 * {@code grafana/} and {@code ops/prometheus/} use these names and are checked against a running
 * gateway by {@code ops/check/run.sh}. Thread-safe.
 *
 * <p>Counters whose label values are known in advance are created at 0 when the meter (or the
 * protocol, {@link #protocol}) is registered, so that {@code rate()} and {@code increase()} see the
 * first increment and alerts fire on it; a series that appears only when it first counts would
 * hide that first burst.
 */
public final class Metrics {
    public static final String NATIVE = "native";
    /** Outcomes of {@link #appended}. */
    public static final List<String> APPEND_OUTCOMES = List.of("committed", "duplicate", "failed");
    /** Outcomes of {@link #join}. */
    public static final List<String> JOIN_OUTCOMES = List.of("live", "replay", "gap", "forbidden");
    /** Outcomes of {@link #resume}. */
    public static final List<String> RESUME_OUTCOMES = List.of("recovered", "gap");
    /** Outcomes of {@link #tlsReload}. */
    public static final List<String> TLS_RELOAD_OUTCOMES = List.of("reloaded", "failed");
    /** Reasons of {@link #authFailure}. */
    public static final List<String> AUTH_FAILURE_REASONS = List.of("missing", "invalid", "expired");
    /** Approximate bytes a record adds to its payload: header, lengths, checksum, Chronicle's document header. */
    public static final int RECORD_OVERHEAD_BYTES = 32;
    private static final String FELL_BEHIND = "tidings_sessions_fell_behind_total";
    private static final String FELL_BEHIND_HELP = "Times a live session's queue was full and it switched to reading the log";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final ConcurrentMap<MeterKey, Counter> counters = new ConcurrentHashMap<>();
    private final ConcurrentMap<MeterKey, Timer> httpTimers = new ConcurrentHashMap<>();
    /** Per protocol: {deliveries, sent bytes}, looked up once per delivery without building a key. */
    private final ConcurrentMap<String, Counter[]> deliveryCounters = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, AtomicLong> connections = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Timer> webhookTimers = new ConcurrentHashMap<>();
    /** Per scope, then key name: the counter of the key's accepted requests. */
    private final ConcurrentMap<String, ConcurrentMap<String, Counter>> apiKeyOk = new ConcurrentHashMap<>();
    private final Timer appendLatency;
    private final Timer deliveryLatency;
    private final DistributionSummary lagEvents;
    private final DistributionSummary lagSeconds;
    private volatile LogStats logStats;
    private final Counter appendedCommitted, appendedDuplicate, appendedBytes;

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
        for (String outcome : APPEND_OUTCOMES) {
            counter("tidings_log_appended_events_total", "Events given to the log, by outcome (committed, duplicate, failed)", "outcome", outcome);
        }
        appendedCommitted = counter("tidings_log_appended_events_total", "", "outcome", "committed");
        appendedDuplicate = counter("tidings_log_appended_events_total", "", "outcome", "duplicate");
        appendedBytes = counter("tidings_log_appended_bytes_total",
                "Approximate bytes of committed event records (data, type, rooms, producer id, record overhead)");
        retentionDeleted(0);
        replayed(0);
        counter(FELL_BEHIND, FELL_BEHIND_HELP);
        protocol(NATIVE, false);
    }

    /**
     * Registers a protocol adapter's series at 0: connections, deliveries, bytes sent, joins by
     * outcome, slow-client disconnects, auth failures by reason, and with {@code sessionResume}
     * (Socket.IO, AnyCable) resumes by outcome. Idempotent; the native protocol is registered by
     * the constructor.
     */
    public void protocol(String protocol, boolean sessionResume) {
        connections(protocol);
        delivered(protocol, 0, 0);
        for (String outcome : JOIN_OUTCOMES) joins(protocol, outcome);
        if (sessionResume) for (String outcome : RESUME_OUTCOMES) resumes(protocol, outcome);
        slowClientDisconnects(protocol);
        for (String reason : AUTH_FAILURE_REASONS) authFailures(protocol, reason);
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
        TailRepair repair = log.tailRepair();
        Gauge.builder("tidings_log_tail_dropped_records", () -> repair == null ? 0 : repair.damaged() + Math.max(repair.missing(), 0))
                .description("Records of a torn log tail dropped when this process opened the log (0: the tail was intact)")
                .register(registry);
    }

    /**
     * Gauges of the disk holding the log and of the retention and free-space settings, so alert
     * rules can compare the write rate with the configured retention and the disk (docs/operations.md, Sizing).
     */
    public void bindDisk(Path logDir, long minFreeBytes, long retentionMaxBytes, long retentionMaxAgeMs) {
        java.io.File dir = logDir.toFile();
        Gauge.builder("tidings_log_disk_free_bytes", dir::getUsableSpace)
                .description("Usable bytes on the file system that holds the log").register(registry);
        Gauge.builder("tidings_log_disk_min_free_bytes", () -> minFreeBytes)
                .description("Setting minFreeBytes: appends are refused below this much free space").register(registry);
        Gauge.builder("tidings_log_retention_max_bytes", () -> retentionMaxBytes)
                .description("Setting retentionMaxBytes: the log is trimmed to this size (0 = no size limit)").register(registry);
        Gauge.builder("tidings_log_retention_max_age_seconds", () -> retentionMaxAgeMs / 1000.0)
                .description("Setting retentionMaxAgeMs in seconds: older files are deleted (0 = keep forever)").register(registry);
    }

    /** TLS gauges and counters; only registered when the gateway serves TLS. */
    public void bindTls(Supplier<java.security.cert.X509Certificate> served) {
        Gauge.builder("tidings_tls_certificate_expiry_timestamp_seconds", () -> served.get().getNotAfter().getTime() / 1000.0)
                .description("Expiry (notAfter, Unix seconds) of the TLS certificate served now").register(registry);
        for (String outcome : TLS_RELOAD_OUTCOMES) tlsReload(outcome, 0);
    }

    /** outcome: reloaded (new certificate in use), failed (changed files that did not form a valid pair). */
    public void tlsReload(String outcome, int n) {
        counter("tidings_tls_reloads_total", "Changes of the TLS certificate/key files, by outcome", "outcome", outcome).increment(n);
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

    /** The dispatcher's recent events kept in memory for catch-ups ({@code recentEventsBytes}). */
    public void bindRecentEvents(Supplier<Number> events, Supplier<Number> bytes) {
        Gauge.builder("tidings_recent_events", events)
                .description("Latest events kept in memory for catch-ups (resumes and clients that fell behind)").register(registry);
        Gauge.builder("tidings_recent_events_bytes", bytes).baseUnit("bytes")
                .description("Bytes of those events: data and encoded frames (bounded by recentEventsBytes)").register(registry);
        for (String source : new String[] {"memory", "log"}) catchUpRead(source, 0);
    }

    /** A catch-up started reading: from the recent events in memory, or from the log (too far back). */
    public void catchUpRead(String source) {
        catchUpRead(source, 1);
    }

    private void catchUpRead(String source, long n) {
        counter("tidings_catch_ups_total", "Catch-ups (resumes, clients that fell behind) by where they started reading: memory, log",
                "source", source).increment(n);
    }

    private Counter counter(String name, String description, String... tags) {
        return counters.computeIfAbsent(new MeterKey(name, java.util.Arrays.asList(tags)),
                k -> Counter.builder(name).description(description).tags(tags).register(registry));
    }

    /**
     * A meter's name and tag values, the key of the caches in front of the registry: publishes and
     * deliveries look their counters up per request, and the registry's own lookup (a builder, sorted
     * tags, an id) cost more than the work it counted. Built from the caller's strings, no copies.
     */
    private record MeterKey(String name, List<String> tags) {}

    // ---- log ----
    /** outcome: committed, duplicate (a retried publish within the dedupe window), failed (log unavailable, disk full). */
    public void appended(String outcome, long events) {
        Counter c = switch (outcome) { // every publish counts: the common outcomes skip the lookup
            case "committed" -> appendedCommitted;
            case "duplicate" -> appendedDuplicate;
            default -> counter("tidings_log_appended_events_total", "Events given to the log, by outcome (committed, duplicate, failed)",
                    "outcome", outcome);
        };
        c.increment(events);
    }

    /** Approximate bytes written to the log by committed events (payload plus {@link #RECORD_OVERHEAD_BYTES} each). */
    public void appendedBytes(long bytes) {
        appendedBytes.increment(bytes);
    }

    // ---- cluster mode (docs/cluster.md) ----
    /** Gauges of the node's read replica of the Kafka log: the offset it applied and how far it trails. */
    public void bindCluster(LongSupplier replicaOffset, LongSupplier replicaLagEvents, LongSupplier consumersOpened) {
        Gauge.builder("tidings_cluster_consumers_opened", consumersOpened::getAsLong)
                .description("Kafka consumers this process has opened (one per node: resuming clients open none)").register(registry);
        Gauge.builder("tidings_cluster_replica_offset", replicaOffset::getAsLong)
                .description("Kafka offset of the last record this node's read replica has applied (-1: none)").register(registry);
        Gauge.builder("tidings_cluster_replica_lag_events", replicaLagEvents::getAsLong)
                .description("Kafka records committed but not yet applied by this node's read replica (high watermark minus position)")
                .register(registry);
    }

    /** Counts and times publishes to Kafka: {@code tidings_cluster_produce_seconds}, {@code tidings_cluster_produce_errors_total}. */
    public io.tidings.kafka.KafkaEventLog.Listener clusterListener() {
        Timer produce = Timer.builder("tidings_cluster_produce_seconds")
                .description("Time from sending a publish to Kafka to its acknowledgement by the in-sync replicas")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(30)).register(registry);
        Counter errors = counter("tidings_cluster_produce_errors_total", "Publishes Kafka did not commit (answered 503)");
        return new io.tidings.kafka.KafkaEventLog.Listener() {
            @Override
            public void produced(long nanos) {
                produce.record(nanos, TimeUnit.NANOSECONDS);
            }

            @Override
            public void produceFailed() {
                errors.increment();
            }
        };
    }

    public void appendTime(long nanos) {
        appendLatency.record(nanos, TimeUnit.NANOSECONDS);
    }

    public void retentionDeleted(int files) {
        counter("tidings_log_retention_deleted_files_total", "Log files deleted by retention").increment(files);
    }

    // ---- connections and subscriptions ----
    private AtomicLong connections(String protocol) {
        return connections.computeIfAbsent(protocol, p -> {
            AtomicLong n = new AtomicLong();
            Gauge.builder("tidings_connections", n, AtomicLong::get).description("Open client connections")
                    .tag("protocol", p).register(registry);
            return n;
        });
    }

    public void connectionOpened(String protocol) {
        connections(protocol).incrementAndGet();
    }

    public void connectionClosed(String protocol) {
        AtomicLong n = connections.get(protocol);
        if (n != null) n.decrementAndGet();
    }

    /** outcome: live, replay, gap, forbidden. */
    public void join(String protocol, String outcome) {
        joins(protocol, outcome).increment();
    }

    private Counter joins(String protocol, String outcome) {
        return counter("tidings_joins_total", "Room joins by outcome", "protocol", protocol, "outcome", outcome);
    }

    /** outcome: recovered, gap (session-level resume of Socket.IO / AnyCable). */
    public void resume(String protocol, String outcome) {
        resumes(protocol, outcome).increment();
    }

    private Counter resumes(String protocol, String outcome) {
        return counter("tidings_resumes_total", "Session resumes by outcome", "protocol", protocol, "outcome", outcome);
    }

    public void replayed(long events) {
        counter("tidings_replayed_events_total", "Events delivered from the log by catch-up (resume or slow client)").increment(events);
    }

    public void delivered(String protocol, long frames, long bytes) {
        Counter[] c = deliveryCounters.computeIfAbsent(protocol, p -> new Counter[] {
                counter("tidings_deliveries_total", "Event frames handed to client sockets", "protocol", p),
                counter("tidings_sent_bytes_total", "Bytes of event frames handed to client sockets", "protocol", p)});
        c[0].increment(frames);
        c[1].increment(bytes);
    }

    /** The I/O threads' lag (see {@link IoThreadLag}); registered on first use. */
    Timer ioThreadLag() {
        return Timer.builder("tidings_io_thread_lag_seconds")
                .description("How late a timer task due on an I/O thread ran: how long its connections were held up")
                .publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10)).register(registry);
    }

    public void deliveryLatency(long appendTimeMillis) {
        deliveryLatency.record(Math.max(0, System.currentTimeMillis() - appendTimeMillis), TimeUnit.MILLISECONDS);
    }

    public void lag(long events, double seconds) {
        lagEvents.record(events);
        lagSeconds.record(seconds);
    }

    public void slowClientDisconnect(String protocol) {
        slowClientDisconnects(protocol).increment();
    }

    private Counter slowClientDisconnects(String protocol) {
        return counter("tidings_slow_client_disconnects_total", "Clients closed because they read nothing for the slow-client timeout",
                "protocol", protocol);
    }

    public void lagged() {
        counter(FELL_BEHIND, FELL_BEHIND_HELP).increment();
    }

    /** Connections closed by the ticker because their credentials expired (after the grace period). */
    public void expiredDisconnect(String protocol) {
        counter("tidings_expired_disconnects_total", "Connections closed because their credentials expired (after the grace period)",
                "protocol", protocol).increment();
    }

    /** reason: missing, invalid, expired, denied, unavailable. */
    public void authFailure(String protocol, String reason) {
        authFailures(protocol, reason).increment();
    }

    private Counter authFailures(String protocol, String reason) {
        return counter("tidings_auth_failures_total", "Rejected credentials", "protocol", protocol, "reason", reason);
    }

    /** An API request authorized by key {@code name} (configured names only: bounded). scope: publish, audit. */
    public void apiKeyUsed(String name, String scope) {
        // every API request counts: by scope, then key name (both strings hash once), no key built
        ConcurrentMap<String, Counter> byName = apiKeyOk.get(scope);
        if (byName == null) byName = apiKeyOk.computeIfAbsent(scope, s -> new ConcurrentHashMap<>());
        Counter c = byName.get(name);
        if (c == null) c = byName.computeIfAbsent(name, n -> counter("tidings_api_key_requests_total",
                "HTTP API requests by key name and scope", "key", n, "scope", scope, "outcome", "ok"));
        c.increment();
    }

    /** An API request refused because a room lies outside the key's prefixes. */
    public void apiKeyRefused(String name, String scope) {
        counter("tidings_api_key_requests_total", "HTTP API requests by key name and scope",
                "key", name, "scope", scope, "outcome", "forbidden_room").increment();
    }

    /** An answer of the AnyCable broadcast endpoint, by HTTP status (201 = committed). */
    public void broadcastRequest(int status) {
        counter("tidings_broadcast_requests_total", "AnyCable broadcast requests by answer status (201 = committed)",
                "status", Integer.toString(status)).increment();
    }

    /** A presence query: api (GET /v1/presence), native, actioncable; outcome ok, forbidden, not_found. */
    public void presenceQuery(String source, String outcome) {
        counter("tidings_presence_queries_total", "Presence queries by source and outcome", "source", source, "outcome", outcome).increment();
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
        String code = Integer.toString(status);
        return httpTimers.computeIfAbsent(new MeterKey(route, List.of(method, code)), k ->
                Timer.builder("tidings_http_request_seconds").description("HTTP requests by route and status")
                        .tags("route", route, "method", method, "status", code).register(registry));
    }

    public MeterRegistry registry() {
        return registry;
    }

    /** The Prometheus text exposition (format 0.0.4). */
    public String scrape() {
        return registry.scrape();
    }

    /**
     * The current value of meter {@code name} summed over its series (0 if it has none): the
     * figure /metrics shows, read from the same meters (the console's overview uses it).
     */
    public double sum(String name) {
        double total = 0;
        for (io.micrometer.core.instrument.Meter m : registry.find(name).meters()) total += value(m);
        return total;
    }

    /** The current value of meter {@code name} per value of its label {@code tag}, summed over the other labels. */
    public java.util.Map<String, Double> sumBy(String name, String tag) {
        java.util.Map<String, Double> by = new java.util.TreeMap<>();
        for (io.micrometer.core.instrument.Meter m : registry.find(name).meters()) {
            String v = m.getId().getTag(tag);
            if (v != null) by.merge(v, value(m), Double::sum);
        }
        return by;
    }

    private static double value(io.micrometer.core.instrument.Meter m) {
        for (io.micrometer.core.instrument.Measurement x : m.measure()) return x.getValue();
        return 0;
    }
}

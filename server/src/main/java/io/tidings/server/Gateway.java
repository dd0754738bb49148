package io.tidings.server;

import io.tidings.server.auth.ApiKeys;
import io.tidings.server.auth.AuthWebhook;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.JwtKeys;
import io.tidings.server.auth.TokenVerifier;
import io.tidings.server.guard.Cidrs;
import io.tidings.server.guard.ClientAddresses;
import io.tidings.server.guard.ConnectionLimits;
import io.tidings.server.guard.Guard;
import io.tidings.server.guard.OriginPolicy;
import io.tidings.server.http.ApiAuth;
import io.tidings.server.http.ApiError;
import io.tidings.server.http.HttpMetricsHandler;
import io.tidings.server.http.PublishHandler;
import io.tidings.server.http.ReplayHandler;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.HubSettings;
import io.tidings.server.metrics.Metrics;
import io.tidings.server.tls.ReloadingKeyManager;
import io.tidings.server.ws.CredentialNames;
import io.tidings.server.ws.NativeEndpoint;
import io.tidings.server.ws.UpgradeGate;
import io.tidings.server.ws.WebSocketSettings;
import io.tidings.server.ws.cable.CableEndpoint;
import io.tidings.server.ws.cable.CableSettings;
import io.tidings.server.ws.cable.ChannelRoutes;
import io.tidings.kafka.KafkaEventLog;
import io.tidings.kafka.KafkaLogConfig;
import io.tidings.kafka.KafkaSessionTable;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogConfig;
import io.tidings.storage.Retention;
import io.tidings.storage.SessionTable;
import io.undertow.Handlers;
import io.undertow.Undertow;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.server.handlers.PathHandler;
import io.undertow.util.Headers;
import io.undertow.util.Methods;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.net.ssl.SSLContext;

/**
 * One running Tidings: the log, the hub and an Undertow server with the HTTP API and the WebSocket
 * endpoints on one port. {@link #close()} is the graceful shutdown: WebSockets are closed with 1001
 * so clients resume elsewhere, the listener stops, the log is closed cleanly.
 *
 * <p>Thread safety: start and close from one thread; everything else runs on Undertow's threads.
 */
public final class Gateway implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Gateway.class.getName());
    static final long RETENTION_INTERVAL_SECONDS = 30;
    static final long METRICS_REFRESH_SECONDS = 5;
    static final long LIMITS_SWEEP_SECONDS = 10;

    private final GatewayConfig config;
    private final EventLog log;
    private final io.tidings.server.metrics.IoThreadLag ioThreadLag;
    /** Cluster mode: session state shared by every node; null on the embedded log. */
    private final SessionTable sessions;
    private final Hub hub;
    private final io.tidings.server.hub.PresenceEvents presenceEvents;
    private final Metrics metrics = new Metrics();
    private final Undertow server;
    private final ScheduledExecutorService maintenance;
    private final DevCredentials devCredentials;
    private final String jwtSecret;
    private volatile ApiKeys keys;
    private final io.tidings.server.ws.socketio.SocketIoEndpoint socketIo;
    private final Authenticator authenticator;
    private final JwtKeys jwtKeys;
    private final AuthWebhook webhook;
    private final ConnectionLimits limits;
    private final int port;
    private final ReloadingKeyManager tls;
    private boolean closed;

    private Gateway(GatewayConfig config) throws IOException {
        this.config = config;
        boolean needDev = config.jwtSecret.isEmpty() || !configuredKeys(config).any(ApiKeys.Scope.PUBLISH)
                || !configuredKeys(config).any(ApiKeys.Scope.AUDIT);
        this.devCredentials = needDev ? DevCredentials.loadOrCreate(config.dataDir) : null;
        this.jwtSecret = config.jwtSecret.isEmpty() ? devCredentials.jwtSecret() : config.jwtSecret;
        this.keys = apiKeys(config);
        this.jwtKeys = jwtKeys(config, metrics);
        TokenVerifier tokens = new TokenVerifier(jwtSecret, jwtKeys, config.jwtIssuer, config.jwtAudience);
        this.webhook = config.authWebhookUrl.isEmpty() ? null : new AuthWebhook(httpUrl("authWebhookUrl", config.authWebhookUrl),
                config.authWebhookSecret, config.authWebhookTimeoutMs, config.authWebhookCacheTtlMs, config.authWebhookMaxConcurrent,
                config.authWebhookQueueWaitMs, metrics);
        this.limits = new ConnectionLimits(new ConnectionLimits.Settings(config.maxConnectionsPerIp, config.connectRatePerIpPerSecond,
                config.connectBurstPerIp, config.maxAuthFailuresPerIp, config.authFailureWindowMs, config.authFailureBlockMs,
                new Cidrs(config.limitExemptCidrs)), metrics);
        Guard guard = new Guard(new ClientAddresses(new Cidrs(config.trustedProxyCidrs)), limits, new OriginPolicy(config.allowedOrigins));
        ApiAuth apiAuth = new ApiAuth(() -> keys, guard.addresses(), limits, metrics);
        List<String> protocols = new java.util.ArrayList<>(List.of(Metrics.NATIVE, io.tidings.server.ws.socketio.SocketIoEndpoint.METRIC_LABEL,
                io.tidings.server.sse.SseEndpoint.PROTOCOL));
        if (!config.cablePath.isEmpty()) protocols.add("actioncable");
        metrics.declareConnectionSecurity(protocols);
        this.authenticator = new Authenticator(() -> tokens, webhook, limits, metrics, config.credentialsGraceMs);
        CredentialNames credentialNames = new CredentialNames(config.authWebhookCookies, config.authWebhookHeaders);
        ChannelRoutes cableChannels = new ChannelRoutes(config.cableChannels); // checked before the log opens

        this.log = openLog(config, metrics);
        this.sessions = openSessions(config);
        if (log.tailRepair() != null) LOG.warning("log recovery: " + log.tailRepair().describe());
        this.metrics.bindLog(log);
        this.metrics.bindDisk(logDir(config), config.minFreeBytes, config.retentionMaxBytes, config.retentionMaxAgeMs);
        this.presenceEvents = new io.tidings.server.hub.PresenceEvents(log, config.presenceEventRooms);
        this.hub = new Hub(log, new HubSettings(config.outboundBufferBytes, config.slowClientTimeoutMs,
                HubSettings.DEFAULTS.catchUpBatchEvents(), config.recentEventsBytes), metrics,
                new io.tidings.server.hub.Presence(config.presenceLeaveDelayMs, presenceEvents));
        WebSocketSettings ws = new WebSocketSettings(config.maxInboundFrameBytes, config.pingIntervalMs,
                config.idleTimeoutMs, 256);
        this.socketIo = new io.tidings.server.ws.socketio.SocketIoEndpoint(hub, authenticator,
                io.tidings.server.ws.socketio.SocketIoSettings.of(config), sessions);

        PathHandler routes = Handlers.path()
                // Socket.IO authenticates at its CONNECT packet, after the upgrade
                .addPrefixPath(config.socketIoPath, new UpgradeGate(io.tidings.server.ws.socketio.SocketIoEndpoint.METRIC_LABEL, authenticator, credentialNames, guard, metrics, false, socketIo))
                .addExactPath("/v1/events", byMethod(
                        new PublishHandler(log, apiAuth, new io.tidings.server.http.PublishParser(config.maxEventBytes, config.maxBatchEvents), config.maxBodyBytes,
                                config.bodyReadTimeoutMs, metrics, appendsWithoutWaiting(config)),
                        new ReplayHandler(log, apiAuth, metrics)))
                .addExactPath("/v1/presence", new io.tidings.server.http.PresenceHandler(hub.presence(), apiAuth, metrics))
                .addExactPath("/v1/ws", new UpgradeGate(Metrics.NATIVE, authenticator, credentialNames, guard, metrics, true,
                        Handlers.websocket(new NativeEndpoint(hub, authenticator, ws))))
                .addExactPath(io.tidings.server.sse.SseEndpoint.PATH, UpgradeGate.forStream(io.tidings.server.sse.SseEndpoint.PROTOCOL, authenticator, credentialNames, guard, metrics,
                        new io.tidings.server.sse.SseEndpoint(hub, authenticator, ws.maxRoomsPerConnection(), config.pingIntervalMs)))
                .addExactPath("/healthz", json(200, "{\"status\":\"ok\"}"))
                .addExactPath("/readyz", this::ready)
                .addExactPath("/metrics", exchange -> {
                    exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, io.prometheus.client.exporter.common.TextFormat.CONTENT_TYPE_004);
                    exchange.getResponseSender().send(metrics.scrape());
                });
        if (config.consoleEnabled) {
            routes.addPrefixPath(io.tidings.server.console.ConsoleHandler.PATH, new io.tidings.server.console.ConsoleHandler(
                    new io.tidings.server.console.ConsoleApi(log, hub, metrics, apiAuth, java.util.Map.of(
                            "retentionMaxAgeMs", config.retentionMaxAgeMs, "retentionMaxBytes", config.retentionMaxBytes,
                            "minFreeBytes", config.minFreeBytes, "outboundBufferBytes", config.outboundBufferBytes,
                            "slowClientTimeoutMs", config.slowClientTimeoutMs))));
        }
        if (!config.cablePath.isEmpty()) {
            routes.addExactPath(config.cablePath, new UpgradeGate("actioncable", authenticator, credentialNames, guard, metrics, true,
                    cableEndpoint(config, cableChannels).handler()));
            if (!config.broadcastPath.isEmpty()) {
                routes.addExactPath(config.broadcastPath, new io.tidings.server.ws.cable.BroadcastEndpoint(new PublishHandler(log, apiAuth,
                        new io.tidings.server.ws.cable.BroadcastFormat(cableChannels, config.maxEventBytes, config.maxBatchEvents),
                        config.maxBodyBytes, config.bodyReadTimeoutMs, metrics, appendsWithoutWaiting(config)), metrics));
            }
        }
        HttpHandler timed = new HttpMetricsHandler(routes, metrics,
                java.util.stream.Stream.of("/v1/events", "/v1/presence", "/v1/ws", "/v1/sse", "/healthz", "/readyz", "/metrics", "/console", config.cablePath,
                        config.socketIoPath, config.broadcastPath).filter(p -> !p.isEmpty()).toList()); // an empty path is a disabled endpoint
        this.tls = tlsIdentity(config);
        Undertow.Builder builder = Undertow.builder();
        if (tls == null) builder.addHttpListener(config.port, config.host);
        else builder.addHttpsListener(config.port, config.host, tlsContext(tls));
        this.server = builder
                // Undertow's own body limit (2 MiB by default) must not undercut maxBodyBytes.
                .setServerOption(io.undertow.UndertowOptions.MAX_ENTITY_SIZE, (long) config.maxBodyBytes + 1)
                .setHandler(timed)
                .build();
        this.server.start();
        this.ioThreadLag = io.tidings.server.metrics.IoThreadLag.start(server.getWorker(), metrics);
        this.port = ((InetSocketAddress) server.getListenerInfo().get(0).getAddress()).getPort();
        this.maintenance = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tidings-retention");
            t.setDaemon(true);
            return t;
        });
        maintenance.scheduleWithFixedDelay(this::enforceRetention, 0, RETENTION_INTERVAL_SECONDS, TimeUnit.SECONDS);
        maintenance.scheduleWithFixedDelay(() -> metrics.refreshLog(log), 0, METRICS_REFRESH_SECONDS, TimeUnit.SECONDS);
        maintenance.scheduleWithFixedDelay(limits::sweep, LIMITS_SWEEP_SECONDS, LIMITS_SWEEP_SECONDS, TimeUnit.SECONDS);
        if (config.source() != null && config.configReloadIntervalMs > 0) {
            ConfigReloader reloader = new ConfigReloader(config.source(), System.getenv(), this::reloadKeys, metrics);
            maintenance.scheduleWithFixedDelay(reloader::check, config.configReloadIntervalMs, config.configReloadIntervalMs,
                    TimeUnit.MILLISECONDS);
        }
        if (tls != null) {
            metrics.bindTls(() -> tls.current().leaf());
            maintenance.scheduleWithFixedDelay(this::reloadTls, config.tlsReloadIntervalMs, config.tlsReloadIntervalMs, TimeUnit.MILLISECONDS);
        }
    }

    /** The TLS identity when tlsCertFile and tlsKeyFile are set (both or neither), else null. */
    private static ReloadingKeyManager tlsIdentity(GatewayConfig config) throws IOException {
        if (config.tlsCertFile == null && config.tlsKeyFile == null) return null;
        if (config.tlsCertFile == null || config.tlsKeyFile == null) {
            throw new IllegalArgumentException("set both tlsCertFile and tlsKeyFile (or neither, for plain HTTP)");
        }
        try {
            return new ReloadingKeyManager(config.tlsCertFile, config.tlsKeyFile);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("TLS: " + e.getMessage(), e);
        }
    }

    private static SSLContext tlsContext(ReloadingKeyManager tls) {
        try {
            return tls.sslContext();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("TLS: " + e.getMessage(), e);
        }
    }

    private void reloadTls() {
        switch (tls.reloadIfChanged()) {
            case RELOADED -> metrics.tlsReload("reloaded", 1);
            case FAILED -> metrics.tlsReload("failed", 1);
            case UNCHANGED -> { }
        }
    }

    /** "https" when serving TLS, else "http". */
    public String scheme() {
        return tls == null ? "http" : "https";
    }

    /** The TLS identity, or null for plain HTTP. */
    public ReloadingKeyManager tls() {
        return tls;
    }

    /** The RS256/ES256 key sources, or null if none is configured. */
    private static JwtKeys jwtKeys(GatewayConfig config, Metrics metrics) {
        if (config.jwtPublicKeyFile.isEmpty() && config.jwksFile.isEmpty() && config.jwksUrl.isEmpty()) return null;
        URI url = config.jwksUrl.isEmpty() ? null : httpUrl("jwksUrl", config.jwksUrl);
        return new JwtKeys(config.jwtPublicKeyFile.isEmpty() ? null : Path.of(config.jwtPublicKeyFile),
                config.jwksFile.isEmpty() ? null : Path.of(config.jwksFile), url, config.jwksRefreshIntervalMs,
                config.jwksMinRefreshIntervalMs, config.jwksTimeoutMs, metrics);
    }

    private static URI httpUrl(String setting, String value) {
        URI url;
        try {
            url = URI.create(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting + " is not a URL: " + value);
        }
        if (!"https".equals(url.getScheme()) && !"http".equals(url.getScheme())) {
            throw new IllegalArgumentException(setting + " must be an http(s) URL: " + value);
        }
        return url;
    }

    /** The keys the configuration names (apiKeys plus the unrestricted lists), without dev keys. */
    private static ApiKeys configuredKeys(GatewayConfig config) {
        return new ApiKeys(config.apiKeys, config.publishKeys, config.auditKeys);
    }

    /** The API keys in force: the configured ones, plus a dev key for a scope no configured key has. */
    private ApiKeys apiKeys(GatewayConfig config) {
        List<ApiKeys.Spec> specs = new ArrayList<>(config.apiKeys);
        ApiKeys configured = configuredKeys(config);
        if (devCredentials != null && !configured.any(ApiKeys.Scope.PUBLISH)) {
            specs.add(new ApiKeys.Spec("dev-publish", devCredentials.publishKey(), List.of(ApiKeys.Scope.PUBLISH), List.of()));
        }
        if (devCredentials != null && !configured.any(ApiKeys.Scope.AUDIT)) {
            specs.add(new ApiKeys.Spec("dev-audit", devCredentials.auditKey(), List.of(ApiKeys.Scope.AUDIT), List.of()));
        }
        return new ApiKeys(specs, config.publishKeys, config.auditKeys);
    }

    /** The config file changed: take its keys (validated first; an invalid set throws and changes nothing). */
    private void reloadKeys(GatewayConfig changed) {
        ApiKeys next = apiKeys(changed);
        ApiKeys previous = keys;
        keys = next;
        LOG.info("API keys reloaded from " + changed.source() + ": " + next.keys().stream().map(ApiKeys.ApiKey::name).toList()
                + " (were " + previous.keys().stream().map(ApiKeys.ApiKey::name).toList() + ")");
    }

    private CableEndpoint cableEndpoint(GatewayConfig config, ChannelRoutes channels) {
        WebSocketSettings socket = new WebSocketSettings(config.maxInboundFrameBytes, config.cablePingIntervalMs, config.idleTimeoutMs, 256);
        return new CableEndpoint(hub, authenticator, new CableSettings(socket, config.pingIntervalMs, channels, config.cableDisconnectFrames,
                config.cableSessionTtlMs, config.cableMaxRestorableSessions), sessions);
    }

    static final String CHRONICLE = "chronicle";
    static final String KAFKA = "kafka";

    /**
     * True when an append never waits on a disk flush or the network (the embedded log under
     * process_crash durability): only then may a small publish be answered on the I/O thread.
     */
    private static boolean appendsWithoutWaiting(GatewayConfig config) {
        return CHRONICLE.equals(config.log) && config.durability == io.tidings.storage.Durability.PROCESS_CRASH;
    }

    /**
     * The embedded Chronicle log on {@code dataDir/log}, or in cluster mode the Kafka log with its
     * read replica on {@code dataDir/kafka-replica} (docs/cluster.md). Only cluster mode connects out,
     * and only to {@code kafkaBootstrapServers}.
     */
    private static EventLog openLog(GatewayConfig config, Metrics metrics) {
        switch (config.log) {
            case CHRONICLE:
                return EventLog.open(LogConfig.at(logDir(config))
                        .withDurability(config.durability)
                        .withRoll(config.rollPeriod)
                        .withRetention(new Retention(config.retentionMaxAgeMs, config.retentionMaxBytes))
                        .withDedupe(config.dedupeWindowMs, LogConfig.DEFAULT_DEDUPE_MAX_IDS)
                        .withMinFreeBytes(config.minFreeBytes));
            case KAFKA:
                if (config.kafkaBootstrapServers.isBlank()) {
                    throw new IllegalArgumentException("log: kafka needs kafkaBootstrapServers");
                }
                KafkaEventLog kafka = KafkaEventLog.open(new KafkaLogConfig(config.kafkaBootstrapServers, config.kafkaTopic,
                        logDir(config), config.kafkaProduceTimeoutMs, config.dedupeWindowMs, LogConfig.DEFAULT_DEDUPE_MAX_IDS,
                        config.kafkaLingerMs),
                        metrics.clusterListener());
                metrics.bindCluster(kafka::replicaOffset, kafka::replicaLagEvents, KafkaEventLog::consumersOpened);
                return kafka;
            default:
                throw new IllegalArgumentException("log must be chronicle or kafka, not " + config.log);
        }
    }

    /** Cluster mode: the session table every node shares (docs/cluster.md, "Session state"); otherwise null. */
    private static SessionTable openSessions(GatewayConfig config) {
        if (!KAFKA.equals(config.log)) return null;
        String topic = config.kafkaSessionsTopic.isBlank() ? config.kafkaTopic + "-sessions" : config.kafkaSessionsTopic;
        return KafkaSessionTable.open(config.kafkaBootstrapServers, topic, config.kafkaTopic, config.kafkaProduceTimeoutMs);
    }

    private static Path logDir(GatewayConfig config) {
        return config.dataDir.resolve(KAFKA.equals(config.log) ? "kafka-replica" : "log");
    }

    public static Gateway start(GatewayConfig config) throws IOException {
        return new Gateway(config);
    }

    private void enforceRetention() {
        try {
            int deleted = log.enforceRetention();
            metrics.retentionDeleted(deleted);
            if (deleted > 0) LOG.info("retention deleted " + deleted + " log file(s); first offset now " + log.firstAvailable());
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "retention failed", e);
        }
    }

    private void ready(HttpServerExchange exchange) {
        if (log instanceof KafkaEventLog kafka && !kafka.caughtUp()) {
            new ApiError(503, "catching_up", "this node's replica is still applying what Kafka had committed when it started ("
                    + kafka.replicaLagEvents() + " records to go)").send(exchange);
        } else if (log.isWritable()) {
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            exchange.getResponseSender().send("{\"status\":\"ready\"}");
        } else new ApiError(503, "not_ready", "the log cannot commit (closed or disk full)").send(exchange);
    }

    private static HttpHandler byMethod(HttpHandler post, HttpHandler get) {
        return exchange -> {
            if (exchange.getRequestMethod().equals(Methods.POST)) post.handleRequest(exchange);
            else if (exchange.getRequestMethod().equals(Methods.GET)) get.handleRequest(exchange);
            else {
                exchange.getResponseHeaders().put(Headers.ALLOW, "GET, POST");
                new ApiError(405, "method_not_allowed", "use GET or POST").send(exchange);
            }
        };
    }

    private static HttpHandler json(int status, String body) {
        return exchange -> {
            exchange.setStatusCode(status);
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            exchange.getResponseSender().send(body);
        };
    }

    public int port() {
        return port;
    }

    public EventLog log() {
        return log;
    }

    public Metrics metrics() {
        return metrics;
    }

    public Hub hub() {
        return hub;
    }

    public String jwtSecret() {
        return jwtSecret;
    }

    public Authenticator authenticator() {
        return authenticator;
    }

    public DevCredentials devCredentials() {
        return devCredentials;
    }

    public GatewayConfig config() {
        return config;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        maintenance.shutdownNow();
        ioThreadLag.close();
        if (jwtKeys != null) jwtKeys.close();
        if (webhook != null) webhook.close();
        hub.shutdown(new CloseReason(CloseReason.Kind.GOING_AWAY, "server shutting down; reconnect and resume"));
        socketIo.close();
        try {
            Thread.sleep(200); // let the close frames leave
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        server.stop();
        hub.presence().leaveAll(); // the pending leaves of the closed sessions, before the log closes
        presenceEvents.close();
        if (sessions != null) sessions.close();
        log.close();
    }
}

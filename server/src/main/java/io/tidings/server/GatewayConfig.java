package io.tidings.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tidings.server.auth.ApiKeys;
import io.tidings.server.ws.cable.DisconnectFrames;
import io.tidings.storage.Durability;
import io.tidings.storage.RollPeriod;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every setting of the gateway, in one place, with units in the names. Sources, weakest first:
 * these defaults, the YAML file ({@code --config}), {@code TIDINGS_*} environment variables (the
 * field name in upper snake case: {@code outboundBufferBytes} → {@code TIDINGS_OUTBOUND_BUFFER_BYTES};
 * lists comma-separated), command-line flags. Not thread-safe: built once at start-up.
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public final class GatewayConfig {
    public String host = "0.0.0.0";
    /** 0 = any free port (printed at start). */
    public int port = 8080;
    public Path dataDir = Path.of("data");

    public Durability durability = Durability.PROCESS_CRASH;
    public RollPeriod rollPeriod = RollPeriod.HOURLY;
    /** Events older than this are deleted (whole files). 0 = keep forever. Default 7 days. */
    public long retentionMaxAgeMs = 7L * 24 * 3600 * 1000;
    /** The log's files are trimmed to this total size. 0 = no limit. */
    public long retentionMaxBytes = 0;
    /** Appends fail with 503 once the data disk has less free space than this. */
    public long minFreeBytes = 64L << 20;
    public long dedupeWindowMs = 5 * 60_000L;

    /** Which log the gateway runs on: {@code chronicle} (embedded, on dataDir) or {@code kafka} (cluster mode, docs/cluster.md). */
    public String log = "chronicle";
    /** Cluster mode: {@code host:port,...} of the Kafka brokers (the gateway connects nowhere else). */
    public String kafkaBootstrapServers = "";
    /** Cluster mode: the events topic (one partition; replication factor 3, min.insync.replicas 2). */
    public String kafkaTopic = "tidings-events";
    /**
     * Cluster mode: the compacted topic of session state every node can resume from (Socket.IO
     * recovery records, restorable cable sessions); empty: {@code <kafkaTopic>-sessions}. Created if missing.
     */
    public String kafkaSessionsTopic = "";
    /** Cluster mode: a publish Kafka has not committed within this gets 503. */
    public long kafkaProduceTimeoutMs = 10_000;
    /**
     * Cluster mode: how long the Kafka producer waits to send concurrent publishes in one request
     * (Kafka's linger.ms, 0–1000). Each publish may wait this long; under many concurrent
     * single-event publishes, 5 halved the brokers' CPU here (docs/benchmarks.md).
     */
    public int kafkaLingerMs = 1;

    /** Largest event (its JSON data) accepted by POST /v1/events. */
    public int maxEventBytes = 64 * 1024;
    /** Largest POST /v1/events body. */
    public int maxBodyBytes = 8 << 20;
    /** How long a POST /v1/events body may take to arrive before the connection is closed. */
    public long bodyReadTimeoutMs = 30_000;
    /** Most events in one POST. */
    public int maxBatchEvents = 10_000;
    /** Largest frame a WebSocket client may send. */
    public int maxInboundFrameBytes = 64 * 1024;

    /** Socket.IO endpoint (Engine.IO v4, WebSocket transport only); clients connect to {@code <path>?EIO=4&transport=websocket}. */
    public String socketIoPath = "/socket.io/";
    /** The server sends an Engine.IO ping ({@code 2}) this long after the previous pong (or the open packet). */
    public long socketIoPingIntervalMs = 25_000;
    /** A Socket.IO connection that does not answer a ping with a pong ({@code 3}) within this is closed. */
    public long socketIoPingTimeoutMs = 20_000;
    /** Largest Engine.IO packet a Socket.IO client may send (announced as maxPayload in the open packet). */
    public int socketIoMaxPayloadBytes = 64 * 1024;
    /** A Socket.IO connection that has not connected to a namespace within this is closed. */
    public long socketIoConnectTimeoutMs = 45_000;
    /** How long a disconnected Socket.IO session (pid) stays recoverable; capped at retentionMaxAgeMs. */
    public long socketIoSessionTtlMs = 10 * 60_000L;

    /** Bytes queued to one client before it is served from the log at its own pace. */
    public long outboundBufferBytes = 1 << 20;
    /**
     * Bytes of the latest events (data and encoded frames) kept in memory, so that resuming clients
     * and clients that fell a little behind are served without reading the log; 0 turns it off.
     */
    public long recentEventsBytes = 16 << 20;
    /** A client whose queued frames made no progress for this long is closed with 4008. */
    public long slowClientTimeoutMs = 30_000;
    /** The server pings each WebSocket this often. */
    public long pingIntervalMs = 25_000;
    /** A WebSocket that sent nothing (not even a pong) for this long is closed. */
    public long idleTimeoutMs = 60_000;

    /** Serve the web console under /console/ (docs/operations.md, "Console"); false answers 404 there. */
    public boolean consoleEnabled = true;

    /** Path of the ActionCable endpoint (docs/protocol.md, "ActionCable"); empty disables it. */
    public String cablePath = "/cable";
    /** ActionCable {@code {"type":"ping"}} interval; clients reconnect after 6 s without one. */
    public long cablePingIntervalMs = 3_000;
    /**
     * ActionCable channel → room template: {@code {param}} takes an identifier parameter,
     * {@code {$sub}} the token's subject. Setting it replaces the whole map. Environment:
     * {@code Channel=template,Channel2=template2}.
     */
    public Map<String, String> cableChannels = new LinkedHashMap<>(Map.of("NotificationsChannel", "user/{$sub}"));
    /** What ActionCable clients are told before a close: STANDARD (Rails 6+), LEGACY_SAFE (also safe for the 5.2 client), NONE. */
    public DisconnectFrames cableDisconnectFrames = DisconnectFrames.STANDARD;
    /** How long an ended extended-protocol (AnyCable) session can be restored by its sid; 0 = never. */
    public long cableSessionTtlMs = 5 * 60_000L;
    /** Most ended ActionCable sessions kept for restore (oldest dropped first). */
    public int cableMaxRestorableSessions = 100_000;
    /**
     * Path of the AnyCable-compatible broadcast endpoint (docs/protocol.md, "AnyCable broadcast"):
     * what a Rails app's {@code ActionCable.server.broadcast} POSTs under AnyCable's HTTP adapter,
     * with a publish key as its broadcast key. Empty disables it; so does an empty {@link #cablePath}.
     */
    public String broadcastPath = "/_broadcast";
    /**
     * Room prefixes whose presence joins and leaves are appended to the log as {@code presence}
     * events (docs/protocol.md, "Presence"); empty (the default) appends none.
     */
    public List<String> presenceEventRooms = new ArrayList<>();
    /** A subject's leave is announced this long after its last connection went, unless it is back by then. */
    public long presenceLeaveDelayMs = 5_000;
    /**
     * PEM certificate chain (server certificate first) for HTTPS/WSS on {@link #port}. With
     * {@link #tlsKeyFile} set, the gateway serves TLS instead of plain HTTP. Default: plain HTTP
     * (behind a TLS-terminating proxy).
     */
    public Path tlsCertFile = null;
    /** PEM private key (unencrypted PKCS#8, or PKCS#1 RSA) of {@link #tlsCertFile}. */
    public Path tlsKeyFile = null;
    /** How often the two TLS files are re-read; a changed, valid pair replaces the certificate without a restart. */
    public long tlsReloadIntervalMs = 10_000;

    // ---- authentication and authorization (docs/security.md) ----

    /**
     * A connection whose credentials expire is closed this long after the expiry (native: 4001,
     * ActionCable: disconnect "unauthorized"); joins are refused from the expiry on.
     */
    public long credentialsGraceMs = 30_000;
    /** HS256 secret for subscriber tokens (at least 32 bytes). Empty: dev credentials in the data dir. */
    public String jwtSecret = "";
    /** PEM file of public keys or certificates (RSA, EC P-256) for RS256/ES256 tokens; re-read when it changes. Empty: none. */
    public String jwtPublicKeyFile = "";
    /** JWKS file for RS256/ES256 tokens; re-read when it changes. Empty: none. */
    public String jwksFile = "";
    /** JWKS URL (an identity provider's {@code jwks_uri}) for RS256/ES256 tokens. Empty: none (no outbound connection). */
    public String jwksUrl = "";
    /** How often {@code jwksUrl} is fetched. */
    public long jwksRefreshIntervalMs = 5 * 60_000L;
    /** A token with an unknown {@code kid} refreshes the keys early, at most this often. */
    public long jwksMinRefreshIntervalMs = 30_000;
    /** Timeout of one {@code jwksUrl} fetch. */
    public long jwksTimeoutMs = 5_000;
    /** Required {@code iss} of RS256/ES256 tokens; empty = not checked. */
    public String jwtIssuer = "";
    /** Required {@code aud} of RS256/ES256 tokens; empty = not checked. */
    public String jwtAudience = "";

    /**
     * The authorization webhook (docs/security.md): POSTed the credentials a client presents at
     * connect (to learn who it is) and at joins its grants do not cover (to learn whether it may).
     * Empty: none (no outbound connection).
     */
    public String authWebhookUrl = "";
    /** Sent to the webhook as {@code Authorization: Bearer <secret>}, so the application knows the call is the gateway's. */
    public String authWebhookSecret = "";
    /** Cookies of the upgrade request passed to the webhook (e.g. a session cookie such as {@code connect.sid}). */
    public List<String> authWebhookCookies = new ArrayList<>();
    /** Headers of the upgrade request passed to the webhook (e.g. {@code X-Api-Token}). */
    public List<String> authWebhookHeaders = new ArrayList<>();
    /** A webhook call that has not answered within this is an error: the client is refused. */
    public long authWebhookTimeoutMs = 2_000;
    /** Webhook answers (allow and deny) are reused this long for the same credentials (and room); 0 = never. */
    public long authWebhookCacheTtlMs = 30_000;
    /** Most webhook calls in flight at once. */
    public int authWebhookMaxConcurrent = 16;
    /** A question that finds every slot taken waits this long for one, then is refused (fail closed). */
    public long authWebhookQueueWaitMs = 1_000;

    // ---- abuse limits (per client address; 0 = off) ----

    /**
     * Web origins allowed to open WebSockets that authenticate with cookies (the {@code Authorization}
     * cookie or {@code authWebhookCookies}): exact origins ({@code https://app.example.com}), wildcard
     * subdomains ({@code https://*.example.com}) or {@code *}. Empty: the same origin only. Others get 403.
     */
    public List<String> allowedOrigins = new ArrayList<>();
    /** Most WebSocket connections open at once from one address (HTTP 429 above). */
    public int maxConnectionsPerIp = 1_000;
    /** Sustained WebSocket upgrades per second from one address (HTTP 429 above). */
    public double connectRatePerIpPerSecond = 20;
    /** Upgrades one address may make in a burst before the rate applies. */
    public int connectBurstPerIp = 200;
    /** Failed authentications (invalid or denied credentials) from one address within {@code authFailureWindowMs} that block it. */
    public int maxAuthFailuresPerIp = 20;
    public long authFailureWindowMs = 60_000;
    /** How long a blocked address gets HTTP 429 (WebSocket upgrades and the HTTP API). */
    public long authFailureBlockMs = 60_000;
    /** Addresses never limited. Default: loopback (local tools; a same-host proxy needs trustedProxyCidrs to be limited per client). */
    public List<String> limitExemptCidrs = new ArrayList<>(List.of("127.0.0.0/8", "::1/128"));
    /** Reverse proxies whose {@code X-Forwarded-For} names the client address. Empty: none trusted. */
    public List<String> trustedProxyCidrs = new ArrayList<>();

    /** Unrestricted publish keys (named {@code publishKeys[i]}). Reloaded from the config file. */
    public List<String> publishKeys = new ArrayList<>();
    /** Unrestricted audit keys (named {@code auditKeys[i]}). Reloaded from the config file. */
    public List<String> auditKeys = new ArrayList<>();
    /**
     * Named HTTP API keys, each with scopes (publish, audit) and optionally limited to room prefixes:
     * {@code [{name, key, scopes: [publish, audit], rooms: [prefix, …]}]}. Reloaded from the config
     * file. Environment: a JSON array.
     */
    public List<ApiKeys.Spec> apiKeys = new ArrayList<>();
    /** How often the config file is checked for new keys ({@code apiKeys}, {@code publishKeys}, {@code auditKeys}); 0 = never. */
    public long configReloadIntervalMs = 5_000;

    /** The YAML file this config was loaded from (null: none); not a setting. */
    private Path source;

    private static ObjectMapper yaml() {
        return new ObjectMapper(new YAMLFactory())
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, true)
                .configure(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY, true)
                .configure(com.fasterxml.jackson.databind.MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS, true);
    }

    /** Defaults, then the YAML file if given, then the environment. */
    public static GatewayConfig load(Path file, Map<String, String> env) throws IOException {
        GatewayConfig c = new GatewayConfig();
        c.source = file;
        ObjectMapper mapper = yaml();
        if (file != null) {
            try {
                mapper.readerForUpdating(c).readValue(Files.readAllBytes(file));
            } catch (com.fasterxml.jackson.core.JacksonException e) {
                throw new IllegalArgumentException("bad config file " + file + ": " + e.getOriginalMessage());
            }
        }
        Map<String, Object> fromEnv = new LinkedHashMap<>();
        for (Field f : GatewayConfig.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers())) continue;
            String value = env.get(envName(f.getName()));
            if (value == null) continue;
            fromEnv.put(f.getName(), List.class.isAssignableFrom(f.getType()) && value.trim().startsWith("[")
                    ? json(f.getName(), value)
                    : List.class.isAssignableFrom(f.getType())
                    ? Arrays.stream(value.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
                    : Map.class.isAssignableFrom(f.getType()) ? envMap(f.getName(), value) : value);
        }
        if (!fromEnv.isEmpty()) {
            try {
                mapper.updateValue(c, fromEnv);
            } catch (IllegalArgumentException | com.fasterxml.jackson.databind.JsonMappingException e) {
                throw new IllegalArgumentException("bad TIDINGS_* environment variable: " + e.getMessage());
            }
        }
        return c;
    }

    /** A list given as a JSON array (needed for lists of objects, such as {@code apiKeys}). */
    private static Object json(String field, String value) {
        try {
            return new ObjectMapper().readTree(value);
        } catch (IOException e) {
            throw new IllegalArgumentException("bad TIDINGS_* environment variable: " + envName(field) + " is not a JSON array");
        }
    }

    /** The YAML file this configuration was loaded from, or null. */
    public Path source() {
        return source;
    }

    /** Makes {@code file} the source (the file watched for key reloads). */
    public GatewayConfig withSource(Path file) {
        this.source = file;
        return this;
    }

    /** {@code k=v,k2=v2} → a map, in order. */
    private static Map<String, String> envMap(String field, String value) {
        Map<String, String> map = new LinkedHashMap<>();
        for (String entry : value.split(",")) {
            if (entry.isBlank()) continue;
            int eq = entry.indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("bad TIDINGS_* environment variable: " + envName(field) + " entries look like key=value");
            map.put(entry.substring(0, eq).trim(), entry.substring(eq + 1).trim());
        }
        return map;
    }

    /** {@code outboundBufferBytes} → {@code TIDINGS_OUTBOUND_BUFFER_BYTES}. */
    static String envName(String field) {
        return "TIDINGS_" + PropertyNamingStrategies.UpperSnakeCaseStrategy.INSTANCE.translate(field);
    }
}

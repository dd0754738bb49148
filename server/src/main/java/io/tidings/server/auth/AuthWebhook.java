package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.http.Json;
import io.tidings.server.hub.Rooms;
import io.tidings.server.metrics.Metrics;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.logging.Logger;

/**
 * The authorization webhook ({@code authWebhookUrl}): the gateway asks the application who a client
 * is (at connect) and whether it may join a room (at join), by POSTing JSON. The contract is in
 * docs/security.md, "Authorization webhook":
 * <pre>
 * → {"type":"connect","protocol":"native","token":…,"cookies":{…},"headers":{…},"ip":…,"origin":…}
 * ← 200 {"sub":"alice","rooms":["teamspaceA"],"exp":1767225600}   or 200 {"allow":false} / 401 / 403
 * → {"type":"join","protocol":"native","sub":"alice","room":"teamspaceA/m1","token":…,"cookies":…,"headers":…,"ip":…}
 * ← 200 {"allow":true}  or 200 {"allow":false} / 401 / 403
 * </pre>
 * Every other answer (another status, a malformed body, a timeout, a refused connection) is an
 * error: the client is refused (fail closed) with an "unavailable" reason, and the answer is not
 * cached. Answers (allow and deny) are cached for {@code authWebhookCacheTtlMs} by a SHA-256 of the
 * credentials (plus the room for joins); an allowed connect no longer than its {@code exp}.
 * Identical questions in flight share one call. At most {@code authWebhookMaxConcurrent} calls run
 * at once; more wait up to {@code authWebhookQueueWaitMs} for a slot and are then refused, so a
 * reconnect burst cannot flood the application.
 *
 * <p>Never blocks the caller: calls go out with {@link HttpClient#sendAsync}.
 *
 * <p>Thread-safe.
 */
public final class AuthWebhook implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(AuthWebhook.class.getName());
    static final int MAX_CACHED = 100_000;
    static final int MAX_QUEUED = 10_000;
    private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** An answer: allowed (with grants for a connect) or denied. */
    private record Answer(boolean allowed, Grants grants, String message) {
    }

    private record Cached(Answer answer, long expiresAtMillis) {
    }

    private final URI url;
    private final String secret;
    private final Duration timeout;
    private final long cacheTtlMs;
    private final Metrics metrics;
    private final HttpClient http;
    private final ScheduledExecutorService timer;
    private final AsyncLimiter limiter;
    private final Map<String, CompletableFuture<Answer>> inFlight = new ConcurrentHashMap<>();
    private final LinkedHashMap<String, Cached> cache = new LinkedHashMap<>(); // guarded by itself; oldest first
    private volatile long lastLoggedNanos = System.nanoTime() - LOG_EVERY_NANOS;

    public AuthWebhook(URI url, String secret, long timeoutMs, long cacheTtlMs, int maxConcurrent, long queueWaitMs, Metrics metrics) {
        this.url = url;
        this.secret = secret == null ? "" : secret;
        this.timeout = Duration.ofMillis(timeoutMs);
        this.cacheTtlMs = cacheTtlMs;
        this.metrics = metrics;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER)
                .version(HttpClient.Version.HTTP_1_1).build();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tidings-auth-webhook");
            t.setDaemon(true);
            return t;
        });
        this.limiter = new AsyncLimiter(maxConcurrent, queueWaitMs, MAX_QUEUED, timer);
        metrics.bindWebhook(limiter::running, limiter::queued);
        metrics.declareWebhook();
    }

    /**
     * Who presented {@code credentials}: their grants, or an {@link AuthException} (DENIED when the
     * application said no, UNAVAILABLE when it could not answer).
     */
    public CompletableFuture<Grants> connect(Credentials credentials) {
        String key = "c|" + credentials.fingerprint();
        return ask("connect", key, () -> {
            ObjectNode body = request("connect", credentials);
            return body;
        }).handle((a, e) -> {
            if (e != null) throw new CompletionException(unavailable(e));
            if (!a.allowed()) throw new CompletionException(new AuthException(AuthException.Reason.DENIED,
                    a.message() != null ? a.message() : "credentials not accepted"));
            return a.grants();
        });
    }

    /** May {@code principal} join {@code room}? Never completes exceptionally. */
    public CompletableFuture<JoinDecision> join(Principal principal, String room) {
        return ask("join", joinKey(principal, room), () -> {
            ObjectNode body = request("join", principal.credentials());
            body.put("sub", principal.subject());
            body.put("room", room);
            return body;
        }).handle((a, e) -> e != null ? JoinDecision.unavailable(unavailableMessage(e)) : decision(a, room));
    }

    /** The cached answer to a join question, or null. */
    public JoinDecision cachedJoin(Principal principal, String room) {
        Cached c = cached(joinKey(principal, room));
        return c == null ? null : decision(c.answer(), room);
    }

    private static JoinDecision decision(Answer a, String room) {
        return a.allowed() ? JoinDecision.ALLOW
                : JoinDecision.forbidden(a.message() != null ? a.message() : "not allowed to join room " + room);
    }

    private static String joinKey(Principal principal, String room) {
        return "j|" + principal.credentials().fingerprint() + "|" + principal.subject() + "|" + room;
    }

    private static ObjectNode request(String type, Credentials c) {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.put("type", type);
        body.put("protocol", c.protocol());
        if (c.token() != null) body.put("token", c.token());
        ObjectNode cookies = body.putObject("cookies");
        c.cookies().forEach(cookies::put);
        ObjectNode headers = body.putObject("headers");
        c.headers().forEach(headers::put);
        body.put("ip", c.clientIp());
        if (c.origin() != null) body.put("origin", c.origin());
        return body;
    }

    /** The answer from the cache, from a call in flight, or from a new call. */
    private CompletableFuture<Answer> ask(String kind, String key, java.util.function.Supplier<ObjectNode> body) {
        Cached hit = cached(key);
        if (hit != null) {
            metrics.webhookCache(kind, "hit");
            return CompletableFuture.completedFuture(hit.answer());
        }
        metrics.webhookCache(kind, "miss");
        CompletableFuture<Answer> mine = new CompletableFuture<>();
        CompletableFuture<Answer> shared = inFlight.putIfAbsent(key, mine);
        if (shared != null) return shared;
        limiter.submit(() -> call(kind, body.get()))
                .whenComplete((a, e) -> {
                    if (e == null) remember(key, a);
                    inFlight.remove(key, mine);
                    if (e != null) {
                        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                        if (cause instanceof AsyncLimiter.Busy) metrics.webhookRequest(kind, "busy", 0);
                        mine.completeExceptionally(cause);
                    } else {
                        mine.complete(a);
                    }
                });
        return mine;
    }

    private CompletableFuture<Answer> call(String kind, ObjectNode body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(url).timeout(timeout)
                .header("Content-Type", "application/json").header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.utf8(body.toString())));
        if (!secret.isEmpty()) b.header("Authorization", "Bearer " + secret);
        long start = System.nanoTime();
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofString())
                .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS)
                .handle((response, error) -> {
                    long nanos = System.nanoTime() - start;
                    if (error != null) {
                        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
                        boolean timedOut = cause instanceof TimeoutException || cause instanceof HttpTimeoutException;
                        metrics.webhookRequest(kind, timedOut ? "timeout" : "error", nanos);
                        logFailure(kind + " call " + (timedOut ? "timed out after " + timeout.toMillis() + " ms" : "failed: " + cause));
                        throw new CompletionException(new WebhookFailure(timedOut ? "authorization service timed out" : "authorization service unreachable"));
                    }
                    try {
                        Answer a = parse(kind, response);
                        metrics.webhookRequest(kind, a.allowed() ? "allow" : "deny", nanos);
                        return a;
                    } catch (WebhookFailure f) {
                        metrics.webhookRequest(kind, "error", nanos);
                        logFailure(kind + " answer refused: " + f.detail);
                        throw new CompletionException(f);
                    }
                });
    }

    /** The webhook broke the contract or failed: refuse, do not cache. */
    static final class WebhookFailure extends RuntimeException {
        final String detail;

        WebhookFailure(String detail) {
            super(detail, null, false, false);
            this.detail = detail;
        }
    }

    private static Answer parse(String kind, HttpResponse<String> response) {
        int status = response.statusCode();
        if (status == 401 || status == 403) return new Answer(false, null, null);
        if (status != 200) throw new WebhookFailure("HTTP " + status);
        JsonNode a;
        try {
            a = Json.MAPPER.readTree(response.body());
        } catch (Exception e) {
            throw new WebhookFailure("the body is not JSON");
        }
        if (a == null || !a.isObject()) throw new WebhookFailure("the body is not a JSON object");
        JsonNode allow = a.get("allow");
        if (allow != null && !allow.isBoolean()) throw new WebhookFailure("allow must be true or false");
        String message = a.path("message").isTextual() ? a.get("message").asText() : null;
        if (message != null && message.length() > 200) message = message.substring(0, 200);
        if (allow != null && !allow.asBoolean()) return new Answer(false, null, message);
        if (kind.equals("join")) {
            if (allow == null) throw new WebhookFailure("a join answer needs allow");
            return new Answer(true, null, null);
        }
        JsonNode sub = a.get("sub");
        if (sub == null || !sub.isTextual() || sub.asText().isBlank()) throw new WebhookFailure("a connect answer needs sub (or allow:false)");
        List<String> rooms = new ArrayList<>();
        JsonNode r = a.get("rooms");
        if (r != null && !r.isNull()) {
            if (!r.isArray()) throw new WebhookFailure("rooms must be an array of room names");
            for (JsonNode room : r) {
                if (!room.isTextual() || Rooms.problem(room.asText()) != null) throw new WebhookFailure("rooms holds an invalid room name");
                rooms.add(room.asText());
            }
        }
        JsonNode exp = a.get("exp");
        long expiresAt = Long.MAX_VALUE;
        if (exp != null && !exp.isNull()) {
            if (!exp.isNumber()) throw new WebhookFailure("exp must be a number (Unix seconds)");
            expiresAt = exp.asLong() * 1000;
        }
        if (expiresAt <= System.currentTimeMillis()) return new Answer(false, null, "credentials expired");
        return new Answer(true, new Grants(sub.asText(), rooms, expiresAt), null);
    }

    private static String unavailableMessage(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof AsyncLimiter.Busy) return "authorization service busy; try again later";
        if (cause instanceof WebhookFailure f && f.detail.startsWith("authorization service")) return f.detail + "; try again later";
        return "authorization service failed; try again later";
    }

    /** An AuthException for a failed connect call. */
    static AuthException unavailable(Throwable e) {
        return new AuthException(AuthException.Reason.UNAVAILABLE, unavailableMessage(e));
    }

    private Cached cached(String key) {
        if (cacheTtlMs <= 0) return null;
        long now = System.currentTimeMillis();
        synchronized (cache) {
            Cached c = cache.get(key);
            if (c == null) return null;
            if (c.expiresAtMillis() <= now) {
                cache.remove(key);
                return null;
            }
            return c;
        }
    }

    private void remember(String key, Answer a) {
        if (cacheTtlMs <= 0) return;
        long now = System.currentTimeMillis();
        long until = now + cacheTtlMs;
        if (a.grants() != null) until = Math.min(until, a.grants().expiresAtMillis());
        synchronized (cache) {
            cache.remove(key);
            cache.put(key, new Cached(a, until));
            // oldest first: drop expired ones from the head, then the oldest beyond the bound
            Iterator<Cached> it = cache.values().iterator();
            while (it.hasNext()) {
                Cached c = it.next();
                if (c.expiresAtMillis() > now && cache.size() <= MAX_CACHED) break;
                it.remove();
            }
        }
    }

    private void logFailure(String what) {
        long now = System.nanoTime();
        if (now - lastLoggedNanos < LOG_EVERY_NANOS) return; // an outage must not flood the log
        lastLoggedNanos = now;
        LOG.warning("authorization webhook " + url + ": " + what + " (clients are refused while it fails; logged at most every 10 s)");
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}

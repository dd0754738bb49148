package io.tidings.server.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An application with its own sessions, serving the authorization webhook on a real HTTP server:
 * {@code sessions} maps a session cookie or API token to a user, {@code permissions} a user to the
 * room prefixes it may join. {@code delayMs} and {@code status} simulate a slow or failing app.
 */
public final class FakeApp implements AutoCloseable {
    public static final String SECRET = "webhook-shared-secret";

    public final Map<String, String> sessions = new ConcurrentHashMap<>();
    public final Map<String, Set<String>> permissions = new ConcurrentHashMap<>();
    public final List<JsonNode> requests = new CopyOnWriteArrayList<>();
    public final AtomicInteger connects = new AtomicInteger();
    public final AtomicInteger joins = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger maxInFlight = new AtomicInteger();
    public volatile long delayMs;
    public volatile int status = 200;
    volatile boolean requireSecret = true;
    private final HttpServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool();

    public FakeApp() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 100);
        server.setExecutor(pool);
        server.createContext("/tidings/auth", exchange -> {
            int now = inFlight.incrementAndGet();
            maxInFlight.accumulateAndGet(now, Math::max);
            try {
                JsonNode req = Json.MAPPER.readTree(exchange.getRequestBody());
                requests.add(req);
                boolean connect = req.path("type").asText().equals("connect");
                (connect ? connects : joins).incrementAndGet();
                if (delayMs > 0) Thread.sleep(delayMs);
                String body;
                int code = status;
                if (requireSecret && !("Bearer " + SECRET).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
                    code = 500;
                    body = "{\"error\":\"who are you?\"}";
                } else if (code != 200) {
                    body = "{\"error\":\"boom\"}";
                } else if (connect) {
                    String user = user(req);
                    body = user == null ? "{\"allow\":false,\"message\":\"please sign in again\"}"
                            : "{\"sub\":" + Json.quote(user) + ",\"rooms\":[\"user/" + user + "/inbox\"]}";
                } else {
                    String room = req.path("room").asText();
                    boolean allowed = permissions.getOrDefault(req.path("sub").asText(), Set.of()).stream()
                            .anyMatch(p -> room.equals(p) || room.startsWith(p + "/"));
                    body = "{\"allow\":" + allowed + "}";
                }
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().add("Content-Type", "application/json");
                exchange.sendResponseHeaders(code, bytes.length);
                exchange.getResponseBody().write(bytes);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                inFlight.decrementAndGet();
                exchange.close();
            }
        });
        server.start();
    }

    /** The user of a request's session cookie or API token header, if any. */
    private String user(JsonNode req) {
        String sid = req.path("cookies").path("connect.sid").asText(null);
        if (sid != null && sessions.containsKey(sid)) return sessions.get(sid);
        String apiToken = req.path("headers").path("x-api-token").asText(null);
        if (apiToken != null && sessions.containsKey(apiToken)) return sessions.get(apiToken);
        String token = req.path("token").asText(null);
        return token == null ? null : sessions.get(token);
    }

    /** Points a gateway at this app: its URL and secret, the {@code connect.sid} cookie and {@code X-Api-Token} header. */
    public void configure(io.tidings.server.GatewayConfig c) {
        c.authWebhookUrl = url();
        c.authWebhookSecret = SECRET;
        c.authWebhookCookies = List.of("connect.sid");
        c.authWebhookHeaders = List.of("X-Api-Token");
    }

    public String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/tidings/auth";
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }
}

package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.auth.TokenVerifier;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A real gateway for tests: a real log in a directory, a real Undertow server on a free port, known
 * credentials. {@link #restart()} closes it gracefully and starts it again on the same port and
 * data directory. Publishes go through the real HTTP API.
 */
public final class TestGateway implements AutoCloseable {
    public static final String SECRET = "test-secret-test-secret-test-secret-0123456789";
    public static final String PUBLISH_KEY = "test-publish-key";
    public static final String AUDIT_KEY = "test-audit-key";

    private final Path dataDir;
    private final Consumer<GatewayConfig> tweak;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Gateway gateway;
    private int port;

    public TestGateway(Path dataDir) {
        this(dataDir, c -> {});
    }

    /** {@code tweak} adjusts the config before every start (e.g. small buffers). */
    public TestGateway(Path dataDir, Consumer<GatewayConfig> tweak) {
        this.dataDir = dataDir;
        this.tweak = tweak;
        start(0);
    }

    private void start(int onPort) {
        GatewayConfig c = new GatewayConfig();
        c.host = "127.0.0.1";
        c.port = onPort;
        c.dataDir = dataDir;
        c.jwtSecret = SECRET;
        c.publishKeys = List.of(PUBLISH_KEY);
        c.auditKeys = List.of(AUDIT_KEY);
        c.minFreeBytes = 0;
        tweak.accept(c);
        try {
            gateway = Gateway.start(c);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        port = gateway.port();
    }

    /** Graceful stop, then start on the same port and data directory. */
    public void restart() {
        gateway.close();
        start(port);
    }

    public Gateway gateway() {
        return gateway;
    }

    public int port() {
        return port;
    }

    public String http(String path) {
        return "http://127.0.0.1:" + port + path;
    }

    public String ws(String path) {
        return "ws://127.0.0.1:" + port + path;
    }

    /** A subscriber token for {@code sub} granting {@code rooms}, valid for an hour. */
    public static String token(String sub, String... rooms) {
        return new TokenVerifier(SECRET).mint(sub, List.of(rooms), Duration.ofHours(1));
    }

    public record Response(int status, String body) {
        public JsonNode json() {
            try {
                return Json.MAPPER.readTree(body);
            } catch (IOException e) {
                throw new UncheckedIOException(body, e);
            }
        }
    }

    /** POSTs {@code body} to /v1/events with the publish key. */
    public Response publishRaw(String body) {
        return send(HttpRequest.newBuilder(URI.create(http("/v1/events")))
                .header("Authorization", "Bearer " + PUBLISH_KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    /** Publishes one event and returns its offset; fails the test on any error. */
    public String publish(String room, String type, String dataJson) {
        Response r = publishRaw("{\"room\":" + Json.quote(room) + ",\"type\":" + Json.quote(type) + ",\"data\":" + dataJson + "}");
        if (r.status() != 200) throw new AssertionError("publish failed: " + r);
        return r.json().get("offset").asText();
    }

    /** GET /v1/events with the audit key; {@code query} without the leading '?'. */
    public Response replay(String query) {
        return send(HttpRequest.newBuilder(URI.create(http("/v1/events?" + query)))
                .header("Authorization", "Bearer " + AUDIT_KEY).GET().build());
    }

    /** The NDJSON lines of a replay, parsed. */
    public List<JsonNode> replayLines(String query) {
        Response r = replay(query);
        if (r.status() != 200) throw new AssertionError("replay failed: " + r);
        List<JsonNode> lines = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (!line.isBlank()) lines.add(new Response(200, line).json());
        }
        return lines;
    }

    public Response send(HttpRequest request) {
        try {
            HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
            return new Response(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        gateway.close();
    }
}

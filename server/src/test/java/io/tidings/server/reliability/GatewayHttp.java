package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.ChildGateway;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The HTTP API of a {@link ChildGateway} as the reliability scenarios drive it: publish with the test
 * publish key, audit replay with the audit key, plain GETs. Thread-safe (one shared JDK client).
 */
final class GatewayHttp {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ChildGateway gateway;

    GatewayHttp(ChildGateway gateway) {
        this.gateway = gateway;
    }

    /** {@code POST /v1/events}; throws IOException when the gateway is down. */
    HttpResponse<String> publish(String body) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/events"))).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + TestGateway.PUBLISH_KEY)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** One event of {@code room} with producer id {@code id}; its data is {@code {"id": id}}. */
    static String eventBody(String id, String room) {
        return "{\"room\":\"" + room + "\",\"type\":\"t\",\"id\":\"" + id + "\",\"data\":{\"id\":\"" + id + "\"}}";
    }

    /**
     * Publishes one event with producer id {@code id} (its data names the id), retrying with the same
     * id after a 503 or a connection error until it is acknowledged; returns the offset of the answer.
     */
    String publishUntilAcked(String id, String room) {
        String body = eventBody(id, room);
        while (true) {
            try {
                HttpResponse<String> r = publish(body);
                if (r.statusCode() == 200) return Json.MAPPER.readTree(r.body()).get("offset").asText();
            } catch (IOException e) {
                // down or cut: retry with the same id
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            CrashConsumer.pause(50);
        }
    }

    /** Status of {@code GET path} without credentials (health, readiness). */
    int status(String path) {
        return send(HttpRequest.newBuilder(URI.create(gateway.url(path))).timeout(Duration.ofSeconds(10)).GET().build()).statusCode();
    }

    /** Audit replay of {@code room} (and the rooms within it) from the beginning, one JSON event per line. */
    List<JsonNode> replay(String room) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(gateway.url("/v1/events?room=" + room + "&from=1970-01-01T00:00:00Z")))
                .timeout(Duration.ofSeconds(30)).header("Authorization", "Bearer " + TestGateway.AUDIT_KEY).GET().build());
        if (r.statusCode() != 200) throw new AssertionError("replay: " + r.statusCode() + " " + r.body());
        List<JsonNode> lines = new ArrayList<>();
        try {
            for (String line : r.body().split("\n")) if (!line.isBlank()) lines.add(Json.MAPPER.readTree(line));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lines;
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

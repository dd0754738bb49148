package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A well-behaved client that stays connected through a reliability run and must receive every event
 * published to its room, once, in order: one per protocol (native {@code /v1/ws}, Socket.IO,
 * ActionCable), each speaking the protocol's frames over the JDK WebSocket client. Events carry
 * {@code {"i":<n>}}; {@link #awaitSequence} checks the numbers received are exactly 0..n-1.
 *
 * <p>Not thread-safe: one test thread reads it.
 */
final class Canary implements AutoCloseable {
    final String protocol;
    private final WsTestClient ws;
    private final List<Integer> received = new ArrayList<>();

    private Canary(String protocol, WsTestClient ws) {
        this.protocol = protocol;
        this.ws = ws;
    }

    /**
     * One canary per protocol for the user {@code sub}, each joined to its personal room {@code user/<sub>}
     * (always granted; ActionCable's default {@code NotificationsChannel}). Publish canary events there.
     */
    static List<Canary> everyProtocol(String wsBase, String sub) {
        String token = TestGateway.token(sub);
        return List.of(nativeProtocol(wsBase, token, sub), socketIo(wsBase, token, sub), cable(wsBase, token));
    }

    private static Canary nativeProtocol(String wsBase, String token, String sub) {
        WsTestClient ws = WsTestClient.connect(URI.create(wsBase + "/v1/ws"), Map.of("Authorization", "Bearer " + token));
        expectPrefix(ws, "{\"op\":\"welcome\"");
        ws.send("{\"op\":\"join\",\"room\":" + Json.quote("user/" + sub) + "}");
        expectPrefix(ws, "{\"op\":\"joined\"");
        expectPrefix(ws, "{\"op\":\"live\"");
        return new Canary("native", ws);
    }

    private static Canary socketIo(String wsBase, String token, String sub) {
        WsTestClient ws = WsTestClient.connect(URI.create(wsBase + "/socket.io/?EIO=4&transport=websocket"), Map.of());
        expectPrefix(ws, "0{");
        ws.send("40{\"token\":" + Json.quote(token) + "}");
        expectPrefix(ws, "40{\"sid\"");
        ws.send("421[\"join\",{\"account\":\"user\",\"model\":" + Json.quote(sub) + "}]");
        expectPrefix(ws, "431[{\"ok\":true");
        return new Canary("socket.io", ws);
    }

    private static Canary cable(String wsBase, String token) {
        WsTestClient ws = WsTestClient.connect(URI.create(wsBase + "/cable"), Map.of("Cookie", "Authorization=" + token), "actioncable-v1-json");
        if (!ws.nextNonPingLine().equals("frame {\"type\":\"welcome\"}")) throw new AssertionError("cable canary: no welcome");
        ws.send("{\"command\":\"subscribe\",\"identifier\":" + Json.quote("{\"channel\":\"NotificationsChannel\"}") + "}");
        if (!ws.nextNonPingLine().contains("confirm_subscription")) throw new AssertionError("cable canary: not confirmed");
        return new Canary("cable", ws);
    }

    private static void expectPrefix(WsTestClient ws, String prefix) {
        String f = ws.nextText();
        if (!f.startsWith(prefix)) throw new AssertionError("expected " + prefix + "…, got " + f);
    }

    /**
     * Reads until {@code count} events have arrived (answering Engine.IO pings on the way), then
     * fails unless they are exactly 0..count-1 in order.
     */
    void awaitSequence(int count) {
        while (received.size() < count) {
            String line = ws.nextNonPingLine();
            if (!line.startsWith("frame ")) throw new AssertionError(protocol + " canary: " + line + " after " + received.size() + " events");
            String f = line.substring(6);
            if (f.equals("2")) {
                ws.send("3");
                continue;
            }
            JsonNode data = data(f);
            if (data != null) received.add(data.get("i").asInt());
        }
        List<Integer> expected = new ArrayList<>();
        for (int i = 0; i < count; i++) expected.add(i);
        if (!received.equals(expected)) throw new AssertionError(protocol + " canary received " + received + ", expected 0.." + (count - 1));
    }

    /** The event's data, or null for frames that are not events. */
    private JsonNode data(String frame) {
        try {
            return switch (protocol) {
                case "native" -> frame.startsWith("{\"op\":\"event\"") ? Json.MAPPER.readTree(frame).get("data") : null;
                case "socket.io" -> frame.startsWith("42[") ? Json.MAPPER.readTree(frame.substring(2)).get(1) : null;
                default -> Json.MAPPER.readTree(frame).get("message");
            };
        } catch (IOException e) {
            throw new UncheckedIOException(protocol + " canary: not JSON: " + frame, e);
        }
    }

    int received() {
        return received.size();
    }

    @Override
    public void close() {
        ws.abort();
    }
}

package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The Java side of server/src/test/node/socketio-driver.js: sends it commands, collects everything
 * the real socket.io-client (or raw ws client) reports, and waits for what a test expects.
 * Not thread-safe: one test thread.
 */
public final class SocketIoDriver implements AutoCloseable {
    static final long WAIT_SECONDS = 20;

    private final NodeScript node;
    private final List<JsonNode> lines = new ArrayList<>();
    private int mark;

    public SocketIoDriver(TestGateway gateway) {
        this(gateway.http(""));
    }

    /** @param baseUrl e.g. {@code http://127.0.0.1:8080} */
    public SocketIoDriver(String baseUrl) {
        this.node = NodeScript.start("socketio-driver.js", baseUrl);
    }

    // ---- commands ------------------------------------------------------------------------------

    void send(ObjectNode command) {
        node.send(command.toString());
    }

    static ObjectNode cmd(String cmd, String id) {
        ObjectNode c = Json.MAPPER.createObjectNode().put("cmd", cmd);
        if (id != null) c.put("id", id);
        return c;
    }

    /** Connects client {@code id} with {@code auth.token = token} (no token if null). */
    void connect(String id, String token) {
        ObjectNode c = cmd("connect", id);
        ObjectNode auth = c.putObject("auth");
        if (token != null) auth.put("token", token);
        send(c);
    }

    /** Connects and waits until connected; returns the connect line. */
    public JsonNode connected(String id, String token) {
        connect(id, token);
        return await("connect of " + id, l -> is(l, "connect", id));
    }

    public void emit(String id, String tag, boolean ack, String event, String argJson) {
        ObjectNode c = cmd("emit", id).put("ack", ack).put("tag", tag);
        c.putArray("args").add(event).add(parse(argJson));
        send(c);
    }

    /** Emits join with an ack and waits for the ack; returns its first argument. */
    public JsonNode join(String id, String argJson) {
        String tag = "join-" + lines.size() + "-" + argJson.hashCode();
        emit(id, tag, true, "join", argJson);
        return await("ack of join " + argJson, l -> is(l, "ack", id) && tag.equals(l.path("tag").asText())).get("args").get(0);
    }

    JsonNode leave(String id, String argJson) {
        String tag = "leave-" + lines.size() + "-" + argJson.hashCode();
        emit(id, tag, true, "leave", argJson);
        return await("ack of leave " + argJson, l -> is(l, "ack", id) && tag.equals(l.path("tag").asText())).get("args").get(0);
    }

    /** Terminates the client's WebSocket without a close frame; with {@code hold}, it stays away until {@link #reconnect}. */
    void cut(String id, boolean hold) {
        send(cmd("cut", id).put("reconnect", !hold));
        await("disconnect of " + id + " after cut", l -> is(l, "disconnect", id));
    }

    void reconnect(String id) {
        send(cmd("reconnect", id));
    }

    public void raw(String id, String pathAndQuery) {
        send(cmd("raw", id).put("path", pathAndQuery));
    }

    public void rawSend(String id, String text) {
        send(cmd("rawsend", id).put("text", text));
    }

    // ---- observations --------------------------------------------------------------------------

    /** From now on, {@link #await} only considers lines that arrive after this call. */
    void mark() {
        drain();
        mark = lines.size();
    }

    /** From now on, {@link #await} considers every line since the driver started. */
    void markAtStart() {
        mark = 0;
    }

    /** The first line since the mark matching {@code p}, waiting for it if needed. */
    public JsonNode await(String what, Predicate<JsonNode> p) {
        for (int i = mark; ; i++) {
            while (i >= lines.size()) read(what);
            JsonNode l = lines.get(i);
            if (p.test(l)) return l;
        }
    }

    /** Every event client {@code id} received since the mark, up to and including the first named {@code lastName}. */
    public List<JsonNode> eventsUntil(String id, String lastName) {
        await(id + " receiving " + lastName, l -> isEvent(l, id, lastName));
        List<JsonNode> events = new ArrayList<>();
        for (int i = mark; i < lines.size(); i++) {
            JsonNode l = lines.get(i);
            if (is(l, "event", id)) {
                events.add(l);
                if (l.get("name").asText().equals(lastName)) break;
            }
        }
        return events;
    }

    /** Every line since the mark (after reading whatever has already arrived). */
    List<JsonNode> since() {
        drain();
        return List.copyOf(lines.subList(mark, lines.size()));
    }

    /** Every line so far (after reading whatever has already arrived). */
    public List<JsonNode> all() {
        drain();
        return List.copyOf(lines);
    }

    public static boolean is(JsonNode line, String ev, String id) {
        return ev.equals(line.path("ev").asText()) && id.equals(line.path("id").asText());
    }

    static boolean isEvent(JsonNode line, String id, String name) {
        return is(line, "event", id) && name.equals(line.path("name").asText());
    }

    private void drain() {
        // lines already printed are picked up without waiting: the driver prints an "ok" per command
        send(cmd("noop", null));
        await0(l -> "ok".equals(l.path("ev").asText()) && "noop".equals(l.path("cmd").asText()));
    }

    private void await0(Predicate<JsonNode> p) {
        for (int i = lines.size(); ; i++) {
            while (i >= lines.size()) read("driver round trip");
            if (p.test(lines.get(i))) return;
        }
    }

    private void read(String what) {
        try {
            String line = node.nextLine(WAIT_SECONDS);
            JsonNode l = Json.MAPPER.readTree(line);
            if ("driver_error".equals(l.path("ev").asText())) throw new AssertionError("driver error: " + l.get("message").asText());
            lines.add(l);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (AssertionError e) {
            throw new AssertionError("waiting for " + what + ": " + e.getMessage() + "\nseen since mark:\n"
                    + String.join("\n", lines.subList(mark, lines.size()).stream().map(JsonNode::toString).toList()), e);
        }
    }

    public static JsonNode parse(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        node.exit("{\"cmd\":\"exit\"}");
    }
}

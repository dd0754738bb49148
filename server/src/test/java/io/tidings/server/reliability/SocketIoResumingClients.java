package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Many real socket.io-client sockets in one Node process (server/src/test/node/socketio-driver.js),
 * with the client's own automatic reconnection and connection state recovery. Rooms are
 * {@code <account>/<model>} and joined as {@code {account, model}}.
 *
 * <p>The application rule this models: after a connect with {@code socket.recovered === true} nothing
 * is to be done. After {@code recovered === false} (a fresh session: the server refused recovery) the
 * client knows it may have missed events: it joins its rooms again and, once they are acknowledged,
 * fetches what it missed from the audit replay ({@code GET /v1/events?room=…&after=<last offset>})
 * before it goes on. Such reconciliations are counted: explicit, never silent.
 *
 * <p>Thread safety: one reader thread handles every line of the Node process; counters and sequences
 * may be read from any thread.
 */
final class SocketIoResumingClients implements AutoCloseable {
    private final NodeScript node;
    private final TestGateway gateway;
    private final Map<String, Client> clients = new ConcurrentHashMap<>();
    final AtomicInteger connects = new AtomicInteger();
    final AtomicInteger recovered = new AtomicInteger();
    final AtomicInteger reconciliations = new AtomicInteger();
    final AtomicInteger disconnects = new AtomicInteger();
    volatile String failure;

    /** One socket: its rooms, what it received, and where it is in a reconciliation. */
    final class Client {
        final String id;
        final List<String> rooms;
        final ReceivedSequences sequences;
        volatile boolean subscribed;
        int generation;                         // joins of the latest (re)join round
        final Set<String> acked = new HashSet<>();
        boolean reconciling;
        final List<JsonNode> held = new ArrayList<>();  // events that arrived while reconciling

        Client(String id, List<String> rooms, String epoch) {
            this.id = id;
            this.rooms = rooms;
            this.sequences = new ReceivedSequences(epoch, rooms);
        }
    }

    /** Starts the Node process; {@code baseUrl} is where the sockets connect (the proxy). */
    SocketIoResumingClients(String baseUrl, TestGateway gateway) {
        this.node = NodeScript.start("socketio-driver.js", baseUrl);
        this.gateway = gateway;
        node.forEachLine("socketio-clients", this::onLine);
    }

    Client add(String id, String token, List<String> rooms, String epoch) {
        Client c = new Client(id, rooms, epoch);
        clients.put(id, c);
        ObjectNode cmd = Json.MAPPER.createObjectNode().put("cmd", "connect").put("id", id);
        cmd.putObject("auth").put("token", token);
        node.send(cmd.toString());
        return c;
    }

    List<Client> all() {
        return List.copyOf(clients.values());
    }

    private void onLine(String text) {
        try {
            handle(Json.MAPPER.readTree(text));
        } catch (IOException | RuntimeException | AssertionError e) {
            if (failure == null) failure = "socket.io line " + text + ": " + e;
        }
    }

    private void handle(JsonNode l) {
        String ev = l.path("ev").asText();
        if (ev.equals("driver_error")) throw new AssertionError(l.toString());
        Client c = clients.get(l.path("id").asText());
        if (c == null) return;
        switch (ev) {
            case "connect" -> onConnect(c, l.get("recovered").asBoolean());
            case "disconnect" -> disconnects.incrementAndGet();
            case "ack" -> onAck(c, l);
            case "event" -> {
                if (c.reconciling) c.held.add(l);
                else onEvent(c, l);
            }
            default -> { }
        }
    }

    private void onConnect(Client c, boolean wasRecovered) {
        connects.incrementAndGet();
        boolean first = c.generation == 0;
        if (!first && wasRecovered) recovered.incrementAndGet();
        if (!first && wasRecovered && !c.reconciling) return;
        if (!first && !c.reconciling) {
            c.reconciling = true;
            reconciliations.incrementAndGet();
        }
        // (re)join every room; a join cut before it was answered is simply repeated (joining twice is harmless)
        c.generation++;
        c.acked.clear();
        for (String room : c.rooms) {
            String[] am = room.split("/", 2);
            ObjectNode cmd = Json.MAPPER.createObjectNode().put("cmd", "emit").put("id", c.id).put("ack", true)
                    .put("tag", c.generation + " " + room);
            cmd.putArray("args").add("join").addObject().put("account", am[0]).put("model", am[1]);
            node.send(cmd.toString());
        }
    }

    private void onAck(Client c, JsonNode l) {
        String[] tag = l.get("tag").asText().split(" ", 2);
        if (Integer.parseInt(tag[0]) != c.generation) return;
        JsonNode answer = l.get("args").get(0);
        if (!answer.path("ok").asBoolean()) throw new AssertionError(c.id + ": join refused: " + answer);
        c.acked.add(tag[1]);
        if (!c.acked.containsAll(c.rooms)) return;
        if (c.reconciling) {
            for (String room : c.rooms) {
                List<Long> missed = new ArrayList<>();
                for (JsonNode e : gateway.replayLines("room=" + URLEncoder.encode(room, StandardCharsets.UTF_8)
                        + "&after=" + c.sequences.resumeOffset(room))) {
                    missed.add(Offset.parse(e.get("offset").asText()).index());
                }
                c.sequences.reconcile(room, missed);
            }
            c.reconciling = false;
            for (JsonNode e : c.held) onEvent(c, e);
            c.held.clear();
        }
        c.subscribed = true;
    }

    private static void onEvent(Client c, JsonNode l) {
        String[] name = l.get("name").asText().split("::");
        JsonNode args = l.get("args");
        if (name.length != 3 || args.size() != 2) throw new AssertionError(c.id + ": unexpected event " + l);
        c.sequences.received(name[0] + "/" + name[1], Offset.parse(args.get(1).asText()).index());
    }

    @Override
    public void close() {
        node.exit("{\"cmd\":\"exit\"}");
    }
}

package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static io.tidings.server.ws.socketio.SocketIoDriver.is;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Engine.IO / Socket.IO framing, seen from a raw {@code ws} client and plain HTTP: the handshake
 * errors, the open packet, the heartbeat, namespaces, the connect timeout, and malformed packets
 * closing only their own connection.
 */
class SocketIoProtocolTest {
    static final String WS = "/socket.io/?EIO=4&transport=websocket";

    @TempDir
    Path dir;
    TestGateway g;
    SocketIoDriver d;

    void start(Consumer<io.tidings.server.GatewayConfig> tweak) {
        g = new TestGateway(dir, tweak);
        d = new SocketIoDriver(g);
    }

    @AfterEach
    void stop() {
        if (d != null) d.close();
        if (g != null) g.close();
    }

    @Test
    void pollingAndBadHandshakesGet400WithTheReferenceErrorNotAHang() {
        start(c -> {});
        assertHandshake("/socket.io/?EIO=4&transport=polling", 0, "Transport unknown");
        assertHandshake("/socket.io/?EIO=4&transport=polling&t=abc", 0, "Transport unknown");
        assertHandshake("/socket.io/?EIO=4", 0, "Transport unknown");
        assertHandshake("/socket.io/?EIO=3&transport=websocket", 5, "Unsupported protocol version");
        assertHandshake("/socket.io/?transport=websocket", 5, "Unsupported protocol version");
        assertHandshake("/socket.io/?EIO=4&transport=websocket&sid=abc", 1, "Session ID unknown");
        assertHandshake("/socket.io/?EIO=4&transport=websocket", 3, "Bad request"); // not an upgrade
        TestGateway.Response post = g.send(HttpRequest.newBuilder(URI.create(g.http("/socket.io/?EIO=4&transport=polling")))
                .POST(HttpRequest.BodyPublishers.ofString("40")).build());
        assertThat(post.status()).isEqualTo(400);
        // a raw WebSocket on the polling URL is refused with the same body, and so is the real client told to poll
        d.raw("ws-on-polling-url", "/socket.io/?EIO=4&transport=polling");
        JsonNode refused = d.await("refusal", l -> is(l, "rawrefused", "ws-on-polling-url"));
        assertThat(refused.get("status").asInt()).isEqualTo(400);
        assertThat(refused.get("body").asText()).isEqualTo("{\"code\":0,\"message\":\"Transport unknown\"}");
        var polling = SocketIoDriver.cmd("connect", "poller").put("reconnection", false);
        polling.putArray("transports").add("polling");
        polling.putObject("auth").put("token", TestGateway.token("alice", "teamspaceA"));
        d.send(polling);
        assertThat(d.await("connect_error of the polling client", l -> is(l, "connect_error", "poller"))
                .get("message").asText()).isEqualTo("xhr poll error");
    }

    private void assertHandshake(String path, int code, String message) {
        TestGateway.Response r = g.send(HttpRequest.newBuilder(URI.create(g.http(path))).GET().build());
        assertThat(r.status()).as(path).isEqualTo(400);
        assertThat(r.json().get("code").asInt()).as(path).isEqualTo(code);
        assertThat(r.json().get("message").asText()).as(path).isEqualTo(message);
    }

    @Test
    void openPacketHeartbeatAndPingTimeout() {
        start(c -> {
            c.socketIoPingIntervalMs = 300;
            c.socketIoPingTimeoutMs = 400;
            c.socketIoMaxPayloadBytes = 4096;
        });
        d.raw("r", WS);
        JsonNode open = d.await("open packet", l -> is(l, "raw", "r"));
        String frame = open.get("frame").asText();
        assertThat(frame).startsWith("0{");
        JsonNode o = SocketIoDriver.parse(frame.substring(1));
        assertThat(o.get("sid").asText()).isNotEmpty();
        assertThat(o.get("upgrades").isArray() && o.get("upgrades").isEmpty()).isTrue();
        assertThat(o.get("pingInterval").asLong()).isEqualTo(300);
        assertThat(o.get("pingTimeout").asLong()).isEqualTo(400);
        assertThat(o.get("maxPayload").asLong()).isEqualTo(4096);

        // answering pings keeps the connection: three rounds. The next ping is only sent after the
        // pong, so marking before the pong never skips one.
        for (int i = 0; i < 3; i++) {
            d.await("ping " + i, l -> is(l, "raw", "r") && "2".equals(l.get("frame").asText()));
            d.mark();
            d.rawSend("r", "3");
        }
        // not answering closes it
        d.await("ping", l -> is(l, "raw", "r") && "2".equals(l.get("frame").asText()));
        assertThat(d.await("close after ping timeout", l -> is(l, "rawclose", "r")).get("code").asInt()).isEqualTo(4002);

        // the real client answers pings by itself and stays connected across many intervals,
        // counted by a raw watcher that sees (and answers) four pings meanwhile
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", "{\"account\":\"teamspaceA\"}");
        d.mark();
        d.raw("watch", WS);
        for (int i = 0; i < 4; i++) {
            d.await("ping " + i + " on the watcher", l -> is(l, "raw", "watch") && "2".equals(l.get("frame").asText()));
            d.mark();
            d.rawSend("watch", "3");
        }
        g.publish("teamspaceA", "after", "{}");
        d.await("event after several ping intervals", l -> SocketIoDriver.isEvent(l, "a", "teamspaceA::after"));
        assertThat(d.all()).noneMatch(l -> is(l, "disconnect", "a"));
    }

    @Test
    void unknownNamespaceGetsInvalidNamespaceAndTheConnectionStays() {
        start(c -> {});
        d.raw("r", WS + "&token=" + TestGateway.token("alice", "teamspaceA"));
        d.await("open", l -> is(l, "raw", "r"));
        d.rawSend("r", "40/admin,");
        JsonNode err = d.await("connect error", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("44"));
        assertThat(err.get("frame").asText()).isEqualTo("44/admin,{\"message\":\"Invalid namespace\"}");
        d.rawSend("r", "40");
        JsonNode ok = d.await("connect", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("40"));
        JsonNode body = SocketIoDriver.parse(ok.get("frame").asText().substring(2));
        assertThat(body.get("sid").asText()).isNotEmpty();
        assertThat(body.get("pid").asText()).isNotEmpty();
        d.rawSend("r", "420[\"join\",{\"account\":\"teamspaceA\"}]");
        assertThat(d.await("ack", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("430")).get("frame").asText())
                .isEqualTo("430[{\"ok\":true,\"room\":\"teamspaceA\"}]");
        String offset = g.publish("teamspaceA/m1", "newIssues", "{\"a\":1}");
        assertThat(d.await("event", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("42")).get("frame").asText())
                .isEqualTo("42[\"teamspaceA::m1::newIssues\",{\"a\":1},\"" + offset + "\"]");
        assertThat(d.since()).noneMatch(l -> is(l, "rawclose", "r"));
    }

    @Test
    void noConnectWithinTheConnectTimeoutCloses() {
        start(c -> c.socketIoConnectTimeoutMs = 300);
        d.raw("r", WS);
        d.await("open", l -> is(l, "raw", "r"));
        assertThat(d.await("close", l -> is(l, "rawclose", "r")).get("code").asInt()).isEqualTo(4002);
    }

    @Test
    void malformedPacketsCloseOnlyTheirOwnConnection() {
        start(c -> c.socketIoMaxPayloadBytes = 2048);
        String token = TestGateway.token("alice", "teamspaceA");
        d.connected("good", token);
        d.join("good", "{\"account\":\"teamspaceA\"}");

        // each is sent on its own raw connection, either before or after a successful CONNECT
        List<String[]> bad = List.of(
                new String[]{"pre", "x"},                                  // unknown Engine.IO type
                new String[]{"pre", ""},                                   // empty packet
                new String[]{"pre", "2"},                                  // ping from the client: wrong direction
                new String[]{"pre", "42[\"join\",{\"account\":\"teamspaceA\"}]"}, // event before CONNECT
                new String[]{"pre", "40[1]"},                              // CONNECT payload not an object
                new String[]{"pre", "4"},                                  // empty Socket.IO packet
                new String[]{"pre", "49"},                                 // unknown Socket.IO type
                new String[]{"post", "42[\"join\""},                       // truncated JSON
                new String[]{"post", "42[]"},                              // event without a name
                new String[]{"post", "42{\"a\":1}"},                       // event payload not an array
                new String[]{"post", "42[\"connect\"]"},                   // reserved event name
                new String[]{"post", "42[\"join\",{}] trailing"},          // trailing garbage
                new String[]{"post", "40"},                                // CONNECT twice
                new String[]{"post", "44{\"message\":\"x\"}"},             // CONNECT_ERROR from a client
                new String[]{"post", "41{}"},                              // DISCONNECT with a payload
                new String[]{"post", "42/admin,[\"join\",{}]"},            // event on a namespace never connected
                new String[]{"post", "451-[\"join\",{\"_placeholder\":true,\"num\":0}]"}, // binary event
                new String[]{"post", "42[\"join\",\"" + "x".repeat(3000) + "\"]", "1009"}); // above maxPayload: "message too big"
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < bad.size(); i++) {
            String id = "bad" + i;
            ids.add(id);
            d.raw(id, WS + "&token=" + token);
            d.await("open of " + id, l -> is(l, "raw", id));
            if (bad.get(i)[0].equals("post")) {
                d.rawSend(id, "40");
                d.await("connect of " + id, l -> is(l, "raw", id) && l.get("frame").asText().startsWith("40"));
            }
        }
        for (int i = 0; i < bad.size(); i++) {
            int n = i;
            d.rawSend(ids.get(i), bad.get(i)[1]);
            g.publish("teamspaceA", "tick", "{\"i\":" + i + "}");
            JsonNode closed = d.await("close of " + ids.get(i) + " after " + abbreviate(bad.get(i)[1]), l -> is(l, "rawclose", ids.get(n)));
            int expected = bad.get(i).length > 2 ? Integer.parseInt(bad.get(i)[2]) : 1002; // 1002: protocol error
            assertThat(closed.get("code").asInt()).as("close code after " + abbreviate(bad.get(i)[1])).isEqualTo(expected);
        }
        g.publish("teamspaceA", "end", "{}");
        List<JsonNode> events = d.eventsUntil("good", "teamspaceA::end");
        assertThat(events).hasSize(bad.size() + 1);
        for (int i = 0; i < bad.size(); i++) assertThat(events.get(i).get("args").get(0).get("i").asInt()).isEqualTo(i);
        assertThat(d.since()).noneMatch(l -> is(l, "disconnect", "good"));
    }

    private static String abbreviate(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }

    @Test
    void clientDisconnectPacketEndsTheSessionButNotTheConnection() {
        start(c -> {});
        d.raw("r", WS + "&token=" + TestGateway.token("alice", "teamspaceA"));
        d.await("open", l -> is(l, "raw", "r"));
        d.rawSend("r", "40");
        String first = d.await("connect", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("40")).get("frame").asText();
        d.rawSend("r", "42[\"join\",{\"account\":\"teamspaceA\"}]");
        d.rawSend("r", "41");
        d.mark();
        g.publish("teamspaceA", "dropped", "{}");
        d.rawSend("r", "40");
        String second = d.await("second connect", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("40")).get("frame").asText();
        assertThat(second).isNotEqualTo(first);
        d.rawSend("r", "420[\"join\",{\"account\":\"teamspaceA\"}]");
        d.await("ack", l -> is(l, "raw", "r") && l.get("frame").asText().startsWith("430"));
        g.publish("teamspaceA", "kept", "{}");
        d.await("kept", l -> is(l, "raw", "r") && l.get("frame").asText().contains("teamspaceA::kept"));
        assertThat(d.since()).noneMatch(l -> is(l, "raw", "r") && l.get("frame").asText().contains("dropped"));
        assertThat(d.since()).noneMatch(l -> is(l, "rawclose", "r"));
    }
}

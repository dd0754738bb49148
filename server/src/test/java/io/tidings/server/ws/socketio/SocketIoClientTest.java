package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.TestGateway;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.tidings.server.ws.socketio.SocketIoDriver.is;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The unmodified socket.io-client@4 ({@code transports: ['websocket']}) against a real gateway:
 * credentials, the 3D Repo room contract, event names and payloads, credentialError, acks.
 */
class SocketIoClientTest {
    static final String MODEL = "00000000-0000-0000-0000-000000000000";
    static final List<String> SEED_KINDS = List.of("newIssues", "newComment", "commentChanged", "commentDeleted",
            "modelStatusChanged", "issueChanged", "newModel");

    @TempDir
    Path dir;
    TestGateway g;
    SocketIoDriver d;

    @BeforeEach
    void start() {
        g = new TestGateway(dir);
        d = new SocketIoDriver(g);
    }

    @AfterEach
    void stop() {
        if (d != null) d.close();
        if (g != null) g.close();
    }

    @Test
    void validTokenInAuthConnectsWithSidAndPid() {
        JsonNode c = d.connected("a", TestGateway.token("alice", "teamspaceA"));
        assertThat(c.get("sid").asText()).matches("[A-Za-z0-9_-]{20}");
        assertThat(c.get("recovered").asBoolean()).isFalse();
        // pid is private to the client; its presence shows in the offsets that events carry (recovery tests)
        assertThat(d.join("a", "{\"account\":\"teamspaceA\"}").get("ok").asBoolean()).isTrue();
    }

    @Test
    void tokenFromCookieQueryOrBearerHeaderIsAccepted() {
        String token = TestGateway.token("alice", "teamspaceA");
        ObjectNode cookie = SocketIoDriver.cmd("connect", "cookie");
        cookie.putObject("headers").put("Cookie", "other=1; Authorization=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
        d.send(cookie);
        ObjectNode query = SocketIoDriver.cmd("connect", "query");
        query.putObject("query").put("token", token);
        d.send(query);
        ObjectNode header = SocketIoDriver.cmd("connect", "header");
        header.putObject("headers").put("Authorization", "Bearer " + token);
        d.send(header);
        for (String id : List.of("cookie", "query", "header")) {
            d.await("connect of " + id, l -> is(l, "connect", id));
            assertThat(d.join(id, "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").get("ok").asBoolean()).isTrue();
        }
        g.publish("teamspaceA/m1", "newIssues", "[{\"n\":1}]");
        for (String id : List.of("cookie", "query", "header")) {
            assertThat(d.eventsUntil(id, "teamspaceA::m1::newIssues")).hasSize(1);
        }
    }

    @Test
    void missingOrInvalidCredentialsGetConnectErrorAndNoReconnect() {
        d.connect("none", null);
        d.connect("forged", TestGateway.token("alice", "teamspaceA") + "x");
        d.connect("expired", new io.tidings.server.auth.TokenVerifier(TestGateway.SECRET)
                .mint("alice", List.of("teamspaceA"), java.time.Duration.ofSeconds(-5)));
        JsonNode none = d.await("connect_error none", l -> is(l, "connect_error", "none"));
        JsonNode forged = d.await("connect_error forged", l -> is(l, "connect_error", "forged"));
        JsonNode expired = d.await("connect_error expired", l -> is(l, "connect_error", "expired"));
        assertThat(none.get("message").asText()).isEqualTo("missing token");
        assertThat(forged.get("message").asText()).isEqualTo("invalid token");
        assertThat(expired.get("message").asText()).isEqualTo("token expired");
        for (JsonNode e : List.of(none, forged, expired)) {
            assertThat(e.get("data").get("code").asText()).isEqualTo("unauthorized");
            assertThat(e.get("active").asBoolean()).as("client gave up: no automatic reconnection").isFalse();
        }
        assertThat(d.since()).noneMatch(l -> "connect".equals(l.path("ev").asText()));
    }

    @Test
    void teamspaceAndModelRoomsReceiveExactlyTheirEventsUnderTheirNames() {
        String token = TestGateway.token("alice", "teamspaceA", "teamspaceB");
        for (String id : List.of("ts", "m1", "m2")) d.connected(id, token);
        d.join("ts", "{\"account\":\"teamspaceA\"}");
        d.join("m1", "{\"account\":\"teamspaceA\",\"model\":\"" + MODEL + "\"}");
        d.join("m2", "{\"account\":\"teamspaceA\",\"model\":\"m2\"}");

        String o1 = g.publish("teamspaceA/" + MODEL, "newIssues", "[{\"_id\":\"i1\",\"title\":\"Leak\"}]");
        String o2 = g.publish("teamspaceA/m2", "newComment", "{\"comment\":\"hello\"}");
        String o3 = g.publish("teamspaceA", "newModel", "{\"model\":\"m3\"}");
        g.publish("teamspaceB/" + MODEL, "newIssues", "[{\"_id\":\"other\"}]");
        g.publish("teamspaceAB/" + MODEL, "newIssues", "[{\"_id\":\"prefix-but-not-below\"}]");
        // markers, one per client, published last: once a client has its marker it has everything before it
        g.publish("teamspaceA", "end", "{}");
        g.publish("teamspaceA/" + MODEL, "end", "{}");
        g.publish("teamspaceA/m2", "end", "{}");

        assertThat(names(d.eventsUntil("ts", "teamspaceA::end"))).containsExactly(
                "teamspaceA::" + MODEL + "::newIssues", "teamspaceA::m2::newComment", "teamspaceA::newModel", "teamspaceA::end");
        List<JsonNode> m1 = d.eventsUntil("m1", "teamspaceA::" + MODEL + "::end");
        assertThat(names(m1)).containsExactly("teamspaceA::" + MODEL + "::newIssues", "teamspaceA::" + MODEL + "::end");
        assertThat(m1.get(0).get("args")).hasSize(2);
        assertThat(m1.get(0).get("args").get(0).toString()).isEqualTo("[{\"_id\":\"i1\",\"title\":\"Leak\"}]");
        assertThat(m1.get(0).get("args").get(1).asText()).isEqualTo(o1);
        assertThat(names(d.eventsUntil("m2", "teamspaceA::m2::end"))).containsExactly(
                "teamspaceA::m2::newComment", "teamspaceA::m2::end");
        List<JsonNode> ts = d.eventsUntil("ts", "teamspaceA::end");
        assertThat(List.of(ts.get(0).get("args").get(1).asText(), ts.get(1).get("args").get(1).asText(),
                ts.get(2).get("args").get(1).asText())).containsExactly(o1, o2, o3);
    }

    @Test
    void everySeedEventKindArrivesWithItsDataAndOffset() {
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"" + MODEL + "\"}");
        List<String> offsets = new ArrayList<>();
        for (int i = 0; i < SEED_KINDS.size(); i++) {
            offsets.add(g.publish("teamspaceA/" + MODEL, SEED_KINDS.get(i), "{\"kind\":\"" + SEED_KINDS.get(i) + "\",\"i\":" + i + "}"));
        }
        List<JsonNode> events = d.eventsUntil("a", "teamspaceA::" + MODEL + "::newModel");
        assertThat(events).hasSize(SEED_KINDS.size());
        for (int i = 0; i < SEED_KINDS.size(); i++) {
            JsonNode e = events.get(i);
            assertThat(e.get("name").asText()).isEqualTo("teamspaceA::" + MODEL + "::" + SEED_KINDS.get(i));
            assertThat(e.get("args").get(0).toString()).isEqualTo("{\"kind\":\"" + SEED_KINDS.get(i) + "\",\"i\":" + i + "}");
            assertThat(e.get("args").get(1).asText()).as("last argument is the event's offset").isEqualTo(offsets.get(i));
        }
    }

    @Test
    void refusedJoinGetsCredentialErrorNamingTheRoomAndTheConnectionStays() {
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.emit("a", "no-ack", false, "join", "{\"account\":\"teamspaceB\",\"model\":\"m9\"}");
        JsonNode err = d.await("credentialError", l -> SocketIoDriver.isEvent(l, "a", "credentialError"));
        JsonNode payload = err.get("args").get(0);
        assertThat(payload.get("room").asText()).isEqualTo("teamspaceB/m9");
        assertThat(payload.get("account").asText()).isEqualTo("teamspaceB");
        assertThat(payload.get("model").asText()).isEqualTo("m9");
        assertThat(payload.get("message").asText()).contains("teamspaceB/m9");
        assertThat(err.get("args")).as("credentialError is not a log event: no offset string").hasSize(1);

        g.publish("teamspaceB/m9", "newIssues", "[]");
        assertThat(d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").get("ok").asBoolean()).isTrue();
        g.publish("teamspaceA/m1", "newIssues", "[]");
        assertThat(names(d.eventsUntil("a", "teamspaceA::m1::newIssues")))
                .containsExactly("credentialError", "teamspaceA::m1::newIssues");
        assertThat(d.since()).noneMatch(l -> is(l, "disconnect", "a"));
    }

    @Test
    void acksAnswerJoinLeaveAndUnknownEvents() {
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        JsonNode ok = d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}");
        assertThat(ok.toString()).isEqualTo("{\"ok\":true,\"room\":\"teamspaceA/m1\"}");
        assertThat(d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").get("ok").asBoolean()).as("joining twice is harmless").isTrue();
        JsonNode refused = d.join("a", "{\"account\":\"teamspaceC\"}");
        assertThat(refused.get("ok").asBoolean()).isFalse();
        assertThat(refused.get("room").asText()).isEqualTo("teamspaceC");
        JsonNode malformed = d.join("a", "{\"model\":\"m1\"}");
        assertThat(malformed.get("ok").asBoolean()).isFalse();
        assertThat(malformed.get("message").asText()).contains("account");

        d.emit("a", "unknown", true, "subscribe", "{}");
        JsonNode unknown = d.await("ack of unknown event", l -> is(l, "ack", "a") && "unknown".equals(l.path("tag").asText()));
        assertThat(unknown.get("args").get(0).get("ok").asBoolean()).isFalse();

        g.publish("teamspaceA/m1", "newIssues", "{\"n\":1}");
        d.eventsUntil("a", "teamspaceA::m1::newIssues");
        assertThat(d.leave("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").toString()).isEqualTo("{\"ok\":true,\"room\":\"teamspaceA/m1\"}");
        assertThat(d.leave("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").get("ok").asBoolean()).isFalse();
        d.mark();
        g.publish("teamspaceA/m1", "newIssues", "{\"n\":2}");
        d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m2\"}");
        g.publish("teamspaceA/m2", "end", "{}");
        assertThat(names(d.eventsUntil("a", "teamspaceA::m2::end"))).as("nothing from the room it left")
                .containsExactly("teamspaceA::m2::end");
    }

    @Test
    void deeperRoomsAreNamedLikeTheirModelAndTheUserRoomJoinsAsAccountUser() {
        d.connected("a", TestGateway.token("alice", "teamspaceA"));
        d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}");
        assertThat(d.join("a", "{\"account\":\"user\",\"model\":\"alice\"}").get("ok").asBoolean()).isTrue();
        assertThat(d.join("a", "{\"account\":\"user\",\"model\":\"bob\"}").get("ok").asBoolean()).isFalse();
        g.publish("teamspaceA/m1/issues/42", "issueChanged", "{\"issue\":42}");
        g.publish("user/alice", "mention", "{\"by\":\"bob\"}");
        g.publish("user/bob", "mention", "{\"by\":\"carol\"}");
        g.publish("user/alice", "end", "{}");
        assertThat(names(d.eventsUntil("a", "user::alice::end")))
                .containsExactly("credentialError", "teamspaceA::m1::issueChanged", "user::alice::mention", "user::alice::end");
    }

    static List<String> names(List<JsonNode> events) {
        return events.stream().map(e -> e.get("name").asText()).toList();
    }
}

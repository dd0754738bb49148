package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.auth.TokenVerifier;
import io.tidings.server.ws.NativeCloseCodes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The native WebSocket protocol against a real gateway: frames, rooms, grants, errors, auth.
 * "Nothing else arrived" is checked with a marker: events reach a connection in offset order, so if
 * the next frame after publishing X (not due) and then M (due) is M, X was not delivered.
 */
class NativeProtocolTest {
    @TempDir
    Path dir;
    TestGateway g;

    @BeforeEach
    void start() {
        g = new TestGateway(dir);
    }

    @AfterEach
    void stop() {
        g.close();
    }

    @Test
    void welcomeJoinAndEventFramesCarryEverything() {
        try (WsTestClient c = WsTestClient.connect(g, TestGateway.token("alice", "teamspaceA"))) {
            JsonNode welcome = c.expect("welcome");
            assertThat(welcome.get("epoch").asText()).isEqualTo(g.gateway().log().epoch());
            assertThat(welcome.get("offset").asText()).isEqualTo(g.gateway().log().head().toString());
            assertThat(welcome.get("sub").asText()).isEqualTo("alice");

            c.joinLive("teamspaceA");
            String offset = g.publish("teamspaceA/m1", "newIssues", "{\"title\":\"t\",\"n\":[1,2.5,null],\"u\":\"\\u00e9\"}");
            JsonNode e = c.expect("event");
            assertThat(e.get("room").asText()).isEqualTo("teamspaceA/m1");
            assertThat(e.get("type").asText()).isEqualTo("newIssues");
            assertThat(e.get("offset").asText()).isEqualTo(offset);
            assertThat(e.get("data").toString()).isEqualTo("{\"title\":\"t\",\"n\":[1,2.5,null],\"u\":\"é\"}");
            JsonNode stored = g.replayLines("room=teamspaceA").get(0);
            assertThat(Instant.parse(e.get("time").asText())).isEqualTo(Instant.parse(stored.get("time").asText()));
        }
    }

    @Test
    void aRoomReceivesItsSubRoomsButNotItsSiblingsOrLookalikes() {
        String token = TestGateway.token("alice", "teamspaceA", "teamspaceAB");
        try (WsTestClient top = WsTestClient.welcomed(g, token);
             WsTestClient m1 = WsTestClient.welcomed(g, token);
             WsTestClient lookalike = WsTestClient.welcomed(g, token)) {
            top.joinLive("teamspaceA");
            m1.joinLive("teamspaceA/m1");
            lookalike.joinLive("teamspaceAB");

            String a = g.publish("teamspaceA/m1", "t", "1");
            String b = g.publish("teamspaceA/m2", "t", "2");
            String c = g.publish("teamspaceA", "t", "3");
            String d = g.publish("teamspaceAB/x", "t", "4");
            String e = g.publish("teamspaceA/m1/deep", "t", "5");

            assertThat(offsets(top.events(3))).containsExactly(a, b, c);
            assertThat(top.expect("event").get("offset").asText()).isEqualTo(e); // not d
            assertThat(offsets(m1.events(2))).containsExactly(a, e);             // not b, c, d
            assertThat(offsets(lookalike.events(1))).containsExactly(d);         // teamspaceAB is not below teamspaceA

            String marker = g.publish("teamspaceAB", "marker", "0");
            assertThat(lookalike.expect("event").get("offset").asText()).isEqualTo(marker);
            assertThat(top.pending() + m1.pending()).isZero();
        }
    }

    @Test
    void anEventInSeveralRoomsArrivesOncePerConnection() {
        String token = TestGateway.token("alice", "teamspaceA", "teamspaceB");
        try (WsTestClient both = WsTestClient.welcomed(g, token);
             WsTestClient onlyB = WsTestClient.welcomed(g, token)) {
            both.joinLive("teamspaceA");
            both.joinLive("teamspaceA/m1");
            both.joinLive("teamspaceB");
            onlyB.joinLive("teamspaceB");

            TestGateway.Response r = g.publishRaw("{\"rooms\":[\"teamspaceA/m1\",\"teamspaceB\"],\"type\":\"t\",\"data\":{}}");
            assertThat(r.status()).isEqualTo(200);
            String multi = r.json().get("offset").asText();
            String marker = g.publish("teamspaceB", "marker", "0");

            JsonNode first = both.expect("event");
            assertThat(first.get("offset").asText()).isEqualTo(multi);
            assertThat(first.get("room").asText()).isEqualTo("teamspaceA/m1");
            assertThat(roomsOf(first)).containsExactlyInAnyOrder("teamspaceA/m1", "teamspaceB");
            assertThat(both.expect("event").get("offset").asText()).isEqualTo(marker);

            JsonNode forB = onlyB.expect("event");
            assertThat(forB.get("offset").asText()).isEqualTo(multi);
            assertThat(forB.get("room").asText()).isEqualTo("teamspaceB");
            assertThat(roomsOf(forB)).containsExactly("teamspaceB"); // only the rooms this connection joined
            assertThat(onlyB.expect("event").get("offset").asText()).isEqualTo(marker);
            assertThat(g.gateway().log().stats().events()).isEqualTo(2); // stored once
        }
    }

    @Test
    void forbiddenJoinsAnswerWithAnErrorAndTheConnectionStaysUsable() {
        try (WsTestClient c = WsTestClient.welcomed(g, TestGateway.token("alice", "teamspaceA"))) {
            for (String room : List.of("teamspaceB", "teamspace", "teamspaceAB", "user/bob", "user")) {
                c.join(room);
                JsonNode err = c.expect("error");
                assertThat(err.get("code").asText()).as(room).isEqualTo("forbidden");
                assertThat(err.get("room").asText()).isEqualTo(room);
                assertThat(err.get("message").asText()).isNotEmpty();
            }
            c.joinLive("user/alice");       // always granted
            c.joinLive("teamspaceA/m1");    // below a grant
            String forbidden = g.publish("teamspaceB", "t", "0");
            String own = g.publish("user/alice", "t", "1");
            String sub = g.publish("teamspaceA/m1", "t", "2");
            assertThat(offsets(c.events(2))).containsExactly(own, sub).doesNotContain(forbidden);
        }
    }

    @Test
    void badFramesAndUnknownOpsAnswerWithErrorsAndTheConnectionStaysUsable() {
        try (WsTestClient c = WsTestClient.welcomed(g, TestGateway.token("alice", "teamspaceA"))) {
            Map<String, String> cases = new java.util.LinkedHashMap<>();
            cases.put("not json", "bad_request");
            cases.put("[1,2]", "bad_request");
            cases.put("\"join\"", "bad_request");
            cases.put("{}", "bad_request");
            cases.put("{\"op\":5}", "bad_request");
            cases.put("{\"op\":\"fly\"}", "unknown_op");
            cases.put("{\"op\":\"join\"}", "bad_request");
            cases.put("{\"op\":\"join\",\"room\":7}", "bad_request");
            cases.put("{\"op\":\"join\",\"room\":\"\"}", "bad_request");
            cases.put("{\"op\":\"join\",\"room\":\"teamspaceA//m1\"}", "bad_request");
            cases.put("{\"op\":\"join\",\"room\":\"teamspaceA/\"}", "bad_request");
            cases.put("{\"op\":\"join\",\"room\":\"teamspace A\"}", "bad_request");
            cases.put("{\"op\":\"leave\",\"room\":\"teamspaceA\"}", "not_joined");
            cases.put("{\"op\":\"leave\"}", "bad_request");
            for (Map.Entry<String, String> bad : cases.entrySet()) {
                c.send(bad.getKey());
                JsonNode err = c.expect("error");
                assertThat(err.get("code").asText()).as(bad.getKey()).isEqualTo(bad.getValue());
                assertThat(err.get("message").asText()).isNotEmpty();
            }
            c.send("{\"op\":\"ping\"}");
            c.expect("pong");
            c.joinLive("teamspaceA");
            String o = g.publish("teamspaceA", "t", "0");
            assertThat(c.expect("event").get("offset").asText()).isEqualTo(o);
        }
    }

    @Test
    void leaveStopsDeliveryForThatRoomOnly() {
        try (WsTestClient c = WsTestClient.welcomed(g, TestGateway.token("alice", "teamspaceA", "teamspaceB"))) {
            c.joinLive("teamspaceA");
            c.joinLive("teamspaceB");
            c.leave("teamspaceA");
            c.expectRoomFrame("left", "teamspaceA");
            g.publish("teamspaceA", "t", "0");
            String b = g.publish("teamspaceB", "t", "1");
            assertThat(c.expect("event").get("offset").asText()).isEqualTo(b);
            c.leave("teamspaceA");
            assertThat(c.expect("error").get("code").asText()).isEqualTo("not_joined");
        }
    }

    @Test
    void joiningMoreRoomsThanAllowedIsAnErrorNotAClose() {
        try (WsTestClient c = WsTestClient.welcomed(g, TestGateway.token("alice", "r"))) {
            for (int i = 0; i < 256; i++) c.joinLive("r/" + i);
            c.join("r/256");
            JsonNode err = c.expect("error");
            assertThat(err.get("code").asText()).isEqualTo("too_many_rooms");
            c.joinLive("r/3"); // rejoining a room it is in is fine
            String o = g.publish("r/255", "t", "0");
            assertThat(c.expect("event").get("offset").asText()).isEqualTo(o);
        }
    }

    @Test
    void missingInvalidForeignAndExpiredTokensAreClosedWith4001() {
        String foreign = new TokenVerifier("another-secret-another-secret-0123456789").mint("alice", List.of("teamspaceA"), Duration.ofHours(1));
        String expired = new TokenVerifier(TestGateway.SECRET).mint("alice", List.of("teamspaceA"), Duration.ofSeconds(-5));
        for (String token : new String[] {null, "garbage", foreign, expired}) {
            try (WsTestClient c = WsTestClient.connect(g, token)) {
                WsTestClient.Closed closed = c.awaitClose();
                assertThat(closed.code()).as(String.valueOf(token)).isEqualTo(NativeCloseCodes.UNAUTHORIZED);
                assertThat(closed.reason()).isNotEmpty();
                assertThat(c.pending()).as("no welcome before the close").isZero();
            }
        }
        assertThat(g.gateway().hub().sessionCount()).isZero();
    }

    @Test
    void theTokenIsTakenFromTheHeaderTheCookieOrTheQuery() {
        String token = TestGateway.token("alice", "teamspaceA");
        URI plain = URI.create(g.ws("/v1/ws"));
        try (WsTestClient header = WsTestClient.connect(plain, Map.of("Authorization", "Bearer " + token));
             WsTestClient cookie = WsTestClient.connect(plain, Map.of("Cookie", "other=1; Authorization=" + token));
             WsTestClient query = WsTestClient.connect(g, token)) {
            for (WsTestClient c : List.of(header, cookie, query)) {
                assertThat(c.expect("welcome").get("sub").asText()).isEqualTo("alice");
            }
        }
    }

    @Test
    void aTokenThatExpiresWhileConnectedCannotJoinAnyMore() throws Exception {
        Duration ttl = Duration.ofSeconds(2);
        String token = new TokenVerifier(TestGateway.SECRET).mint("alice", List.of("teamspaceA"), ttl);
        long expiresAt = com.fasterxml.jackson.databind.json.JsonMapper.builder().build()
                .readTree(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[1])).get("exp").asLong() * 1000;
        try (WsTestClient c = WsTestClient.welcomed(g, token)) {
            c.joinLive("teamspaceA");
            while (System.currentTimeMillis() <= expiresAt) Thread.sleep(50);
            c.join("teamspaceA/m1");
            assertThat(c.awaitClose().code()).isEqualTo(NativeCloseCodes.UNAUTHORIZED);
        }
    }

    @Test
    void binaryAndOversizedFramesCloseTheConnection() {
        String token = TestGateway.token("alice", "teamspaceA");
        try (WsTestClient c = WsTestClient.welcomed(g, token)) {
            c.sendBinary(new byte[] {1, 2, 3});
            assertThat(c.awaitClose().code()).isEqualTo(NativeCloseCodes.PROTOCOL_ERROR);
        }
        try (WsTestClient c = WsTestClient.welcomed(g, token)) {
            c.send("{\"op\":\"ping\",\"pad\":\"" + "x".repeat(g.gateway().config().maxInboundFrameBytes) + "\"}");
            int code = c.awaitClose().code();
            assertThat(code).isIn(NativeCloseCodes.PROTOCOL_ERROR, 1009);
        }
    }

    @Test
    void aConnectionThatSendsNothingForTheIdleTimeoutIsClosedWith4002WhileOneThatPingsStays() throws Exception {
        // pings from the server would be answered by the client's WebSocket stack and count as traffic: none here
        try (TestGateway idle = new TestGateway(dir.resolve("idle"), c -> {
                 c.idleTimeoutMs = 1_500;
                 c.pingIntervalMs = 600_000;
             });
             WsTestClient silent = WsTestClient.welcomed(idle, TestGateway.token("alice"));
             WsTestClient talking = WsTestClient.welcomed(idle, TestGateway.token("bob"))) {
            for (int i = 0; i < 8; i++) { // 4 s: well past the timeout
                talking.send("{\"op\":\"ping\"}");
                talking.expect("pong");
                Thread.sleep(500);
            }
            WsTestClient.Closed closed = silent.awaitClose();
            assertThat(closed.code()).isEqualTo(NativeCloseCodes.IDLE);
            assertThat(closed.reason()).isEqualTo("idle timeout: no frame received");
            talking.send("{\"op\":\"ping\"}");
            assertThat(talking.expect("pong")).isNotNull();
        }
    }

    static List<String> offsets(List<JsonNode> events) {
        return events.stream().map(e -> e.get("offset").asText()).toList();
    }

    static List<String> roomsOf(JsonNode event) {
        List<String> rooms = new java.util.ArrayList<>();
        event.path("rooms").forEach(r -> rooms.add(r.asText()));
        return rooms;
    }
}

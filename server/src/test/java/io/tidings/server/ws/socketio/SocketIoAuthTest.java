package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.GatewayConfig;
import io.tidings.server.TestGateway;
import io.tidings.server.auth.FakeApp;
import io.tidings.server.auth.TokenVerifier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static io.tidings.server.ws.socketio.SocketIoDriver.is;
import static io.tidings.server.ws.socketio.SocketIoDriver.isEvent;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Socket.IO uses the gateway's one {@code Authenticator}, as native and ActionCable do: the
 * authorization webhook (a real HTTP server) identifies a session cookie at CONNECT and decides the
 * joins its grants do not cover, also when a session is recovered after a restart; expired
 * credentials close a live connection with {@code credentialError} {@code token_expired}, and a
 * renewed token recovers the session. Driven by the real socket.io-client.
 */
class SocketIoAuthTest {
    @TempDir
    Path dir;
    FakeApp app;

    @BeforeEach
    void startApp() throws Exception {
        app = new FakeApp();
        app.sessions.put("s-alice", "alice");
        app.permissions.put("alice", Set.of("teamspaceA"));
    }

    @AfterEach
    void stopApp() {
        app.close();
    }

    TestGateway gateway(Consumer<GatewayConfig> more) {
        return new TestGateway(dir, c -> {
            app.configure(c);
            more.accept(c);
        });
    }

    /** Connects client {@code id} presenting only a session cookie, as a browser on the app's site would. */
    static void connectWithCookie(SocketIoDriver d, String id, String sessionId) {
        ObjectNode c = SocketIoDriver.cmd("connect", id);
        c.putObject("headers").put("Cookie", "connect.sid=" + sessionId);
        d.send(c);
    }

    static JsonNode awaitConnect(SocketIoDriver d, String id) {
        return d.await("connect of " + id, l -> is(l, "connect", id));
    }

    @Test
    void theWebhookIdentifiesASessionCookieAndDecidesEachJoin() {
        try (TestGateway g = gateway(c -> { }); SocketIoDriver d = new SocketIoDriver(g)) {
            connectWithCookie(d, "a", "s-alice");
            awaitConnect(d, "a");
            assertThat(d.join("a", "{\"account\":\"teamspaceA\",\"model\":\"m1\"}").path("ok").asBoolean()).isTrue();
            JsonNode refused = d.join("a", "{\"account\":\"teamspaceB\"}");
            assertThat(refused.path("ok").asBoolean()).isFalse();
            assertThat(refused.path("message").asText()).isEqualTo("not allowed to join room teamspaceB");
            JsonNode error = d.await("credentialError", l -> isEvent(l, "a", "credentialError")).get("args").get(0);
            assertThat(error.path("code").asText()).isEqualTo("forbidden");
            assertThat(error.path("room").asText()).isEqualTo("teamspaceB");

            d.mark();
            g.publish("teamspaceB", "newIssues", "{\"n\":1}");
            g.publish("teamspaceA/m1", "newIssues", "{\"n\":2}");
            List<JsonNode> events = d.eventsUntil("a", "teamspaceA::m1::newIssues");
            assertThat(events).hasSize(1);
            assertThat(events.get(0).get("args").get(0).path("n").asInt()).isEqualTo(2);
            assertThat(app.connects.get()).isEqualTo(1);
            assertThat(app.requests.get(0).path("protocol").asText()).isEqualTo("socketio");

            // the app does not know the session: CONNECT_ERROR with its message
            connectWithCookie(d, "b", "s-nobody");
            JsonNode denied = d.await("connect_error of b", l -> is(l, "connect_error", "b"));
            assertThat(denied.path("message").asText()).isEqualTo("please sign in again");
            assertThat(denied.path("data").path("code").asText()).isEqualTo("unauthorized");

            // the app fails: refused as unavailable (worth retrying), not hung
            app.sessions.put("s-carol", "carol");
            app.status = 500;
            connectWithCookie(d, "c", "s-carol");
            JsonNode unavailable = d.await("connect_error of c", l -> is(l, "connect_error", "c"));
            assertThat(unavailable.path("data").path("code").asText()).isEqualTo("auth_unavailable");

            assertThat(g.gateway().metrics().scrape())
                    .contains("tidings_auth_failures_total{protocol=\"socketio\",reason=\"denied\",} 1.0")
                    .contains("tidings_joins_total{outcome=\"forbidden\",protocol=\"socketio\",} 1.0");
        }
    }

    @Test
    void aRecoveryAfterARestartAsksTheWebhookAgainAndIsRefusedOnceTheRoomIsNoLongerAllowed() {
        try (TestGateway g = gateway(c -> { }); SocketIoDriver d = new SocketIoDriver(g)) {
            connectWithCookie(d, "a", "s-alice");
            awaitConnect(d, "a");
            assertThat(d.join("a", "{\"account\":\"teamspaceA\"}").path("ok").asBoolean()).isTrue();
            g.publish("teamspaceA", "t", "{\"n\":1}");
            d.await("event 1", l -> isEvent(l, "a", "teamspaceA::t"));
            int joinsAsked = app.joins.get();

            d.cut("a", true);
            g.restart(); // the webhook's answers were cached in the old process only
            g.publish("teamspaceA", "t", "{\"n\":2}");
            d.mark();
            d.reconnect("a");
            assertThat(awaitConnect(d, "a").path("recovered").asBoolean()).isTrue();
            assertThat(d.eventsUntil("a", "teamspaceA::t").get(0).get("args").get(0).path("n").asInt()).isEqualTo(2);
            assertThat(app.joins.get()).as("the restored room was authorized again").isGreaterThan(joinsAsked);

            app.permissions.put("alice", Set.of()); // revoked in the app
            d.cut("a", true);
            g.restart();
            g.publish("teamspaceA", "t", "{\"n\":3}");
            d.mark();
            d.reconnect("a");
            assertThat(awaitConnect(d, "a").path("recovered").asBoolean()).as("a fresh session, no replay").isFalse();
            g.publish("teamspaceA", "t", "{\"n\":4}");
            g.publish("user/alice", "t", "{\"n\":5}");
            d.join("a", "{\"account\":\"user\",\"model\":\"alice\"}");
            g.publish("user/alice", "t", "{\"n\":6}");
            List<JsonNode> events = d.eventsUntil("a", "user::alice::t");
            assertThat(events).extracting(e -> e.get("args").get(0).path("n").asInt()).containsExactly(6);
        }
    }

    @Test
    void expiredCredentialsCloseALiveConnectionWithCredentialErrorAndARenewedTokenRecoversTheSession() {
        try (TestGateway g = gateway(c -> c.credentialsGraceMs = 500); SocketIoDriver d = new SocketIoDriver(g)) {
            TokenVerifier tokens = new TokenVerifier(TestGateway.SECRET);
            d.connected("a", tokens.mint("alice", List.of("teamspaceA"), Duration.ofSeconds(5)));
            assertThat(d.join("a", "{\"account\":\"teamspaceA\"}").path("ok").asBoolean()).isTrue();
            ObjectNode renew = SocketIoDriver.cmd("auth", "a");
            renew.putObject("auth").put("token", tokens.mint("alice", List.of("teamspaceA"), Duration.ofHours(1)));
            d.send(renew); // what the client's auth callback would fetch on the next (re)connect
            g.publish("teamspaceA", "t", "{\"n\":1}");
            d.await("event 1", l -> isEvent(l, "a", "teamspaceA::t"));

            JsonNode expired = d.await("credentialError", l -> isEvent(l, "a", "credentialError")).get("args").get(0);
            assertThat(expired.path("code").asText()).isEqualTo("token_expired");
            assertThat(expired.path("message").asText()).isEqualTo("token expired");
            d.await("disconnect", l -> is(l, "disconnect", "a"));
            g.publish("teamspaceA", "t", "{\"n\":2}");
            assertThat(d.await("reconnect", l -> is(l, "connect", "a") && l.path("recovered").asBoolean())).isNotNull();
            d.await("event 2", l -> isEvent(l, "a", "teamspaceA::t") && l.get("args").get(0).path("n").asInt() == 2);
            assertThat(g.gateway().metrics().scrape()).contains("tidings_expired_disconnects_total{protocol=\"socketio\",} 1.0");
        }
    }

    @Test
    void aJoinAfterTheExpiryClosesAtOnceEvenWithinTheGrace() throws Exception {
        try (TestGateway g = gateway(c -> c.credentialsGraceMs = 60_000); SocketIoDriver d = new SocketIoDriver(g)) {
            String token = new TokenVerifier(TestGateway.SECRET).mint("alice", List.of("teamspaceA"), Duration.ofSeconds(5));
            ObjectNode c = SocketIoDriver.cmd("connect", "a").put("reconnection", false);
            c.putObject("auth").put("token", token);
            d.send(c);
            awaitConnect(d, "a");
            Thread.sleep(Math.max(0, new TokenVerifier(TestGateway.SECRET).verify(token).expiresAtMillis() - System.currentTimeMillis()) + 200);
            d.emit("a", "late", true, "join", "{\"account\":\"teamspaceA\"}");
            JsonNode expired = d.await("credentialError", l -> isEvent(l, "a", "credentialError")).get("args").get(0);
            assertThat(expired.path("code").asText()).isEqualTo("token_expired");
            d.await("disconnect", l -> is(l, "disconnect", "a"));
            assertThat(d.since()).noneMatch(l -> is(l, "ack", "a"));
        }
    }
}

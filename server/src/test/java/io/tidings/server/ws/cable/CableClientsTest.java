package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.tidings.server.ws.cable.CableNode.NOTIFICATIONS;
import static io.tidings.server.ws.cable.CableProtocolTest.LESSY_CREATE;
import static io.tidings.server.ws.cable.CableProtocolTest.LESSY_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real npm ActionCable clients, unmodified, against the gateway: @rails/actioncable (current)
 * and actioncable 5.2 (legacy, what the Lessy app uses), with a Lessy-style Authorization cookie.
 */
class CableClientsTest {
    @TempDir
    Path dir;

    @Test
    void currentClientIsWelcomedPingedAndConfirmed() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("rails", g, TestGateway.token("alice"))) {
            c.send("subscribe " + NOTIFICATIONS);
            assertThat(c.nextRaw("frame")).isEqualTo("{\"type\":\"welcome\"}");
            JsonNode subscribed = c.next("subscribed");
            assertThat(subscribed.get("identifier").asText()).isEqualTo(NOTIFICATIONS);
            for (int i = 0; i < 2; i++) {
                String frame = c.nextRaw("frame");
                // the client may have resent its subscribe before the first answer reached it
                while (frame.equals(CableProtocolTest.confirm(CableProtocolTest.NOTIFICATIONS_LITERAL))) frame = c.nextRaw("frame");
                assertThat(frame).matches("\\{\"type\":\"ping\",\"message\":\\d+}");
            }
            c.send("alive");
            assertThat(c.next("alive").get("opened").asInt()).as("one connection: pings keep it fresh").isEqualTo(1);
        }
    }

    @Test
    void lessyNotificationsReachTheirUserOnlyExactlyAsPublished() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode alice = CableNode.client("rails", g, TestGateway.token("alice"));
             CableNode bob = CableNode.client("rails", g, TestGateway.token("bob"))) {
            alice.send("subscribe " + NOTIFICATIONS);
            bob.send("subscribe " + NOTIFICATIONS);
            alice.next("subscribed");
            bob.next("subscribed");
            g.publish("user/bob", "create#projects", LESSY_CREATE);
            g.publish("user/alice", "update#tasks", LESSY_UPDATE);
            // per-room order: had alice been sent bob's event, it would arrive before her own
            JsonNode a = alice.next("received");
            assertThat(a.get("identifier").asText()).isEqualTo(NOTIFICATIONS);
            assertThat(a.get("message").toString()).isEqualTo(LESSY_UPDATE);
            assertThat(bob.next("received").get("message").toString()).isEqualTo(LESSY_CREATE);
        }
    }

    @Test
    void currentClientWithoutAValidCookieIsToldNotToReconnect() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            for (String token : new String[] {null, "not-a-token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.AAAA"}) {
                try (CableNode c = CableNode.client("rails", g, token)) {
                    c.send("subscribe " + NOTIFICATIONS);
                    assertThat(c.nextRaw("frame")).isEqualTo("{\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":false}");
                    JsonNode d = c.next("disconnected");
                    assertThat(d.at("/arg/willAttemptReconnect").asBoolean(true)).as("client stopped its monitor").isFalse();
                }
            }
        }
    }

    @Test
    void currentClientWhoseTokenExpiresIsDisconnectedReconnectsOnceAndStops() throws Exception {
        // a 3 s token, closed 1 s after its expiry; the client comes back once with the same (now expired) cookie
        String token = new io.tidings.server.auth.TokenVerifier(TestGateway.SECRET).mint("alice", java.util.List.of(),
                java.time.Duration.ofSeconds(3));
        try (TestGateway g = new TestGateway(dir, c -> c.credentialsGraceMs = 1_000);
             CableNode c = CableNode.client("rails", g, token)) {
            c.send("subscribe " + NOTIFICATIONS);
            c.next("subscribed");
            List<String> first = c.linesThrough("disconnected");
            assertThat(first).contains("frame {\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":true}");
            assertThat(CableNode.json(first.get(first.size() - 1).substring("disconnected ".length()))
                    .at("/arg/willAttemptReconnect").asBoolean()).as("allowed to come back with a refreshed cookie").isTrue();
            // the same cookie is still expired: told to stop
            assertThat(c.nextRaw("frame")).isEqualTo("{\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":false}");
            assertThat(c.next("disconnected").at("/arg/willAttemptReconnect").asBoolean(true)).isFalse();
        }
    }

    @Test
    void unknownChannelIsRejected() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("rails", g, TestGateway.token("alice"))) {
            c.send("subscribe {\"channel\":\"ChatChannel\",\"room\":\"lobby\"}");
            assertThat(c.next("rejected").get("identifier").asText()).isEqualTo("{\"channel\":\"ChatChannel\",\"room\":\"lobby\"}");
        }
    }

    @Test
    void mappedChannelsAreGrantedOrRefusedByTheToken() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.cableChannels = Map.of(
                "NotificationsChannel", "user/{$sub}", "ProjectChannel", "projects/{id}"));
             CableNode c = CableNode.client("rails", g, TestGateway.token("alice", "projects/42"))) {
            c.send("subscribe {\"channel\":\"ProjectChannel\",\"id\":43}");
            assertThat(c.next("rejected").get("identifier").asText()).isEqualTo("{\"channel\":\"ProjectChannel\",\"id\":43}");
            c.send("subscribe {\"channel\":\"ProjectChannel\",\"id\":42}");
            assertThat(c.next("subscribed").get("identifier").asText()).isEqualTo("{\"channel\":\"ProjectChannel\",\"id\":42}");
            g.publish("projects/43", "create#projects", "{\"action\":\"create#projects\",\"id\":43}");
            g.publish("projects/42", "create#projects", LESSY_CREATE);
            JsonNode r = c.next("received");
            assertThat(r.get("identifier").asText()).isEqualTo("{\"channel\":\"ProjectChannel\",\"id\":42}");
            assertThat(r.get("message").toString()).isEqualTo(LESSY_CREATE);
        }
    }

    @Test
    void legacyClientReceivesLessyNotifications() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("legacy", g, TestGateway.token("alice"))) {
            c.send("subscribe " + NOTIFICATIONS);
            assertThat(c.next("subscribed").get("identifier").asText()).isEqualTo(NOTIFICATIONS);
            g.publish("user/bob", "update#tasks", "{\"action\":\"update#tasks\",\"id\":1,\"updatedAt\":1}");
            g.publish("user/alice", "update#tasks", LESSY_UPDATE);
            assertThat(c.next("received").get("message").toString()).isEqualTo(LESSY_UPDATE);
            assertThat(c.nextRaw("frame")).matches("\\{\"type\":\"ping\",\"message\":\\d+}");
        }
    }

    @Test
    void legacyClientIsJustClosedWhenUnauthenticatedIfConfiguredSo() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.cableDisconnectFrames = DisconnectFrames.NONE);
             CableNode c = CableNode.client("legacy", g, "not-a-token")) {
            c.send("subscribe " + NOTIFICATIONS);
            List<String> lines = c.linesThrough("disconnected");
            assertThat(lines).noneMatch(l -> l.startsWith("frame ") || l.startsWith("uncaught "));
            // what a Rails 5.2 server did: the 5.2 client will try again later
            assertThat(CableNode.json(lines.get(lines.size() - 1).substring("disconnected ".length()))
                    .at("/arg/willAttemptReconnect").asBoolean()).isTrue();
        }
    }

    @Test
    void legacySafeDisconnectFrameStopsCurrentClientsWithoutBreakingTheLegacyOne() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.cableDisconnectFrames = DisconnectFrames.LEGACY_SAFE)) {
            try (CableNode legacy = CableNode.client("legacy", g, "not-a-token")) {
                legacy.send("subscribe " + NOTIFICATIONS);
                List<String> lines = legacy.linesThrough("disconnected");
                assertThat(lines).anyMatch(l -> l.startsWith("frame {\"type\":\"disconnect\""));
                assertThat(lines).noneMatch(l -> l.startsWith("uncaught "));
            }
            try (CableNode current = CableNode.client("rails", g, "not-a-token")) {
                current.send("subscribe " + NOTIFICATIONS);
                assertThat(current.next("disconnected").at("/arg/willAttemptReconnect").asBoolean(true)).isFalse();
            }
        }
    }

    @Test
    void theStandardDisconnectFrameBreaksTheLegacyClient() throws Exception {
        // Why the setting exists: the 5.2 client throws on the Rails 6+ frame, and cannot be recognised on the wire.
        try (TestGateway g = new TestGateway(dir);
             CableNode legacy = CableNode.client("legacy", g, "not-a-token")) {
            legacy.send("subscribe " + NOTIFICATIONS);
            assertThat(legacy.next("uncaught").get("name").asText()).isEqualTo("TypeError");
        }
    }
}

package io.tidings.server.ws.cable;

import io.tidings.server.TestGateway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.tidings.server.ws.cable.CableNode.NOTIFICATIONS;
import static io.tidings.server.ws.cable.CableNode.PROTOCOLS;
import static io.tidings.server.ws.cable.CableNode.cookie;
import static org.assertj.core.api.Assertions.assertThat;

/** Exact ActionCable frames (actioncable-v1-json), seen by a bare WebSocket. */
class CableProtocolTest {
    static final String LESSY_UPDATE = "{\"action\":\"update#tasks\",\"id\":23,\"updatedAt\":1515248100}";
    static final String LESSY_CREATE = "{\"action\":\"create#projects\",\"id\":42}";

    @TempDir
    Path dir;

    static String subscribe(String identifier) {
        return "{\"command\":\"subscribe\",\"identifier\":" + io.tidings.server.http.Json.quote(identifier) + "}";
    }

    static String confirm(String identifierLiteral) {
        return "{\"identifier\":" + identifierLiteral + ",\"type\":\"confirm_subscription\"}";
    }

    static String reject(String identifierLiteral) {
        return "{\"identifier\":" + identifierLiteral + ",\"type\":\"reject_subscription\"}";
    }

    static String message(String identifierLiteral, String data) {
        return "{\"identifier\":" + identifierLiteral + ",\"message\":" + data + "}";
    }

    static final String NOTIFICATIONS_LITERAL = io.tidings.server.http.Json.quote(NOTIFICATIONS);

    @Test
    void negotiatesTheSubprotocolWelcomesAndPingsEveryFewSeconds() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), PROTOCOLS, cookie(TestGateway.token("alice")))) {
            long before = System.currentTimeMillis() / 1000;
            assertThat(ws.nextLine()).isEqualTo("open actioncable-v1-json");
            assertThat(ws.nextLine()).isEqualTo("frame {\"type\":\"welcome\"}");
            Pattern ping = Pattern.compile("frame \\{\"type\":\"ping\",\"message\":(\\d+)}");
            long previous = 0;
            for (int i = 0; i < 2; i++) {
                Matcher m = ping.matcher(ws.nextLine());
                assertThat(m.matches()).as("a ping frame").isTrue();
                long seconds = Long.parseLong(m.group(1));
                assertThat(seconds).isBetween(Math.max(before, previous), System.currentTimeMillis() / 1000);
                previous = seconds;
            }
        }
    }

    @Test
    void extendedSubprotocolIsAnsweredAndItsWelcomeCarriesASessionId() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), "actioncable-v1-ext-json", cookie(TestGateway.token("alice")))) {
            assertThat(ws.nextLine()).isEqualTo("open actioncable-v1-ext-json");
            assertThat(ws.nextLine()).matches("frame \\{\"type\":\"welcome\",\"sid\":\"[A-Za-z0-9_-]{22}\"}");
        }
    }

    @Test
    void aClientOfferingOnlyUnknownSubprotocolsGetsNone() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), "actioncable-v1-msgpack", cookie(TestGateway.token("alice")))) {
            // ws refuses a handshake that selects no subprotocol, as browsers do
            assertThat(ws.nextLine()).isEqualTo("error Server sent no subprotocol");
        }
    }

    @Test
    void echoesTheIdentifierByteForByteAndAnswersEverySubscribe() throws Exception {
        // the same identifier as {"channel":"NotificationsChannel"}, written with spaces and a \\u escape
        String literal = "\"{\\\"channel\\\" : \\\"Notifications\\u0043hannel\\\"}\"";
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), PROTOCOLS, cookie(TestGateway.token("alice")))) {
            ws.nextRaw("open");
            assertThat(ws.nextFrame()).isEqualTo("{\"type\":\"welcome\"}");
            ws.send("{\"command\":\"subscribe\",\"identifier\":" + literal + "}");
            assertThat(ws.nextFrame()).isEqualTo(confirm(literal));
            ws.send("{\"command\":\"subscribe\",\"identifier\":" + literal + "}"); // newer clients resend until answered
            assertThat(ws.nextFrame()).isEqualTo(confirm(literal));

            g.publish("user/alice", "update#tasks", LESSY_UPDATE);
            g.publish("user/alice", "create#projects", LESSY_CREATE);
            // one subscription despite two subscribes: each event exactly once, data exactly as published
            assertThat(ws.nextFrame()).isEqualTo(message(literal, LESSY_UPDATE));
            assertThat(ws.nextFrame()).isEqualTo(message(literal, LESSY_CREATE));
        }
    }

    @Test
    void rejectsUnknownChannelsAndMalformedIdentifiersAndIgnoresOtherCommands() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), PROTOCOLS, cookie(TestGateway.token("alice")))) {
            ws.nextRaw("open");
            assertThat(ws.nextFrame()).isEqualTo("{\"type\":\"welcome\"}");
            ws.send(subscribe("{\"channel\":\"ChatChannel\"}"));
            assertThat(ws.nextFrame()).isEqualTo(reject("\"{\\\"channel\\\":\\\"ChatChannel\\\"}\""));
            ws.send(subscribe("not json"));
            assertThat(ws.nextFrame()).isEqualTo(reject("\"not json\""));
            ws.send(subscribe("{\"id\":1}"));
            assertThat(ws.nextFrame()).isEqualTo(reject("\"{\\\"id\\\":1}\""));
            // no answer to these; the next frame answers the subscribe after them
            ws.send("{\"command\":\"message\",\"identifier\":" + NOTIFICATIONS_LITERAL + ",\"data\":\"{\\\"action\\\":\\\"speak\\\"}\"}");
            ws.send("{\"command\":\"bogus\"}");
            ws.send("not json at all");
            ws.send("[1,2]");
            ws.send(subscribe(NOTIFICATIONS));
            assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
        }
    }

    @Test
    void channelMappingAndUnsubscribe() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.cableChannels = Map.of(
                "NotificationsChannel", "user/{$sub}", "ProjectChannel", "projects/{id}"));
             CableNode ws = CableNode.raw(g.ws("/cable"), PROTOCOLS, cookie(TestGateway.token("alice", "projects/42")))) {
            ws.nextRaw("open");
            ws.nextFrame();
            String project42 = "{\"channel\":\"ProjectChannel\",\"id\":42}";
            String project43 = "{\"channel\":\"ProjectChannel\",\"id\":\"43\"}";
            String slash = "{\"channel\":\"ProjectChannel\",\"id\":\"42/x\"}";
            ws.send(subscribe(project42));
            assertThat(ws.nextFrame()).isEqualTo(confirm(io.tidings.server.http.Json.quote(project42)));
            ws.send(subscribe(project43));
            assertThat(ws.nextFrame()).isEqualTo(reject(io.tidings.server.http.Json.quote(project43)));
            ws.send(subscribe(slash));
            assertThat(ws.nextFrame()).isEqualTo(reject(io.tidings.server.http.Json.quote(slash)));
            ws.send(subscribe(NOTIFICATIONS));
            assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));

            ws.send("{\"command\":\"unsubscribe\",\"identifier\":" + NOTIFICATIONS_LITERAL + "}");
            g.publish("projects/43", "create#projects", "{\"id\":43}");
            g.publish("user/alice", "create#projects", "{\"id\":1}"); // unsubscribed: not delivered
            g.publish("projects/42/tasks", "update#tasks", LESSY_UPDATE); // below projects/42: delivered
            assertThat(ws.nextFrame()).isEqualTo(message(io.tidings.server.http.Json.quote(project42), LESSY_UPDATE));
        }
    }

    @Test
    void unauthenticatedConnectionsAreToldAccordingToTheSetting() throws Exception {
        Map<DisconnectFrames, String> expected = Map.of(
                DisconnectFrames.STANDARD, "frame {\"type\":\"disconnect\",\"reason\":\"unauthorized\",\"reconnect\":false}",
                DisconnectFrames.LEGACY_SAFE, "frame {\"type\":\"disconnect\",\"identifier\":\"\",\"reason\":\"unauthorized\",\"reconnect\":false}");
        for (DisconnectFrames mode : DisconnectFrames.values()) {
            try (TestGateway g = new TestGateway(dir.resolve(mode.name()), c -> c.cableDisconnectFrames = mode);
                 CableNode ws = CableNode.raw(g.ws("/cable"), PROTOCOLS, cookie("not-a-token"))) {
                assertThat(ws.nextLine()).isEqualTo("open actioncable-v1-json");
                if (expected.containsKey(mode)) assertThat(ws.nextLine()).as(mode.name()).isEqualTo(expected.get(mode));
                assertThat(ws.nextLine()).as(mode.name()).isEqualTo("close 4001 invalid token");
            }
        }
    }
}

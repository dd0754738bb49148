package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.tidings.server.ws.cable.CableNode.NOTIFICATIONS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The resumable stream with the real @anycable/web client (extended protocol): a client cut off
 * while events are published gets every one of them, exactly once and in order, when it comes
 * back: from a restored session, and after a gateway restart (sessions are not kept across it; the
 * client's own positions in its re-subscribe are enough).
 */
class CableResumeTest {
    @TempDir
    Path dir;

    private static String lessy(int id) {
        return "{\"action\":\"update#tasks\",\"id\":" + id + ",\"updatedAt\":" + (1515248100 + id) + "}";
    }

    /** Connects, subscribes, receives events 1-3 live; returns their offsets. */
    private static List<String> connectAndReceiveThree(TestGateway g, CableNode c) throws InterruptedException {
        c.send("subscribe " + NOTIFICATIONS);
        // the subscribe carries its own history request (since the client's creation): both answers, in either order
        boolean subscribed = false, historyConfirmed = false;
        long deadline = CableNode.deadline();
        while (!subscribed || !historyConfirmed) {
            String line = c.nextLineBefore(deadline, "subscribed and history_received");
            if (line.startsWith("subscribed ")) {
                assertThat(CableNode.json(line.substring(11)).get("restored").asBoolean()).isFalse();
                subscribed = true;
            } else if (line.startsWith("info ")) {
                assertThat(CableNode.json(line.substring(5)).get("type").asText()).isEqualTo("history_received");
                historyConfirmed = true;
            } else if (line.startsWith("uncaught ")) {
                throw new AssertionError(line);
            }
        }
        List<String> offsets = new ArrayList<>();
        for (int id = 1; id <= 3; id++) offsets.add(g.publish("user/alice", "update#tasks", lessy(id)));
        g.publish("user/bob", "update#tasks", lessy(100));
        for (int id = 1; id <= 3; id++) assertReceived(c.next("received"), id, offsets.get(id - 1));
        return offsets;
    }

    private static void assertReceived(JsonNode r, int id, String offsetToken) {
        assertThat(r.get("message").toString()).isEqualTo(lessy(id));
        Offset o = Offset.parse(offsetToken);
        assertThat(r.at("/meta/stream").asText()).isEqualTo("user/alice");
        assertThat(r.at("/meta/epoch").asText()).isEqualTo(o.epoch());
        assertThat(r.at("/meta/offset").asLong()).isEqualTo(o.index());
    }

    /** After the history confirmation, publishes a marker and returns every message id received before it (marker included). */
    private static List<Integer> receivedThroughMarker(TestGateway g, CableNode c, int marker) throws InterruptedException {
        List<Integer> ids = new ArrayList<>();
        long deadline = CableNode.deadline();
        while (true) {
            String line = c.nextLineBefore(deadline, "marker " + marker + " (received " + ids + ")");
            if (line.startsWith("uncaught ")) throw new AssertionError(line);
            if (line.startsWith("received ")) {
                ids.add(CableNode.json(line.substring(9)).at("/message/id").asInt());
            } else if (line.startsWith("info ") && line.contains("\"history_received\"")) {
                g.publish("user/alice", "update#tasks", lessy(marker));
            } else if (line.startsWith("info ")) {
                throw new AssertionError("history not served: " + line);
            }
            if (!ids.isEmpty() && ids.get(ids.size() - 1) == marker) return ids;
        }
    }

    @Test
    void aClientCutOffWhileEventsArePublishedGetsEachOnceFromItsRestoredSession() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("anycable", g, TestGateway.token("alice"))) {
            connectAndReceiveThree(g, c);
            c.send("offline");
            c.next("disconnect");
            for (int id = 4; id <= 6; id++) g.publish("user/alice", "update#tasks", lessy(id));
            c.send("online");
            JsonNode connect = c.next("connect");
            assertThat(connect.get("restored").asBoolean()).as("session restored by sid").isTrue();
            assertThat(receivedThroughMarker(g, c, 7)).containsExactly(4, 5, 6, 7);
        }
    }

    @Test
    void aClientCutOffAcrossAGatewayRestartGetsEachOnce() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("anycable", g, TestGateway.token("alice"))) {
            connectAndReceiveThree(g, c);
            c.send("offline");
            c.next("disconnect");
            g.publish("user/alice", "update#tasks", lessy(4));
            g.publish("user/alice", "update#tasks", lessy(5));
            g.restart();
            g.publish("user/alice", "update#tasks", lessy(6));
            c.send("online");
            JsonNode connect = c.next("connect");
            assertThat(connect.get("restored").asBoolean()).as("sessions live in memory: the client re-subscribes").isFalse();
            assertThat(receivedThroughMarker(g, c, 7)).containsExactly(4, 5, 6, 7);
        }
    }

    @Test
    void aClientStillConnectedAtShutdownResumesAfterTheRestart() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode c = CableNode.client("anycable", g, TestGateway.token("alice"))) {
            connectAndReceiveThree(g, c);
            g.restart(); // graceful: the client is told {"type":"disconnect","reason":"server_restart","reconnect":true}
            assertThat(c.nextFrame()).isEqualTo("{\"type\":\"disconnect\",\"reason\":\"server_restart\",\"reconnect\":true}");
            c.next("disconnect");
            for (int id = 4; id <= 6; id++) g.publish("user/alice", "update#tasks", lessy(id));
            c.send("online"); // reconnect now instead of after the client's back-off
            assertThat(c.next("connect").get("restored").asBoolean()).isFalse();
            assertThat(receivedThroughMarker(g, c, 7)).containsExactly(4, 5, 6, 7);
        }
    }
}

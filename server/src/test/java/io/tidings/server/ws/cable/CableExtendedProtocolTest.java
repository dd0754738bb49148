package io.tidings.server.ws.cable;

import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.tidings.server.ws.cable.CableNode.NOTIFICATIONS;
import static io.tidings.server.ws.cable.CableNode.cookie;
import static io.tidings.server.ws.cable.CableProtocolTest.NOTIFICATIONS_LITERAL;
import static io.tidings.server.ws.cable.CableProtocolTest.confirm;
import static org.assertj.core.api.Assertions.assertThat;

/** Exact frames of AnyCable's extended protocol (actioncable-v1-ext-json): offsets, history, session restore. */
class CableExtendedProtocolTest {
    static final String EXT = "actioncable-v1-ext-json";

    @TempDir
    Path dir;

    static String broadcast(String data, String room, String offsetToken) {
        Offset o = Offset.parse(offsetToken);
        return "{\"identifier\":" + NOTIFICATIONS_LITERAL + ",\"message\":" + data + ",\"stream_id\":" + Json.quote(room)
                + ",\"epoch\":\"" + o.epoch() + "\",\"offset\":" + o.index() + "}";
    }

    static String typed(String type) {
        return "{\"identifier\":" + NOTIFICATIONS_LITERAL + ",\"type\":\"" + type + "\"}";
    }

    static String subscribeWithHistory(String history) {
        return "{\"command\":\"subscribe\",\"identifier\":" + NOTIFICATIONS_LITERAL + ",\"history\":" + history + "}";
    }

    static String history(String history) {
        return "{\"command\":\"history\",\"identifier\":" + NOTIFICATIONS_LITERAL + (history == null ? "" : ",\"history\":" + history) + "}";
    }

    static String position(String offsetToken) {
        Offset o = Offset.parse(offsetToken);
        return "{\"since\":0,\"streams\":{\"user/alice\":{\"epoch\":\"" + o.epoch() + "\",\"offset\":" + o.index() + "}}}";
    }

    private static String welcomeSid(CableNode ws) throws InterruptedException {
        assertThat(ws.nextLine()).isEqualTo("open " + EXT);
        Matcher m = Pattern.compile("frame \\{\"type\":\"welcome\",\"sid\":\"([^\"]+)\"}").matcher(ws.nextLine());
        assertThat(m.matches()).isTrue();
        return m.group(1);
    }

    @Test
    void broadcastsCarryStreamEpochAndTheLogOffset() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")))) {
            welcomeSid(ws);
            ws.send(CableProtocolTest.subscribe(NOTIFICATIONS));
            assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
            String offset = g.publish("user/alice", "update#tasks", CableProtocolTest.LESSY_UPDATE);
            assertThat(ws.nextFrame()).isEqualTo(broadcast(CableProtocolTest.LESSY_UPDATE, "user/alice", offset));
            assertThat(Offset.parse(offset).index()).isLessThan(1L << 53);
        }
    }

    @Test
    void subscribeWithAPositionReplaysWhatFollowsItThenConfirmsHistoryThenStreamsLive() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String e1 = g.publish("user/alice", "t", "{\"id\":1}");
            String e2 = g.publish("user/alice", "t", "{\"id\":2}");
            g.publish("user/bob", "t", "{\"id\":99}");
            String e3 = g.publish("user/alice", "t", "{\"id\":3}");
            try (CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")))) {
                welcomeSid(ws);
                ws.send(subscribeWithHistory(position(e1)));
                assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":2}", "user/alice", e2));
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":3}", "user/alice", e3));
                assertThat(ws.nextFrame()).isEqualTo(typed("confirm_history"));
                String e4 = g.publish("user/alice", "t", "{\"id\":4}");
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":4}", "user/alice", e4));
            }
        }
    }

    @Test
    void historySinceATimeReplaysByAppendTime() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String e1 = g.publish("user/alice", "t", "{\"id\":1}");
            try (CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")))) {
                welcomeSid(ws);
                // since the beginning of time: everything retained (nothing was ever deleted)
                ws.send(subscribeWithHistory("{\"since\":0}"));
                assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":1}", "user/alice", e1));
                assertThat(ws.nextFrame()).isEqualTo(typed("confirm_history"));
                // since the future: nothing to replay, still confirmed
                ws.send(history("{\"since\":" + (System.currentTimeMillis() / 1000 + 3600) + "}"));
                assertThat(ws.nextFrame()).isEqualTo(typed("confirm_history"));
                String e2 = g.publish("user/alice", "t", "{\"id\":2}");
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":2}", "user/alice", e2));
            }
        }
    }

    @Test
    void positionsThatCannotBeServedAreRejectedAndTheSubscriptionStreamsLive() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String e1 = g.publish("user/alice", "t", "{\"id\":1}");
            Offset o = Offset.parse(e1);
            try (CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")))) {
                welcomeSid(ws);
                String otherEpoch = "{\"streams\":{\"user/alice\":{\"epoch\":\"zzzzzzzzzzzz\",\"offset\":" + o.index() + "}}}";
                ws.send(subscribeWithHistory(otherEpoch));
                assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
                assertThat(ws.nextFrame()).isEqualTo(typed("reject_history"));
                String ahead = "{\"streams\":{\"user/alice\":{\"epoch\":\"" + o.epoch() + "\",\"offset\":" + (o.index() + 1000) + "}}}";
                ws.send(history(ahead));
                assertThat(ws.nextFrame()).isEqualTo(typed("reject_history"));
                ws.send("{\"command\":\"history\",\"identifier\":\"{\\\"channel\\\":\\\"Nope\\\"}\",\"history\":{\"since\":0}}");
                assertThat(ws.nextFrame()).isEqualTo("{\"identifier\":\"{\\\"channel\\\":\\\"Nope\\\"}\",\"type\":\"reject_history\"}");
                String e2 = g.publish("user/alice", "t", "{\"id\":2}");
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":2}", "user/alice", e2));
            }
        }
    }

    @Test
    void aSessionIsRestoredBySidAndResumesFromTheClientsPosition() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String sid;
            String e1;
            try (CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")))) {
                sid = welcomeSid(ws);
                ws.send(CableProtocolTest.subscribe(NOTIFICATIONS));
                assertThat(ws.nextFrame()).isEqualTo(confirm(NOTIFICATIONS_LITERAL));
                e1 = g.publish("user/alice", "t", "{\"id\":1}");
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":1}", "user/alice", e1));
            } // connection dropped
            String e2 = g.publish("user/alice", "t", "{\"id\":2}");

            // another user presenting the sid gets a fresh session
            try (CableNode ws = CableNode.raw(g.ws("/cable?sid=" + sid), EXT, cookie(TestGateway.token("mallory")))) {
                assertThat(ws.nextLine()).isEqualTo("open " + EXT);
                assertThat(ws.nextLine()).matches("frame \\{\"type\":\"welcome\",\"sid\":\"[^\"]+\"}");
            }

            String sid2;
            try (CableNode ws = CableNode.raw(g.ws("/cable?sid=" + sid), EXT, cookie(TestGateway.token("alice")))) {
                assertThat(ws.nextLine()).isEqualTo("open " + EXT);
                Matcher m = Pattern.compile("frame \\{\"type\":\"welcome\",\"sid\":\"([^\"]+)\",\"restored\":true,\"restored_ids\":\\["
                        + Pattern.quote(NOTIFICATIONS_LITERAL) + "]}").matcher(ws.nextLine());
                assertThat(m.matches()).isTrue();
                sid2 = m.group(1);
                assertThat(sid2).isNotEqualTo(sid);
                // restored but not streaming until the client says where it is
                String e3 = g.publish("user/alice", "t", "{\"id\":3}");
                ws.send(history(position(e1)));
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":2}", "user/alice", e2));
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":3}", "user/alice", e3));
                assertThat(ws.nextFrame()).isEqualTo(typed("confirm_history"));
            }

            // the old sid was used up; the new one restores (here through the header) and a client without a position streams live
            try (CableNode ws = CableNode.raw(g.ws("/cable?sid=" + sid), EXT, cookie(TestGateway.token("alice")))) {
                assertThat(ws.nextLine()).isEqualTo("open " + EXT);
                assertThat(ws.nextLine()).matches("frame \\{\"type\":\"welcome\",\"sid\":\"[^\"]+\"}");
            }
            try (CableNode ws = CableNode.raw(g.ws("/cable"), EXT, cookie(TestGateway.token("alice")), sid2)) {
                assertThat(ws.nextLine()).isEqualTo("open " + EXT);
                assertThat(ws.nextLine()).contains("\"restored\":true");
                ws.send(history(null));
                assertThat(ws.nextFrame()).isEqualTo(typed("confirm_history"));
                String e4 = g.publish("user/alice", "t", "{\"id\":4}");
                assertThat(ws.nextFrame()).isEqualTo(broadcast("{\"id\":4}", "user/alice", e4));
            }
        }
    }
}

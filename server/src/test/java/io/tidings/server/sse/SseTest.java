package io.tidings.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code GET /v1/sse} on the wire (docs/protocol.md, "Server-sent events"): a real gateway on a
 * random port, a real log on disk, a socket client that parses SSE as the spec says.
 */
class SseTest {
    @TempDir
    Path dir;

    /** The value of one series on GET /metrics (0 if absent). */
    private static double metric(TestGateway g, String series) {
        String body = g.send(HttpRequest.newBuilder(URI.create(g.http("/metrics"))).build()).body();
        for (String line : body.lines().toList()) {
            if (line.startsWith(series + " ")) return Double.parseDouble(line.substring(series.length() + 1));
        }
        return 0;
    }

    private static String auth(String sub, String... rooms) {
        return "Authorization: Bearer " + TestGateway.token(sub, rooms);
    }

    private static String data(int n) {
        return "{\"n\":" + n + "}";
    }

    /** Reads the welcome and, per room, joined and live; returns the welcome. */
    private static SseTestClient.Message started(SseTestClient c, String... rooms) throws InterruptedException {
        SseTestClient.Message welcome = c.next();
        assertThat(welcome.event()).isEqualTo("welcome");
        List<String> joined = new ArrayList<>(), live = new ArrayList<>();
        while (live.size() < rooms.length) {
            SseTestClient.Message m = c.next();
            if (m.event().equals("joined")) joined.add(m.json().get("room").asText());
            else if (m.event().equals("live")) live.add(m.json().get("room").asText());
            else throw new AssertionError("unexpected before live: " + m);
        }
        assertThat(joined).containsExactlyInAnyOrder(rooms);
        assertThat(live).containsExactlyInAnyOrder(rooms);
        return welcome;
    }

    @Test
    void streamsTheEventsOfItsRoomsWithTheirOffsetsAsIds() throws Exception {
        try (TestGateway g = new TestGateway(dir);
             SseTestClient c = SseTestClient.open(g, "room=teamspaceA/m1&room=user/alice", auth("alice", "teamspaceA", "user/alice"))) {
            assertThat(c.status).isEqualTo(200);
            assertThat(c.headers.get("Content-Type")).startsWith("text/event-stream");
            assertThat(c.headers.get("Cache-Control")).isEqualTo("no-cache");
            SseTestClient.Message welcome = started(c, "teamspaceA/m1", "user/alice");
            assertThat(welcome.id()).isEqualTo(g.gateway().log().head().toString()).isEqualTo(welcome.json().get("offset").asText());
            assertThat(welcome.json().get("sub").asText()).isEqualTo("alice");

            String a = g.publish("teamspaceA/m1", "newIssues", data(1));
            g.publish("teamspaceA/m2", "newIssues", data(2)); // not a room of the stream
            String b = g.publish("user/alice", "update", data(3));
            SseTestClient.Message first = c.next(), second = c.next();
            assertThat(first.event()).isEqualTo("message");
            assertThat(first.id()).isEqualTo(a);
            assertThat(first.json().get("op").asText()).isEqualTo("event");
            assertThat(first.json().get("room").asText()).isEqualTo("teamspaceA/m1");
            assertThat(first.json().get("type").asText()).isEqualTo("newIssues");
            assertThat(first.json().get("offset").asText()).isEqualTo(a);
            assertThat(first.json().get("data").toString()).isEqualTo(data(1));
            assertThat(second.id()).isEqualTo(b);
            assertThat(second.json().get("data").toString()).isEqualTo(data(3));
        }
    }

    @Test
    void aStreamResumedWithLastEventIdGetsWhatItMissedOnceInOrderThenLive() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String last;
            try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"))) {
                started(c, "teamspaceA");
                g.publish("teamspaceA/m1", "t", data(1));
                last = c.next().id();
            }
            List<String> missed = new ArrayList<>();
            for (int n = 2; n <= 4; n++) missed.add(g.publish("teamspaceA/m" + n, "t", data(n)));
            g.publish("other/room", "t", data(99));
            try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"), "Last-Event-ID: " + last)) {
                SseTestClient.Message welcome = c.next();
                assertThat(welcome.id()).as("the stream starts where the client was").isEqualTo(last);
                assertThat(c.next().event()).isEqualTo("joined");
                List<String> ids = new ArrayList<>();
                SseTestClient.Message m;
                while (!(m = c.next()).event().equals("live")) ids.add(m.id());
                assertThat(ids).containsExactlyElementsOf(missed);
                String live = g.publish("teamspaceA/m5", "t", data(5));
                assertThat(c.next().id()).isEqualTo(live);
            }
            // ?after= is the same for clients that keep the offset themselves
            try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA&after=" + missed.get(1), auth("alice", "teamspaceA"))) {
                c.next("joined");
                assertThat(c.next().id()).isEqualTo(missed.get(2));
            }
        }
    }

    @Test
    void anOffsetThatCannotBeResumedGetsAGapPerRoomAndTheStreamGoesOnFromTheHead() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            g.publish("teamspaceA/m1", "t", data(1));
            Offset head = g.gateway().log().head();
            String epoch = head.epoch();
            String otherEpoch = (epoch.startsWith("z") ? "y" : "z") + epoch.substring(1) + "-1";
            for (String[] resume : new String[][] {{"not-an-offset", "malformed"}, {otherEpoch, "other_epoch"}}) {
                try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA&room=user/alice", auth("alice", "teamspaceA", "user/alice"),
                        "Last-Event-ID: " + resume[0])) {
                    SseTestClient.Message welcome = c.next("welcome");
                    assertThat(welcome.id()).as("a reconnect after the gap resumes from the head, not from the bad offset again")
                            .isEqualTo(head.toString());
                    List<JsonNode> gaps = new ArrayList<>();
                    int live = 0;
                    while (live < 2) {
                        SseTestClient.Message m = c.next();
                        if (m.event().equals("gap")) gaps.add(m.json());
                        if (m.event().equals("live")) live++;
                    }
                    assertThat(gaps).extracting(j -> j.get("room").asText()).containsExactlyInAnyOrder("teamspaceA", "user/alice");
                    assertThat(gaps).allSatisfy(j -> {
                        assertThat(j.get("reason").asText()).isEqualTo(resume[1]);
                        assertThat(j.get("offset").asText()).isEqualTo(g.gateway().log().firstAvailable().toString());
                    });
                    String next = g.publish("teamspaceA/m1", "t", data(2));
                    assertThat(c.next().id()).isEqualTo(next);
                    head = g.gateway().log().head();
                }
            }
        }
    }

    @Test
    void whatCannotBeStreamedIsRefusedWithAStatusAndAJsonError() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String[][] cases = {
                    {"room=teamspaceA", null, "401", "unauthorized"},
                    {"room=teamspaceA", "Authorization: Bearer not-a-jwt", "401", "unauthorized"},
                    {"room=teamspaceA&token=" + TestGateway.token("alice", "teamspaceA").substring(1), null, "401", "unauthorized"},
                    {"room=teamspaceB", auth("alice", "teamspaceA"), "403", "forbidden"},
                    {"room=teamspaceA&room=teamspaceB", auth("alice", "teamspaceA"), "403", "forbidden"},
                    {"", auth("alice", "teamspaceA"), "400", "bad_request"},
                    {"room=", auth("alice", "teamspaceA"), "400", "bad_request"},
            };
            for (String[] k : cases) {
                try (SseTestClient c = k[1] == null ? SseTestClient.open(g, k[0]) : SseTestClient.open(g, k[0], k[1])) {
                    assertThat(c.status).as("%s with %s", k[0], k[1]).isEqualTo(Integer.parseInt(k[2]));
                    assertThat(c.errorBody).as("%s with %s", k[0], k[1]).contains("\"error\":\"" + k[3] + "\"");
                }
            }
            TestGateway.Response post = g.send(HttpRequest.newBuilder(URI.create(g.http("/v1/sse?room=teamspaceA")))
                    .header("Authorization", "Bearer " + TestGateway.token("alice", "teamspaceA"))
                    .POST(HttpRequest.BodyPublishers.noBody()).build());
            assertThat(post.status()).isEqualTo(405);
            // the token in the query (what an EventSource without cookies can send) and the cookie both work
            try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA&token=" + TestGateway.token("alice", "teamspaceA"))) {
                assertThat(c.status).isEqualTo(200);
            }
            try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA", "Cookie: Authorization=" + TestGateway.token("alice", "teamspaceA"))) {
                assertThat(c.status).isEqualTo(200);
            }
            assertThat(metric(g, "tidings_joins_total{outcome=\"forbidden\",protocol=\"sse\",}")).isEqualTo(2.0);
        }
    }

    @Test
    void aGatewayShuttingDownEndsTheStreamWithAReason() throws Exception {
        TestGateway g = new TestGateway(dir);
        try (SseTestClient c = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"))) {
            started(c, "teamspaceA");
            g.close();
            SseTestClient.Message close = c.next();
            assertThat(close.event()).isEqualTo("close");
            assertThat(close.json().get("reason").asText()).isEqualTo("going_away");
            WsTestClient.eventually(c::ended);
        }
    }

    @Test
    void anIdleStreamGetsHeartbeatComments() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.pingIntervalMs = 200);
             SseTestClient c = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"))) {
            started(c, "teamspaceA");
            assertThat(c.nextAny().event()).isEqualTo(":");
            assertThat(c.nextAny().event()).isEqualTo(":");
        }
    }

    @Test
    void aStreamThatStopsReadingIsCutOffWithinItsMemoryBoundAndTheOthersGoOn() throws Exception {
        int buffer = 64 * 1024;
        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = buffer;
            c.slowClientTimeoutMs = 1000;
        })) {
            // a stalled reader: a raw socket that sends the request and never reads
            java.net.Socket stalled = new java.net.Socket("127.0.0.1", g.port());
            stalled.setReceiveBufferSize(4096);
            stalled.getOutputStream().write(("GET /v1/sse?room=big HTTP/1.1\r\nHost: x\r\n" + auth("slow", "big") + "\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (SseTestClient reader = SseTestClient.open(g, "room=big", auth("fast", "big"))) {
                started(reader, "big");
                WsTestClient.eventually(() -> metric(g, "tidings_connections{protocol=\"sse\",}") == 2.0);
                String blob = "\"" + "x".repeat(30_000) + "\"";
                List<String> offsets = new ArrayList<>();
                for (int i = 0; i < 200; i++) offsets.add(g.publish("big", "blob", blob)); // ~6 MB: far more than the socket buffers and the queue hold
                for (String o : offsets) assertThat(reader.next().id()).isEqualTo(o);
                WsTestClient.eventually(() -> metric(g, "tidings_slow_client_disconnects_total{protocol=\"sse\",}") == 1.0);
                assertThat(g.gateway().hub().sessions()).allSatisfy(s -> assertThat(s.peakQueuedBytes()).isLessThan(2L * buffer + 64 * 1024));
                WsTestClient.eventually(() -> metric(g, "tidings_connections{protocol=\"sse\",}") == 1.0);
                assertThat(g.gateway().hub().sessions()).extracting(io.tidings.server.hub.Session::subject).containsExactly("fast");
                // (the close message cannot reach a client that does not read: its stream just ends, and it resumes from its last id)
                String next = g.publish("big", "blob", "1");
                assertThat(reader.next().id()).isEqualTo(next);
            }
            stalled.close();
        }
    }

    @Test
    void aClosedStreamGivesBackItsConnectionSlot() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.maxConnectionsPerIp = 2;
            c.limitExemptCidrs = List.of(); // the test connects from loopback, exempt by default
        })) {
            for (int round = 0; round < 3; round++) {
                SseTestClient a = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"));
                SseTestClient b = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"));
                assertThat(a.status).isEqualTo(200);
                assertThat(b.status).isEqualTo(200);
                try (SseTestClient third = SseTestClient.open(g, "room=teamspaceA", auth("alice", "teamspaceA"))) {
                    assertThat(third.status).isEqualTo(429);
                }
                started(a, "teamspaceA");
                a.close(); // the client goes away: the server notices at its next write (a heartbeat or an event)
                b.close();
                g.publish("teamspaceA", "t", data(round));
                g.publish("teamspaceA", "t", data(round));
                WsTestClient.eventually(() -> {
                    g.publish("teamspaceA", "t", "0"); // a write to a closed socket fails: the session goes
                    return metric(g, "tidings_connections{protocol=\"sse\",}") == 0.0;
                });
            }
        }
    }
}

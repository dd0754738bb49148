package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.storage.RollPeriod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.tidings.server.NativeProtocolTest.offsets;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Resume: a client that rejoins with the last offset it saw gets exactly the events of its rooms
 * published meanwhile, in offset order, then {@code live}; or an explicit {@code gap}.
 */
class ResumeTest {
    @TempDir
    Path dir;

    static final String TOKEN = TestGateway.token("alice", "teamspaceA", "teamspaceB");

    @Test
    void resumeAfterADisconnectDeliversExactlyTheMissedEventsOfItsRoomsThenLive() {
        try (TestGateway g = new TestGateway(dir)) {
            String seen;
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.joinLive("teamspaceA");
                List<String> first = List.of(g.publish("teamspaceA/m1", "t", "1"), g.publish("teamspaceA", "t", "2"));
                assertThat(offsets(c.events(2))).isEqualTo(first);
                seen = first.get(1);
                c.abort(); // no close handshake: the server learns about it from TCP
            }
            List<String> missed = new ArrayList<>();
            missed.add(g.publish("teamspaceA/m1", "t", "3"));
            g.publish("teamspaceB", "t", "\"not mine\"");
            missed.add(g.publish("teamspaceA/m2/x", "t", "4"));
            TestGateway.Response multi = g.publishRaw("{\"rooms\":[\"teamspaceB\",\"teamspaceA/m2\"],\"type\":\"t\",\"data\":5}");
            missed.add(multi.json().get("offset").asText());
            missed.add(g.publish("teamspaceA", "t", "6"));

            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", seen);
                c.expectRoomFrame("joined", "teamspaceA");
                assertThat(offsets(c.events(missed.size()))).isEqualTo(missed);
                c.expectRoomFrame("live", "teamspaceA");
                String next = g.publish("teamspaceA/m9", "t", "7");
                assertThat(c.expect("event").get("offset").asText()).isEqualTo(next);
            }
        }
    }

    @Test
    void resumingAtTheHeadIsLiveAndMissesNothingPublishedAfterIt() {
        try (TestGateway g = new TestGateway(dir)) {
            String head = g.publish("teamspaceA", "t", "1");
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", head);
                c.expectRoomFrame("joined", "teamspaceA");
                c.expectRoomFrame("live", "teamspaceA");
                String next = g.publish("teamspaceA", "t", "2");
                assertThat(c.expect("event").get("offset").asText()).isEqualTo(next);
            }
        }
    }

    @Test
    void resumingFromTheStartOffsetReplaysTheWholeLog() {
        try (TestGateway g = new TestGateway(dir)) {
            String start;
            try (WsTestClient c = WsTestClient.connect(g, TOKEN)) {
                start = c.expect("welcome").get("offset").asText(); // empty log: the start offset
            }
            List<String> all = List.of(g.publish("teamspaceA", "t", "1"), g.publish("teamspaceA/m", "t", "2"));
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", start);
                c.expectRoomFrame("joined", "teamspaceA");
                assertThat(offsets(c.events(2))).isEqualTo(all);
                c.expectRoomFrame("live", "teamspaceA");
            }
        }
    }

    @Test
    void severalRoomsResumeFromTheirOwnOffsetsOnOneConnection() {
        try (TestGateway g = new TestGateway(dir)) {
            String a1 = g.publish("teamspaceA", "t", "\"a1\"");
            String b1 = g.publish("teamspaceB", "t", "\"b1\"");
            String a2 = g.publish("teamspaceA", "t", "\"a2\"");
            String b2 = g.publish("teamspaceB", "t", "\"b2\"");
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", a1);
                c.join("teamspaceB", b1);
                List<String> a = new ArrayList<>(), b = new ArrayList<>();
                int live = 0;
                while (live < 2) {
                    JsonNode f = c.next();
                    switch (f.get("op").asText()) {
                        case "event" -> (f.get("room").asText().equals("teamspaceA") ? a : b).add(f.get("offset").asText());
                        case "live" -> live++;
                        case "joined" -> { }
                        default -> throw new AssertionError("unexpected " + f);
                    }
                }
                assertThat(a).containsExactly(a2);
                assertThat(b).containsExactly(b2);
                String a3 = g.publish("teamspaceA", "t", "\"a3\"");
                assertThat(c.expect("event").get("offset").asText()).isEqualTo(a3);
            }
        }
    }

    @Test
    void resumeAcrossAServerRestartOnTheSameDataDirectoryIsExact() {
        try (TestGateway g = new TestGateway(dir)) {
            String seen;
            List<String> missed = new ArrayList<>();
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.joinLive("teamspaceA");
                String o1 = g.publish("teamspaceA/m1", "t", "1");
                seen = c.expect("event").get("offset").asText();
                assertThat(seen).isEqualTo(o1);
                c.pause(); // stops reading: what follows is "missed" even though the server sent some of it
                missed.add(g.publish("teamspaceA/m1", "t", "2"));
                missed.add(g.publish("teamspaceA", "t", "3"));
                g.restart();
                // a graceful stop tells the client to go elsewhere and resume
                c.resume();
                WsTestClient.Closed closed = c.awaitClose();
                assertThat(closed.code()).isEqualTo(1001);
            }
            missed.add(g.publish("teamspaceA/m2", "t", "4"));
            g.publish("teamspaceB", "t", "\"not mine\"");
            missed.add(g.publish("teamspaceA", "t", "5"));
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", seen);
                c.expectRoomFrame("joined", "teamspaceA");
                assertThat(offsets(c.events(missed.size()))).isEqualTo(missed);
                c.expectRoomFrame("live", "teamspaceA");
                String next = g.publish("teamspaceA", "t", "6");
                assertThat(c.expect("event").get("offset").asText()).isEqualTo(next);
            }
        }
    }

    @Test
    void offsetsThatCannotBeHonouredAnswerGapThenContinueLive() {
        try (TestGateway g = new TestGateway(dir)) {
            String o1 = g.publish("teamspaceA", "t", "1");
            String o2 = g.publish("teamspaceA", "t", "2");
            String epoch = g.gateway().log().epoch();
            long head = Long.parseLong(o2.substring(o2.lastIndexOf('-') + 1));
            String first = g.gateway().log().firstAvailable().toString();
            assertThat(first).isEqualTo(o1);
            String otherEpoch = (epoch.startsWith("z") ? "y" : "z") + epoch.substring(1);

            record Case(String after, String reason) {}
            List<Case> cases = List.of(
                    new Case(otherEpoch + "-" + head, "other_epoch"),
                    new Case(epoch + "-" + (head + 1000), "ahead_of_head"),
                    new Case(epoch + "-1", "unknown_offset"),
                    new Case("not-an-offset", "malformed"),
                    new Case("", "malformed"));
            for (Case k : cases) {
                try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                    c.join("teamspaceA", k.after());
                    c.expectRoomFrame("joined", "teamspaceA");
                    JsonNode gap = c.expectRoomFrame("gap", "teamspaceA");
                    assertThat(gap.get("reason").asText()).as(k.after()).isEqualTo(k.reason());
                    assertThat(gap.get("offset").asText()).as(k.after()).isEqualTo(first);
                    c.expectRoomFrame("live", "teamspaceA");
                    String next = g.publish("teamspaceA", "t", "\"after gap\"");
                    assertThat(c.expect("event").get("offset").asText()).isEqualTo(next);
                }
            }
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) { // after must be a string
                c.send("{\"op\":\"join\",\"room\":\"teamspaceA\",\"after\":5}");
                c.expectRoomFrame("joined", "teamspaceA");
                assertThat(c.expectRoomFrame("gap", "teamspaceA").get("reason").asText()).isEqualTo("malformed");
                c.expectRoomFrame("live", "teamspaceA");
            }
        }
    }

    @Test
    void anOffsetWhoseHistoryWasDeletedByRetentionIsAGap() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.rollPeriod = RollPeriod.TEST_SECONDLY;
            c.retentionMaxAgeMs = 1;
        })) {
            String start = g.gateway().log().head().toString();
            g.publish("teamspaceA", "t", "\"old\"");
            long firstFile = System.currentTimeMillis() / 1000;
            while (System.currentTimeMillis() / 1000 == firstFile) Thread.sleep(20); // the next event goes to a new file
            String kept = g.publish("teamspaceA", "t", "\"new\"");
            // Retention never deletes a file a live cursor (here the hub's dispatcher) has not read past: retry until it has.
            WsTestClient.eventually(() -> {
                g.gateway().log().enforceRetention();
                return g.gateway().log().firstAvailable().toString().equals(kept);
            });
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                c.join("teamspaceA", start);
                c.expectRoomFrame("joined", "teamspaceA");
                JsonNode gap = c.expectRoomFrame("gap", "teamspaceA");
                assertThat(gap.get("reason").asText()).isEqualTo("before_retention");
                assertThat(gap.get("offset").asText()).isEqualTo(kept);
                c.expectRoomFrame("live", "teamspaceA");
            }
            TestGateway.Response audit = g.replay("after=" + start);
            assertThat(audit.status()).isEqualTo(410);
            assertThat(audit.json().get("error").asText()).isEqualTo("gap");
        }
    }

    /**
     * Joins with {@code after} = the head while another thread publishes as fast as it can: the first
     * event received must be the first one stored after that offset, every time. (A join whose offset
     * equals the head is a resume like any other: an event committed while the join is being set up
     * must not fall between the replay and the live stream.)
     */
    @Test
    void resumingAtTheHeadWhileEventsFlowMissesNothing() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread publisher = new Thread(() -> {
                while (!stop.get()) g.publish("teamspaceA", "t", "0");
            }, "publisher");
            g.publish("teamspaceA", "t", "0");
            publisher.start();
            try (WsTestClient c = WsTestClient.welcomed(g, TOKEN)) {
                for (int i = 0; i < 150; i++) {
                    String head = g.gateway().log().head().toString();
                    c.join("teamspaceA", head);
                    c.expectRoomFrame("joined", "teamspaceA");
                    JsonNode f = c.await(n -> n.path("op").asText().equals("event"));
                    String expected = g.replayLines("after=" + head + "&limit=1").get(0).get("offset").asText();
                    assertThat(f.get("offset").asText()).as("first event after joining at " + head + " (round " + i + ")").isEqualTo(expected);
                    c.leave("teamspaceA");
                    c.await(n -> n.path("op").asText().equals("left"));
                }
            } finally {
                stop.set(true);
                publisher.join();
            }
        }
    }
}

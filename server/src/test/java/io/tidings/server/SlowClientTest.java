package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.Session;
import io.tidings.server.ws.NativeCloseCodes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client that stops reading must not grow the server's memory, must not hold back the others, and
 * is served from the log at its own pace: closed with 4008 if it never reads again, caught up
 * exactly once and in order if it does.
 *
 * <p>"Stops reading" is real: the JDK client stops requesting frames, stops reading its socket, and
 * TCP pushes back on the server once the kernel buffers are full, so the tests publish until the
 * server has switched the session to the log (not a fixed amount, not a sleep).
 */
class SlowClientTest {
    static final int BUFFER = 64 * 1024;
    static final String ROOM = "teamspaceA/model-0123456789abcdef";   // long names: well over 128 bytes of frame overhead
    static final String TYPE = "issueUpdated#withALongerTypeName";
    static final String DATA = "\"" + "x".repeat(2000) + "\"";
    static final String SMALL = "{\"n\":1}";
    /** Publishing more than this without the condition holding fails the test. */
    static final long MAX_FLOOD_BYTES = 256L << 20;

    @TempDir
    Path dir;

    @Test
    void aClientThatNeverReadsIsBoundedDoesNotHoldBackOthersAndIsClosedWith4008() {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = BUFFER;
            c.slowClientTimeoutMs = 2000;
        })) {
            String token = TestGateway.token("alice", "teamspaceA");
            Hub hub = g.gateway().hub();
            List<String> published;
            List<String> slowGot = new ArrayList<>();
            try (WsTestClient slow = WsTestClient.welcomed(g, token)) {
                Session slowSession = only(hub.sessions());
                try (WsTestClient fast = WsTestClient.welcomed(g, token)) {
                    slow.joinLive("teamspaceA");
                    fast.joinLive("teamspaceA");
                    slow.pause();

                    published = flood(g, SMALL, slowSession::isCatchingUp);
                    assertThat(slowSession.isCatchingUp()).as("the slow client was switched to reading from the log").isTrue();

                    List<JsonNode> fastEvents = fast.events(published.size());
                    assertThat(NativeProtocolTest.offsets(fastEvents)).as("the fast client got every event, once, in order")
                            .isEqualTo(published);

                    // Small events, long names: the catch-up used to overshoot here by sizing batches with an estimate.
                    assertThat(slowSession.peakQueuedBytes()).as("outbound memory of the slow client")
                            .isGreaterThan(BUFFER / 2).isLessThanOrEqualTo(BUFFER + frameBytes(fastEvents.get(0)));
                }

                WsTestClient.eventually(() -> !hub.sessions().contains(slowSession)); // it read nothing for 2 s
                slow.resume(); // the close frame sits behind the frames already sent: read them to see it
                WsTestClient.Closed closed = slow.drainUntilClosed(f -> {
                    assertThat(f.get("op").asText()).isEqualTo("event");
                    slowGot.add(f.get("offset").asText());
                });
                assertThat(closed.code()).isEqualTo(NativeCloseCodes.SLOW_CONSUMER);
                assertThat(closed.reason()).contains("resume");
            }
            assertThat(slowGot).as("what the slow client did get is a prefix, in order, without repeats")
                    .isEqualTo(published.subList(0, slowGot.size()));
            assertThat(slowGot.size()).isLessThan(published.size());

            // It reconnects and resumes from the last offset it saw: the rest, exactly.
            try (WsTestClient again = WsTestClient.welcomed(g, token)) {
                again.join("teamspaceA", slowGot.get(slowGot.size() - 1));
                again.expectRoomFrame("joined", "teamspaceA");
                assertThat(NativeProtocolTest.offsets(again.events(published.size() - slowGot.size())))
                        .isEqualTo(published.subList(slowGot.size(), published.size()));
                again.expectRoomFrame("live", "teamspaceA");
            }
        }
    }

    @Test
    void aSlowClientThatReadsAgainCatchesUpFromTheLogExactlyOnceInOrderThenGoesLive() {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = BUFFER;
            c.slowClientTimeoutMs = 60_000;
        })) {
            String token = TestGateway.token("alice", "teamspaceA");
            Hub hub = g.gateway().hub();
            try (WsTestClient slow = WsTestClient.welcomed(g, token)) {
                Session slowSession = only(hub.sessions());
                slow.joinLive("teamspaceA");
                String before = g.publish(ROOM, TYPE, DATA);
                assertThat(slow.expect("event").get("offset").asText()).isEqualTo(before);
                slow.pause();

                List<String> published = flood(g, DATA, slowSession::isCatchingUp);
                published.addAll(flood(g, DATA, () -> true)); // and more while it is reading from the log
                assertThat(slowSession.isCatchingUp()).isTrue();

                slow.resume();
                List<JsonNode> got = slow.events(published.size());
                assertThat(NativeProtocolTest.offsets(got)).isEqualTo(published);
                WsTestClient.eventually(() -> !slowSession.isCatchingUp());
                assertThat(hub.catchingUpCount()).isZero();
                String live = g.publish(ROOM, TYPE, "1");
                assertThat(slow.expect("event").get("offset").asText()).isEqualTo(live);
                assertThat(slowSession.peakQueuedBytes()).isLessThanOrEqualTo(BUFFER + frameBytes(got.get(0)));
                assertThat(hub.sessions()).contains(slowSession);
            }
        }
    }

    /** Publishes batches of about 200 kB until {@code until} holds, then 2 MiB more; returns the offsets in order. */
    static List<String> flood(TestGateway g, String data, BooleanSupplier until) {
        String event = "{\"room\":\"" + ROOM + "\",\"type\":\"" + TYPE + "\",\"data\":" + data + "}";
        String batch = "[" + String.join(",", Collections.nCopies(200_000 / event.length(), event)) + "]";
        List<String> offsets = new ArrayList<>();
        long bytes = 0, extra = -1;
        while (extra < 2L << 20) {
            TestGateway.Response r = g.publishRaw(batch);
            assertThat(r.status()).isEqualTo(200);
            r.json().get("offsets").forEach(o -> offsets.add(o.asText()));
            bytes += batch.length();
            if (extra >= 0) extra += batch.length();
            else if (until.getAsBoolean()) extra = 0;
            if (bytes > MAX_FLOOD_BYTES) throw new AssertionError("published " + bytes + " bytes and the condition never held");
        }
        return offsets;
    }

    /** The size of a received frame as the server sent it (compact JSON, ASCII here). */
    static int frameBytes(JsonNode frame) {
        return frame.toString().getBytes(StandardCharsets.UTF_8).length;
    }

    static Session only(Set<Session> sessions) {
        assertThat(sessions).hasSize(1);
        return sessions.iterator().next();
    }
}

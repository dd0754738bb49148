package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The native protocol's batched messages ({@code /v1/ws?batch=1}, docs/protocol.md): frames that wait
 * for a client (here one that stopped reading, so they pile up behind a write the socket does not
 * take) leave in fewer messages, each frame a line, every event once and in order; a client that did
 * not ask keeps one frame per message.
 */
class BatchedMessagesTest {
    /** The largest batched message (WebSocketSession.BATCH_BYTES, docs/protocol.md). */
    static final int BATCH_BYTES = 64 * 1024;

    @TempDir
    Path dir;

    @Test
    void framesWaitingForAPausedClientLeaveInFewerMessagesOnlyIfItAskedForBatches() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> c.slowClientTimeoutMs = 60_000)) {
            String token = TestGateway.token("alice", "teamspaceA");
            Hub hub = g.gateway().hub();
            try (WsTestClient batched = WsTestClient.connect(g.port(), token, "batch=1");
                 WsTestClient plain = WsTestClient.connect(g, token)) {
                for (WsTestClient c : List.of(batched, plain)) {
                    assertThat(json(c.pollText(WsTestClient.WAIT.toMillis())).get("op").asText()).isEqualTo("welcome");
                    c.join(SlowClientTest.ROOM);
                    List<String> ops = new ArrayList<>();
                    while (!ops.contains("live")) {
                        for (JsonNode f : lines(c.pollText(WsTestClient.WAIT.toMillis()))) ops.add(f.get("op").asText());
                    }
                    assertThat(ops).containsExactly("joined", "live");
                    c.pause();
                }
                Set<Session> sessions = new HashSet<>(hub.sessions());
                // Until both were switched to reading from the log: their sockets' buffers are full and frames wait.
                List<String> published = SlowClientTest.flood(g, SlowClientTest.SMALL,
                        () -> sessions.stream().allMatch(Session::isCatchingUp));

                Received b = receive(batched, published.size());
                Received p = receive(plain, published.size());
                assertThat(b.offsets).as("batched: every event once, in order").isEqualTo(published);
                assertThat(p.offsets).as("plain: every event once, in order").isEqualTo(published);
                assertThat(p.messages).as("plain: one frame per message").isEqualTo(published.size());
                assertThat(b.messages).as("batched: the frames that waited shared messages").isLessThan(published.size() / 4);
                assertThat(b.largestMultiFrameMessage).isLessThanOrEqualTo(BATCH_BYTES);
            }
        }
    }

    record Received(List<String> offsets, int messages, int largestMultiFrameMessage) {}

    /** Reads until {@code events} events have arrived: their offsets, and how many messages carried them. */
    static Received receive(WsTestClient c, int events) {
        c.resume();
        List<String> offsets = new ArrayList<>(events);
        int messages = 0, largest = 0;
        while (offsets.size() < events) {
            String text = c.pollText(WsTestClient.WAIT.toMillis());
            assertThat(text).as("message %d (after %d events)", messages, offsets.size()).isNotNull();
            messages++;
            List<JsonNode> frames = lines(text);
            if (frames.size() > 1) largest = Math.max(largest, text.getBytes(StandardCharsets.UTF_8).length);
            for (JsonNode f : frames) {
                assertThat(f.get("op").asText()).isEqualTo("event");
                offsets.add(f.get("offset").asText());
            }
        }
        return new Received(offsets, messages, largest);
    }

    /** A message's frames: one JSON object per line. */
    static List<JsonNode> lines(String message) {
        assertThat(message).isNotNull();
        List<JsonNode> frames = new ArrayList<>();
        for (String line : message.split("\n", -1)) frames.add(json(line));
        return frames;
    }

    static JsonNode json(String text) {
        try {
            JsonNode n = Json.MAPPER.readTree(text);
            assertThat(n.isObject()).as("a frame is one JSON object: %s", text).isTrue();
            return n;
        } catch (java.io.IOException e) {
            throw new AssertionError("not one JSON object: " + text, e);
        }
    }
}

package io.tidings.server.ws.socketio;

import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Engine.IO's heartbeat against a client that is behind: the server's ping waits behind the frames
 * queued before it, so a client busy reading a backlog must not be cut for a late pong (under load
 * that disconnected every client of a fan-out); a client that does not answer while nothing is
 * queued is.
 */
class SocketIoHeartbeatTest {
    static final int EVENTS = 3_000;

    @TempDir
    Path dir;

    @Test
    void aClientReadingABacklogIsNotCutForALatePongButASilentIdleOneIs() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.socketIoPingIntervalMs = 300;
            c.socketIoPingTimeoutMs = 1_000;
            c.outboundBufferBytes = 64 * 1024;
        })) {
            URI uri = URI.create(g.ws("/socket.io/?EIO=4&transport=websocket"));
            try (WsTestClient behind = WsTestClient.connect(uri, Map.of());
                 WsTestClient silent = WsTestClient.connect(uri, Map.of())) {
                assertThat(behind.pollText(20_000)).startsWith("0{");
                behind.send("40{\"token\":\"" + TestGateway.token("alice", "teamspaceA") + "\"}");
                assertThat(nextPacket(behind)).startsWith("40{\"sid\"");
                behind.send("421[\"join\",{\"account\":\"teamspaceA\"}]");
                assertThat(nextPacket(behind)).startsWith("431[{\"ok\":true");

                behind.pause(); // stops reading: the kernel's buffers fill, then the gateway's queue
                String pad = "x".repeat(4_000);
                StringBuilder batch = new StringBuilder();
                for (int i = 0; i < EVENTS; i++) {
                    batch.append("{\"room\":\"teamspaceA\",\"type\":\"t\",\"data\":{\"i\":").append(i).append(",\"pad\":\"").append(pad).append("\"}}\n");
                    if ((i + 1) % 500 == 0) {
                        assertThat(g.publishRaw(batch.toString()).status()).isEqualTo(200);
                        batch.setLength(0);
                    }
                }
                Thread.sleep(3_000); // several ping intervals and timeouts pass while the pings sit behind the backlog
                behind.resume();
                List<Integer> seen = new ArrayList<>();
                while (seen.size() < EVENTS) {
                    String p = nextPacket(behind);
                    assertThat(p).as("only events after the join").startsWith("42[\"teamspaceA::t\"");
                    int at = p.indexOf("{\"i\":") + 5;
                    seen.add(Integer.parseInt(p.substring(at, p.indexOf(',', at))));
                }
                for (int i = 0; i < EVENTS; i++) assertThat(seen.get(i)).isEqualTo(i);

                // the silent one was never behind: it connected, never answered a ping, and is cut
                assertThat(silent.pollText(20_000)).startsWith("0{");
                WsTestClient.Closed closed = silent.drainUntilClosed(f -> { });
                assertThat(closed.reason()).isEqualTo("ping timeout");
            }
        }
    }

    /** The next packet that is not an Engine.IO ping, answering pings with pongs as a client does. */
    private static String nextPacket(WsTestClient c) {
        while (true) {
            String p = c.pollText(20_000);
            if (p == null) throw new AssertionError("no packet within 20 s");
            if (!p.equals("2")) return p;
            c.send("3");
        }
    }
}

package io.tidings.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that drop their TCP connection while the server is sending to them (live and from the
 * log) must not wedge delivery for everyone else: the hub keeps delivering, forgets every dropped
 * session, and the gateway still shuts down. (This once deadlocked: a send under a session's lock
 * waited for the channel's lock while the channel's close task waited for the session's lock.)
 */
class ConnectionChurnTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void clientsDroppingMidStreamNeverStallDeliveryOrShutdown() throws Exception {
        long seed = Long.getLong("tidings.seed", System.nanoTime());
        TestGateway g = new TestGateway(dir, c -> c.outboundBufferBytes = 4096);
        try {
            String token = TestGateway.token("dave", "r");
            String data = "\"" + "y".repeat(500) + "\"";
            String event = "{\"room\":\"r\",\"type\":\"t\",\"data\":" + data + "}";
            String batch = "[" + String.join(",", java.util.Collections.nCopies(20, event)) + "]";
            AtomicBoolean stop = new AtomicBoolean();
            ExecutorService pool = Executors.newCachedThreadPool();
            Future<?> publisher = pool.submit(() -> {
                while (!stop.get()) assertThat(g.publishRaw(batch).status()).isEqualTo(200);
                return null;
            });
            List<Future<?>> churners = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                Random random = new Random(seed + t);
                churners.add(pool.submit(() -> {
                    for (int i = 0; i < 40; i++) {
                        WsTestClient c = WsTestClient.welcomed(g, token);
                        c.join("r");
                        for (int n = random.nextInt(30); n > 0; n--) c.next();
                        if (random.nextBoolean()) c.pause(); // stop reading, then drop
                        c.abort();
                    }
                    return null;
                }));
            }
            try {
                for (Future<?> f : churners) f.get();
            } finally {
                stop.set(true);
                pool.shutdown();
            }
            publisher.get();
            assertNoDeadlock();

            WsTestClient.eventually(() -> g.gateway().hub().sessionCount() == 0);
            try (WsTestClient c = WsTestClient.welcomed(g, token)) {
                c.joinLive("r");
                String o = g.publish("r", "t", "1");
                assertThat(c.await(f -> f.path("op").asText().equals("event")).get("offset").asText()).as("seed " + seed).isEqualTo(o);
            }
        } finally {
            assertNoDeadlock(); // before close(), which would hang behind a wedged thread
            g.close();
        }
    }

    /**
     * "live" is a promise: an event published the moment the client reads it is delivered, also
     * while another connection leaves the same room. (Both were broken: the answer to a join was
     * sent before the subscription was indexed, and indexing could add to a room's set just as the
     * last leave removed that set from the index.)
     */
    @Test
    void anEventPublishedRightAfterLiveIsDeliveredEvenWhileAnotherConnectionLeavesTheRoom() throws Exception {
        try (TestGateway g = new TestGateway(dir)) {
            String token = TestGateway.token("dave", "r");
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try (WsTestClient a = WsTestClient.welcomed(g, token); WsTestClient b = WsTestClient.welcomed(g, token)) {
                for (int i = 0; i < 300; i++) {
                    String room = "r/" + i;
                    a.joinLive(room);
                    // a leaves the room (its only subscriber) while b joins it
                    Future<?> leave = pool.submit(() -> a.leave(room));
                    Future<?> join = pool.submit(() -> b.join(room));
                    leave.get();
                    join.get();
                    a.expectRoomFrame("left", room);
                    b.expectRoomFrame("joined", room);
                    b.expectRoomFrame("live", room);
                    String o = g.publish(room, "t", String.valueOf(i));
                    assertThat(b.expect("event").get("offset").asText()).as("round " + i).isEqualTo(o);
                    b.leave(room);
                    b.expectRoomFrame("left", room);
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }

    static void assertNoDeadlock() {
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long[] stuck = threads.findDeadlockedThreads();
        if (stuck == null) return;
        StringBuilder b = new StringBuilder("deadlocked threads:\n");
        for (java.lang.management.ThreadInfo t : threads.getThreadInfo(stuck, true, true)) b.append(t);
        throw new AssertionError(b.toString());
    }
}

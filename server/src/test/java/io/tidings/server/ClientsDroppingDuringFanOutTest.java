package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that vanish while events are being fanned out to them must not stop delivery to anyone
 * else. The load tool's churn scenario (ops/load) found a lock-order deadlock here: the dispatcher
 * held a session's lock while sending, and Undertow ran the close task of a failed socket on the
 * I/O thread while holding the channel's monitor; the close task took the session lock. From then on
 * no live event reached any client. Real server, real sockets, real aborts.
 */
class ClientsDroppingDuringFanOutTest {
    @TempDir
    Path dir;

    private static final String SUB = "alice";
    /** Native clients join this room; ActionCable's NotificationsChannel streams it (user/{$sub}). */
    private static final String ROOM = "user/" + SUB;

    /**
     * A client that joins the room and counts the event frames it receives (checking offsets only
     * increase): native protocol, or ActionCable's extended protocol subscribed to its user room.
     */
    private static final class Client implements WebSocket.Listener {
        final boolean cable;
        final CountDownLatch live = new CountDownLatch(1);
        final AtomicInteger events = new AtomicInteger();
        final AtomicLong lastIndex = new AtomicLong(-1);
        final AtomicInteger regressions = new AtomicInteger();
        private final StringBuilder partial = new StringBuilder();
        WebSocket socket;

        Client(boolean cable) {
            this.cable = cable;
        }

        @Override
        public void onOpen(WebSocket webSocket) {
            webSocket.request(Long.MAX_VALUE);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (!last) return null;
            String text = partial.toString();
            partial.setLength(0);
            try {
                JsonNode frame = Json.MAPPER.readTree(text);
                if (cable) {
                    switch (frame.path("type").asText()) {
                        case "welcome" -> webSocket.sendText("{\"command\":\"subscribe\",\"identifier\":"
                                + Json.quote("{\"channel\":\"NotificationsChannel\"}") + "}", true);
                        case "confirm_subscription" -> live.countDown();
                        default -> { }
                    }
                    return null;
                }
                switch (frame.path("op").asText()) {
                    case "welcome" -> webSocket.sendText("{\"op\":\"join\",\"room\":\"" + ROOM + "\"}", true);
                    case "live" -> live.countDown();
                    case "event" -> {
                        String offset = frame.get("offset").asText();
                        long index = Long.parseLong(offset.substring(offset.lastIndexOf('-') + 1));
                        if (index <= lastIndex.getAndSet(index)) regressions.incrementAndGet();
                        events.incrementAndGet();
                    }
                    default -> { }
                }
            } catch (Exception e) {
                throw new IllegalStateException(text, e);
            }
            return null;
        }

        static Client connect(HttpClient http, TestGateway g) throws Exception {
            return connect(http, g, false);
        }

        static Client connect(HttpClient http, TestGateway g, boolean cable) throws Exception {
            Client c = new Client(cable);
            WebSocket.Builder b = http.newWebSocketBuilder();
            if (cable) b.subprotocols("actioncable-v1-ext-json").header("Cookie", "Authorization=" + TestGateway.token(SUB, ROOM));
            try {
                c.socket = b.buildAsync(URI.create(cable ? g.ws("/cable")
                                : g.ws("/v1/ws?token=" + TestGateway.token(SUB, ROOM))), c)
                        .get(10, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw new AssertionError("no WebSocket handshake within 10 s: a gateway I/O thread is stuck", e);
            }
            assertThat(c.live.await(10, TimeUnit.SECONDS)).as("joined and live").isTrue();
            return c;
        }
    }

    @Test
    void deliveryGoesOnWhileClientsDropMidStream() throws Exception {
        dropClientsWhilePublishing(false);
    }

    /** The extended ActionCable protocol registers a close task of its own (to keep the session restorable). */
    @Test
    void deliveryGoesOnWhileActionCableClientsDropMidStream() throws Exception {
        dropClientsWhilePublishing(true);
    }

    private void dropClientsWhilePublishing(boolean cable) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        TestGateway g = new TestGateway(dir);
        boolean stalled = true; // a stalled gateway would also hang its graceful close: then leave it to the fork's exit
        try {
            Client canary = Client.connect(http, g);
            AtomicBoolean publishing = new AtomicBoolean(true);
            AtomicInteger published = new AtomicInteger();
            CompletableFuture<Void> publisher = CompletableFuture.runAsync(() -> {
                StringBuilder batch = new StringBuilder();
                while (publishing.get()) {
                    batch.setLength(0);
                    for (int i = 0; i < 50; i++) {
                        batch.append("{\"room\":\"").append(ROOM).append("\",\"type\":\"t\",\"data\":{\"n\":")
                                .append(published.get() + i).append(",\"pad\":\"").append("x".repeat(200)).append("\"}}\n");
                    }
                    TestGateway.Response r = g.publishRaw(batch.toString());
                    if (r.status() != 200) throw new AssertionError("publish failed: " + r);
                    published.addAndGet(50);
                }
            });

            for (int round = 0; round < 8; round++) {
                List<Client> doomed = new ArrayList<>();
                for (int i = 0; i < 25; i++) doomed.add(Client.connect(http, g, cable));
                Thread.sleep(150); // events are flowing to them
                for (Client c : doomed) c.socket.abort(); // gone without a close handshake: writes to them fail
            }
            publishing.set(false);
            publisher.get(30, TimeUnit.SECONDS);

            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (canary.events.get() < published.get() && System.nanoTime() < deadline) Thread.sleep(20);
            stalled = canary.events.get() < published.get();
            assertThat(canary.events.get())
                    .as("events the canary received of %d published (fewer: live delivery stalled)", published.get())
                    .isEqualTo(published.get());
            stalled = false;
            assertThat(canary.regressions.get()).isZero();
            canary.socket.abort();
        } finally {
            if (!stalled) g.close();
        }
    }
}

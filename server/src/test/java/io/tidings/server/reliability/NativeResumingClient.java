package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.WsTestClient;
import io.tidings.storage.Offset;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A native {@code /v1/ws} client (the JDK's) that keeps reconnecting until stopped: on every
 * connection it joins each of its rooms with {@code after} = the last offset it received in that room
 * (docs/protocol.md, "Delivery guarantee"), records every event, and reconnects when the connection
 * ends for any reason, or when it stays silent and does not answer a {@code ping} (a half-open
 * connection, which TCP alone may never report). A {@code gap} or any unexpected frame is recorded
 * as a failure.
 *
 * <p>Thread safety: {@link #run} runs on one thread; the counters and {@link #sequences} may be read
 * from any.
 */
final class NativeResumingClient implements Runnable {
    static final long HEARTBEAT_NANOS = java.util.concurrent.TimeUnit.SECONDS.toNanos(3);
    final String name;
    final ReceivedSequences sequences;
    final AtomicInteger connections = new AtomicInteger();
    final AtomicInteger failedConnects = new AtomicInteger();
    /** Connections that answered nothing, not even the heartbeat, for {@link #HEARTBEAT_NANOS} × 2: dropped and resumed. */
    final AtomicInteger deadConnections = new AtomicInteger();
    final AtomicInteger pongs = new AtomicInteger();
    volatile long lastFrameMillis;
    volatile boolean subscribed;   // every room was live once
    volatile String failure;
    private final java.util.function.IntSupplier port; // asked on every (re)connect: a cluster test moves clients to a surviving node
    private final String token;
    private final List<String> rooms;
    private volatile boolean stopped;

    NativeResumingClient(String name, java.util.function.IntSupplier port, String token, String epoch, List<String> rooms) {
        this.name = name;
        this.port = port;
        this.token = token;
        this.rooms = rooms;
        this.sequences = new ReceivedSequences(epoch, rooms);
    }

    /** For a failure message: where this client is. */
    String state() {
        return name + ": connections " + connections + ", dead " + deadConnections + ", pongs " + pongs + ", last frame "
                + (lastFrameMillis == 0 ? "never" : (System.currentTimeMillis() - lastFrameMillis) + " ms ago") + ", events " + sequences.events();
    }

    void stop() {
        stopped = true;
    }

    @Override
    public void run() {
        while (!stopped && failure == null) {
            WsTestClient c;
            try {
                c = WsTestClient.connect(port.getAsInt(), token);
            } catch (IllegalStateException e) { // the connection or the upgrade was cut
                failedConnects.incrementAndGet();
                pause(50);
                continue;
            }
            connections.incrementAndGet();
            try (c) {
                serve(c);
            } catch (IllegalStateException e) {
                // a send failed: the connection was cut under us
            }
        }
    }

    private void serve(WsTestClient c) {
        boolean welcomed = false;
        Set<String> live = new HashSet<>();
        long lastFrame = System.nanoTime();
        boolean pinged = false;
        while (!stopped) {
            JsonNode f = c.poll(100);
            if (f == null) {
                if (c.isClosed() && c.pending() == 0) return;
                long quiet = System.nanoTime() - lastFrame;
                if (welcomed && !pinged && quiet > HEARTBEAT_NANOS) {
                    c.send("{\"op\":\"ping\"}"); // the protocol's heartbeat: is anyone there?
                    pinged = true;
                } else if (pinged && quiet > 2 * HEARTBEAT_NANOS) {
                    deadConnections.incrementAndGet(); // no answer: a half-open connection; drop it and resume
                    return;
                }
                continue;
            }
            lastFrame = System.nanoTime();
            pinged = false;
            lastFrameMillis = System.currentTimeMillis();
            String op = f.path("op").asText();
            switch (op) {
                case "pong" -> pongs.incrementAndGet();
                case "welcome" -> {
                    welcomed = true;
                    for (String r : rooms) c.join(r, sequences.resumeOffset(r));
                }
                case "joined" -> { }
                case "live" -> {
                    live.add(f.get("room").asText());
                    if (live.containsAll(rooms)) subscribed = true;
                }
                case "event" -> sequences.received(f.get("room").asText(), Offset.parse(f.get("offset").asText()).index());
                default -> failure = name + " got " + f + (welcomed ? "" : " before the welcome");
            }
        }
    }

    private static void pause(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

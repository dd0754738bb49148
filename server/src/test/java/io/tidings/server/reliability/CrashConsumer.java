package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.ChildGateway;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A consumer of {@link GatewayCrashTest}: per room, the ids it received, in order (the final check
 * compares them with audit replay), and what it had to do to get there. Runs on its own thread;
 * the views are read by the test thread (synchronized lists), the rest is that thread's own.
 */
abstract class CrashConsumer {
    final String name;
    final List<String> rooms;
    final Map<String, List<String>> views = new ConcurrentHashMap<>();
    /** Times a room was reloaded from audit replay because the protocol's resume could not cover it. */
    final AtomicInteger gaps = new AtomicInteger();
    final java.util.concurrent.CountDownLatch joined = new java.util.concurrent.CountDownLatch(1);

    final Run crash;

    CrashConsumer(String name, List<String> rooms, Run crash) {
        this.name = name;
        this.rooms = rooms;
        this.crash = crash;
        for (String r : rooms) views.put(r, java.util.Collections.synchronizedList(new ArrayList<>()));
    }

    /** Resume outcomes and reloads, in order, for a failure message. */
    final List<String> history = java.util.Collections.synchronizedList(new ArrayList<>());
    /** What ended {@link #run()} unexpectedly (the final check reports it). */
    volatile Throwable failure;

    abstract void run();

    void runRecordingFailure() {
        try {
            run();
        } catch (RuntimeException | AssertionError e) {
            failure = e;
        }
    }

    List<String> view(String room) {
        synchronized (views.get(room)) {
            return List.copyOf(views.get(room));
        }
    }

    void awaitJoined() throws InterruptedException {
        assertThat(joined.await(60, java.util.concurrent.TimeUnit.SECONDS)).as(name + " joined").isTrue();
    }

    /** Replaces the view of {@code room} with audit replay's; returns the replayed events. */
    List<JsonNode> reload(String room) {
        List<JsonNode> all = crash.api().replay(room);
        gaps.incrementAndGet();
        history.add("reload " + room + " -> " + all.size() + " events, last " + (all.isEmpty() ? "-" : all.get(all.size() - 1).get("offset").asText()));
        synchronized (views.get(room)) {
            views.get(room).clear();
            for (JsonNode e : all) views.get(room).add(e.at("/data/id").asText());
        }
        return all;
    }

    boolean caughtUp() {
        try {
            for (String room : rooms) {
                List<JsonNode> all = crash.api().replay(room);
                if (view(room).size() != all.size()) return false;
            }
            return true;
        } catch (RuntimeException | AssertionError e) {
            return false;
        }
    }

    /** What the consumers of one run share: the gateway, its HTTP API, the stop flag, the superseded-frames count. */
    record Run(ChildGateway gateway, GatewayHttp api, AtomicBoolean stop, AtomicInteger supersededFrames) {}

    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.hub.Rooms;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;
import io.tidings.storage.RollPeriod;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Property: while several producers publish (single- and multi-room events) and several clients
 * disconnect at random points (TCP drop or close handshake), pause reading (so the server switches
 * them to the log) and resume with their last offsets, every client ends up with exactly the events
 * of its rooms: each once, and per room in offset order. The log rolls a file every second meanwhile.
 *
 * <p>The client follows docs/protocol.md: it keeps one resume offset per joined room, advances every
 * room an event's {@code rooms} fall within, and acts on the event unless one of those rooms was
 * already at or past it. Checked: per room, the events that advanced it are exactly that room's
 * published events in offset order; overall, the client acted on each event of its rooms exactly
 * once. Seed: {@code -Dtidings.seed=…} to replay a run.
 */
class ResumePropertyTest {
    static final List<List<String>> PUBLISH_ROOMS = List.of(
            List.of("p/a"), List.of("p/a/x"), List.of("p/b"), List.of("q"), List.of("q/c"),
            List.of("p/a/x", "q/c"), List.of("p/b", "q"), List.of("q/c", "p/a"));
    static final List<List<String>> CLIENT_ROOMS = List.of(
            List.of("p"), List.of("p/a"), List.of("p/b", "q/c"), List.of("p/a/x", "q"), List.of("p/a", "p/a/x", "q/c"));
    static final int PUBLISHERS = 2;
    static final int BATCHES_PER_PUBLISHER = 200;
    static final long DEADLINE_MS = 90_000;

    @TempDir
    Path dir;

    record Published(Offset offset, List<String> rooms) {}

    /**
     * With the recent events in memory off (every catch-up reads the log), small (catch-ups start in
     * memory and fall off it onto the log mid-way), and at the default size.
     */
    @ParameterizedTest(name = "recentEventsBytes = {0}")
    @ValueSource(longs = {0, 8 * 1024, 16 << 20})
    void concurrentPublishersAndResumingClientsEachGetExactlyTheEventsOfTheirRooms(long recentEventsBytes) throws Exception {
        long seed = Long.getLong("tidings.seed", System.nanoTime());
        String token = TestGateway.token("carol", "p", "q");
        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = 1024; // bursts overflow it: sessions switch to the log and back under load
            c.slowClientTimeoutMs = 60_000;
            c.rollPeriod = RollPeriod.TEST_SECONDLY;
            c.recentEventsBytes = recentEventsBytes;
        })) {
            Offset start = g.gateway().log().head();
            Map<Offset, List<String>> published = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newCachedThreadPool();
            List<Resumer> clients = new ArrayList<>();
            for (int k = 0; k < CLIENT_ROOMS.size(); k++) clients.add(new Resumer(g, token, CLIENT_ROOMS.get(k), start, new Random(seed * 31 + k)));
            List<Future<?>> running = new ArrayList<>();
            for (Resumer c : clients) running.add(pool.submit(c));
            List<Future<?>> publishers = new ArrayList<>();
            for (int p = 0; p < PUBLISHERS; p++) {
                Random r = new Random(seed + p);
                publishers.add(pool.submit(() -> {
                    for (int b = 0; b < BATCHES_PER_PUBLISHER; b++) {
                        List<List<String>> rooms = new ArrayList<>();
                        StringBuilder body = new StringBuilder("[");
                        for (int i = 0, n = 1 + r.nextInt(4); i < n; i++) {
                            List<String> rs = PUBLISH_ROOMS.get(r.nextInt(PUBLISH_ROOMS.size()));
                            rooms.add(rs);
                            body.append(i == 0 ? "" : ",").append("{\"rooms\":[").append(String.join(",", rs.stream().map(Json::quote).toList())).append(']')
                                    .append(",\"type\":\"t\",\"data\":{\"b\":").append(b).append("}}");
                        }
                        TestGateway.Response resp = g.publishRaw(body.append(']').toString());
                        assertThat(resp.status()).isEqualTo(200);
                        JsonNode offsets = resp.json().get("offsets");
                        for (int i = 0; i < rooms.size(); i++) published.put(Offset.parse(offsets.get(i).asText()), rooms.get(i));
                    }
                    return null;
                }));
            }
            long t0 = System.nanoTime();
            for (Future<?> p : publishers) p.get(DEADLINE_MS, TimeUnit.MILLISECONDS);
            long t1 = System.nanoTime();

            List<Offset> all = new ArrayList<>(published.keySet());
            all.sort(null);
            for (Resumer c : clients) c.expect(all, published);
            for (Future<?> c : running) c.get(DEADLINE_MS, TimeUnit.MILLISECONDS);
            pool.shutdownNow();
            System.out.printf("seed %d: %d events published in %d ms, clients done %d ms later; lagged %d, replayed %d%n", seed,
                    published.size(), (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000,
                    g.gateway().hub().laggedCount(), g.gateway().hub().replayedCount());

            int reconnects = 0;
            for (Resumer c : clients) {
                c.check(published, "seed " + seed + ", client " + c.rooms);
                reconnects += c.connections - 1;
                System.out.printf("client %s: %d connections, %d frames, %d acted on%n", c.rooms, c.connections, c.wire.size(), c.processed.size());
            }
            assertThat(reconnects).as("the clients did reconnect").isGreaterThan(CLIENT_ROOMS.size());
            assertThat(g.gateway().hub().laggedCount()).as("some client was switched to the log").isPositive();
            Map<String, Double> reads = g.gateway().metrics().sumBy("tidings_catch_ups_total", "source");
            System.out.println("catch-ups by where they started reading: " + reads);
            if (recentEventsBytes == 0) assertThat(reads.get("memory")).as("no catch-up from memory when it is off").isZero();
            else assertThat(reads.get("memory")).as("catch-ups served from memory").isPositive();
        }
    }

    /** One client: joins its rooms, reads, drops the connection at random points, resumes. */
    static final class Resumer implements java.util.concurrent.Callable<Void> {
        final TestGateway g;
        final String token;
        final List<String> rooms;
        final Random random;
        final Map<String, Offset> after = new HashMap<>();
        final List<Offset> wire = new CopyOnWriteArrayList<>();       // every event frame, in arrival order
        final List<Offset> processed = new CopyOnWriteArrayList<>();  // the events the application acts on
        final Map<String, List<Offset>> advanced = new HashMap<>();   // per room: the events that moved its offset
        volatile Set<Offset> expected;
        int connections;

        Resumer(TestGateway g, String token, List<String> rooms, Offset start, Random random) {
            this.g = g;
            this.token = token;
            this.rooms = rooms;
            this.random = random;
            for (String r : rooms) after.put(r, start);
        }

        void expect(List<Offset> all, Map<Offset, List<String>> published) {
            Set<Offset> mine = new HashSet<>();
            for (Offset o : all) if (matches(published.get(o))) mine.add(o);
            expected = mine;
        }

        boolean matches(List<String> eventRooms) {
            for (String r : rooms) if (Rooms.anyWithin(eventRooms, r)) return true;
            return false;
        }

        @Override
        public Void call() {
            long deadline = System.currentTimeMillis() + DEADLINE_MS;
            while (true) {
                connections++;
                try (WsTestClient c = WsTestClient.welcomed(g, token)) {
                    for (String r : rooms) c.join(r, after.get(r).toString());
                    Set<String> live = new HashSet<>();
                    boolean finalRound = expected != null;
                    int budget = finalRound ? Integer.MAX_VALUE : random.nextInt(250);
                    while (budget-- > 0) {
                        if (System.currentTimeMillis() > deadline) {
                            throw new AssertionError("client " + rooms + " did not finish; processed " + processed.size()
                                    + " of " + (expected == null ? "?" : expected.size()));
                        }
                        if (!finalRound && random.nextInt(100) == 0) {
                            c.pause(); // a slow moment: the server's queue fills and it reads from the log instead
                            sleep(20 + random.nextInt(60));
                            c.resume();
                        }
                        JsonNode f = c.poll(100);
                        if (f == null) {
                            Set<Offset> exp = expected;
                            if (exp != null && live.containsAll(rooms) && new HashSet<>(processed).containsAll(exp)) return null;
                            if (exp != null && !finalRound) break; // publishing is over: reconnect for the final round
                            continue;
                        }
                        switch (f.get("op").asText()) {
                            case "event" -> onEvent(f);
                            case "live" -> live.add(f.get("room").asText());
                            case "joined" -> { }
                            default -> throw new AssertionError("client " + rooms + " got " + f);
                        }
                    }
                    if (random.nextBoolean()) c.abort();
                    else c.closeNormally();
                }
            }
        }

        /** The client rule of docs/protocol.md: advance every joined room the event counts for; process it unless one already had it. */
        private void onEvent(JsonNode f) {
            Offset o = Offset.parse(f.get("offset").asText());
            wire.add(o);
            List<String> eventRooms = new ArrayList<>();
            f.get("rooms").forEach(r -> eventRooms.add(r.asText()));
            if (!eventRooms.contains(f.get("room").asText())) throw new AssertionError("room not among rooms: " + f);
            boolean seen = false;
            for (String r : rooms) {
                if (!Rooms.anyWithin(eventRooms, r)) continue;
                if (o.compareTo(after.get(r)) > 0) {
                    after.put(r, o);
                    advanced.computeIfAbsent(r, k -> new ArrayList<>()).add(o);
                } else {
                    seen = true;
                }
            }
            if (!seen) processed.add(o);
        }

        void check(Map<Offset, List<String>> published, String what) {
            for (Offset o : wire) {
                assertThat(published.get(o)).as(what + ": " + o + " was published").isNotNull();
            }
            Map<Offset, Integer> counts = new LinkedHashMap<>();
            for (Offset o : processed) counts.merge(o, 1, Integer::sum);
            List<Offset> repeated = counts.entrySet().stream().filter(e -> e.getValue() > 1).map(Map.Entry::getKey).toList();
            assertThat(repeated).as(what + ": events processed more than once").isEmpty();
            assertThat(counts.keySet()).as(what + ": the events of its rooms, no more, no less").containsExactlyInAnyOrderElementsOf(expected);
            for (String r : rooms) {
                List<Offset> mine = expected.stream().filter(o -> Rooms.anyWithin(published.get(o), r)).sorted().toList();
                assertThat(advanced.getOrDefault(r, List.of())).as(what + ": room " + r + ", every event once, in offset order").isEqualTo(mine);
            }
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}

package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 2 of docs/reliability.md, network jitter: hundreds of clients on every protocol — native
 * {@code /v1/ws} (JDK client, per-room {@code after}), Socket.IO (real socket.io-client, connection
 * state recovery) and ActionCable extended protocol (real {@code @anycable/web}, session restore and
 * history) — connect through a {@link FaultyTcpProxy} that resets, FINs, cuts mid-frame and stalls
 * their TCP connections at random while producers publish over HTTP (straight to the gateway) to
 * several rooms. At the end every client has, for each of its rooms, exactly the acknowledged
 * events of that room: none lost, none twice, in offset order. A client whose resume is refused must
 * be told (Socket.IO {@code recovered === false}, ActionCable {@code reject_history}); it then
 * reconciles from the audit replay, and those are counted.
 */
class NetworkJitterTest {
    static final String PREFIX = "j";
    static final String CHANNEL = "JitterChannel";
    static final long SETTLE_MS = 120_000;
    static final long SESSION_TTL_MS = 300;

    @TempDir
    Path dir;

    @Test
    void clientsOnEveryProtocolEndWithExactlyThePublishedSequenceOfTheirRoomsDespiteCutConnections() throws Exception {
        long seed = Scale.seed();
        Random random = new Random(seed);
        int nativeCount = Scale.pick("jitter.native", 80, 400);
        int socketIoCount = Scale.pick("jitter.socketio", 80, 400);
        int cableCount = Scale.pick("jitter.cable", 60, 300);
        int rooms = Scale.pick("jitter.rooms", 6, 20);
        int seconds = Scale.pick("jitter.seconds", 20, 300);
        int eventsPerSecond = Scale.pick("jitter.rate", 80, 200);
        int faultIntervalMs = Scale.pick("jitter.faultIntervalMs", 8, 4);
        long t0 = System.nanoTime();

        try (TestGateway g = new TestGateway(dir, c -> {
                c.cableChannels = Map.of(CHANNEL, PREFIX + "/{room}");
                // Short session lifetimes, so that some resumes are refused and both ways back are exercised:
                // Socket.IO recovered === false → reconcile; ActionCable not restored → re-subscribe with history.
                c.socketIoSessionTtlMs = SESSION_TTL_MS;
                c.cableSessionTtlMs = SESSION_TTL_MS;
            });
             FaultyTcpProxy proxy = new FaultyTcpProxy(g.port(), seed);
             SocketIoResumingClients socketIo = new SocketIoResumingClients("http://127.0.0.1:" + proxy.port(), g);
             CableResumingClients cable = new CableResumingClients("ws://127.0.0.1:" + proxy.port() + "/cable", CHANNEL, PREFIX, g)) {
            String epoch = g.gateway().log().head().epoch();
            List<String> roomNames = new ArrayList<>();
            for (int r = 0; r < rooms; r++) roomNames.add(PREFIX + "/r" + r);
            String token = TestGateway.token("jitter", PREFIX);

            ExecutorService pool = Executors.newCachedThreadPool();
            List<NativeResumingClient> natives = new ArrayList<>();
            for (int i = 0; i < nativeCount; i++) {
                NativeResumingClient c = new NativeResumingClient("native-" + i, proxy::port, token, epoch, pickRooms(random, roomNames));
                natives.add(c);
                pool.submit(c);
            }
            for (int i = 0; i < socketIoCount; i++) socketIo.add("s" + i, token, pickRooms(random, roomNames), epoch);
            for (int i = 0; i < cableCount; i++) cable.add("c" + i, token, pickRooms(random, roomNames), epoch);
            boolean subscribed = awaitOrFail("every client subscribed to its rooms", 90_000, () -> natives.stream().allMatch(c -> c.subscribed)
                    && socketIo.all().stream().allMatch(c -> c.subscribed) && cable.all().stream().allMatch(CableResumingClients.Client::subscribed),
                    () -> failures(natives, socketIo, cable));
            assertThat(subscribed).as("every client subscribed to its rooms within 90 s").isTrue();
            long subscribedAt = System.nanoTime();

            proxy.startFaults(faultIntervalMs);
            Map<String, List<Long>> published = publish(g, roomNames, seconds, eventsPerSecond, new Random(random.nextLong()));
            proxy.stopFaults();
            long publishedAt = System.nanoTime();
            int events = published.values().stream().mapToInt(List::size).sum();

            List<ReceivedSequences> all = new ArrayList<>();
            natives.forEach(c -> all.add(c.sequences));
            socketIo.all().forEach(c -> all.add(c.sequences));
            cable.all().forEach(c -> all.add(c.sequences));
            // The clients reconnect on their own; wait until each has its rooms' sequences (or time out and show the difference).
            boolean settled = awaitOrFail("every client caught up", SETTLE_MS, () -> all.stream().allMatch(s -> s.matches(published)),
                    () -> failures(natives, socketIo, cable));
            if (!settled) {
                natives.stream().filter(c -> !c.sequences.matches(published)).forEach(c -> System.out.println("behind: " + c.state()));
                for (CableResumingClients.Client c : cable.all()) {
                    if (c.sequences.matches(published)) continue;
                    System.out.println("behind: actioncable client " + c.id + " " + c.sequences.summary(published));
                    cable.dump(c.id); // its state and last frames, printed as a "cable client dump" line
                }
                Thread.sleep(1000); // for the dump lines
            }
            long settledAt = System.nanoTime();
            natives.forEach(NativeResumingClient::stop);
            pool.shutdown();
            assertThat(pool.awaitTermination(30, TimeUnit.SECONDS)).isTrue();

            assertThat(failures(natives, socketIo, cable)).as("protocol failures").isEmpty();
            for (NativeResumingClient c : natives) c.sequences.check(c.name, published);
            for (SocketIoResumingClients.Client c : socketIo.all()) c.sequences.check("socket.io " + c.id, published);
            for (CableResumingClients.Client c : cable.all()) c.sequences.check("actioncable client " + c.id, published);

            int nativeResumes = natives.stream().mapToInt(c -> c.connections.get() - 1).sum();
            int deadConnections = natives.stream().mapToInt(c -> c.deadConnections.get()).sum();
            int socketIoResumes = socketIo.connects.get() - socketIoCount;
            int cableResumes = cable.connects.get() - cableCount;
            long delivered = all.stream().mapToLong(ReceivedSequences::events).sum();
            int skipped = all.stream().mapToInt(ReceivedSequences::skippedAfterReconcile).sum();
            Scale.report("jitter", String.format(
                    "clients=%d (native %d, socket.io %d, actioncable %d) rooms=%d events=%d delivered=%d lost=0 duplicated=0 "
                            + "faults=%s cuts=%d proxiedConnections=%d resumes: native %d (%d half-open found by heartbeat), socket.io %d (recovered %d, reconciled %d), "
                            + "actioncable %d (restored %d, reconciled %d); repeats skipped after reconciliation=%d; "
                            + "subscribe %d s, publish %d s, settle %d s, load %.2f",
                    nativeCount + socketIoCount + cableCount, nativeCount, socketIoCount, cableCount, rooms, events, delivered,
                    proxy.injected(), proxy.cuts(), proxy.accepted(), nativeResumes, deadConnections, socketIoResumes, socketIo.recovered.get(),
                    socketIo.reconciliations.get(), cableResumes, cable.restored.get(), cable.reconciliations.get(), skipped,
                    secs(subscribedAt - t0), secs(publishedAt - subscribedAt), secs(settledAt - publishedAt),
                    java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));

            // The run did what it claims: connections of every protocol were cut and resumed while events flowed.
            assertThat(proxy.cuts()).as("connections cut").isGreaterThan((nativeCount + socketIoCount + cableCount) / 2);
            assertThat(nativeResumes).as("native resumes").isPositive();
            assertThat(socketIoResumes).as("socket.io reconnects").isPositive();
            assertThat(cableResumes).as("actioncable reconnects").isPositive();
        }
    }

    /** One or two distinct rooms. */
    static List<String> pickRooms(Random random, List<String> rooms) {
        int a = random.nextInt(rooms.size());
        if (random.nextBoolean()) return List.of(rooms.get(a));
        int b = (a + 1 + random.nextInt(rooms.size() - 1)) % rooms.size();
        return List.of(rooms.get(a), rooms.get(b));
    }

    /**
     * Two producers publish batches of 1–20 single-room events to random rooms for {@code seconds},
     * at most about {@code perSecond} together; returns each room's acknowledged offsets in order.
     */
    static Map<String, List<Long>> publish(TestGateway g, List<String> rooms, int seconds, int perSecond, Random random) throws Exception {
        ConcurrentLinkedQueue<long[]> acked = new ConcurrentLinkedQueue<>(); // {room index, offset index}
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        ExecutorService producers = Executors.newFixedThreadPool(2);
        List<Future<?>> running = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
            Random r = new Random(random.nextLong());
            int producer = p;
            running.add(producers.submit(() -> {
                long start = System.nanoTime();
                int sent = 0;
                for (int n = 0; System.nanoTime() < end; n++) {
                    int size = 1 + r.nextInt(20);
                    int[] roomOf = new int[size];
                    StringBuilder body = new StringBuilder("[");
                    for (int i = 0; i < size; i++) {
                        roomOf[i] = r.nextInt(rooms.size());
                        body.append(i == 0 ? "" : ",").append("{\"room\":").append(Json.quote(rooms.get(roomOf[i])))
                                .append(",\"type\":\"t\",\"data\":{\"p\":").append(producer).append(",\"n\":").append(n).append("}}");
                    }
                    TestGateway.Response resp = g.publishRaw(body.append(']').toString());
                    assertThat(resp.status()).as(resp.body()).isEqualTo(200);
                    JsonNode offsets = resp.json().get("offsets");
                    for (int i = 0; i < size; i++) acked.add(new long[] {roomOf[i], Offset.parse(offsets.get(i).asText()).index()});
                    sent += size;
                    long aheadMs = sent * 2000L / perSecond - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    if (aheadMs > 0) Thread.sleep(aheadMs);
                }
                return null;
            }));
        }
        for (Future<?> f : running) f.get(seconds + 60L, TimeUnit.SECONDS);
        producers.shutdown();
        Map<String, List<Long>> byRoom = new LinkedHashMap<>();
        for (String room : rooms) byRoom.put(room, new ArrayList<>());
        for (long[] a : acked) byRoom.get(rooms.get((int) a[0])).add(a[1]);
        byRoom.values().forEach(l -> l.sort(null));
        return byRoom;
    }

    private static List<String> failures(List<NativeResumingClient> natives, SocketIoResumingClients socketIo, CableResumingClients cable) {
        List<String> out = new ArrayList<>();
        natives.stream().map(c -> c.failure).filter(f -> f != null).forEach(out::add);
        if (socketIo.failure != null) out.add(socketIo.failure);
        if (cable.failure != null) out.add(cable.failure);
        return out;
    }

    /** Polls {@code done} for up to {@code millis}; fails early if {@code failures} reports any. Returns whether it is done. */
    static boolean awaitOrFail(String what, long millis, BooleanSupplier done, java.util.function.Supplier<List<String>> failures) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!done.getAsBoolean()) {
            List<String> f = failures.get();
            if (!f.isEmpty()) throw new AssertionError(what + ": " + f);
            if (System.nanoTime() > deadline) return false; // the checks that follow show what is missing
            Thread.sleep(100);
        }
        return true;
    }

    private static long secs(long nanos) {
        return TimeUnit.NANOSECONDS.toSeconds(nanos);
    }
}

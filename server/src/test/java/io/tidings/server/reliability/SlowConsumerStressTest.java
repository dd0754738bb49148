package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.Session;
import io.tidings.server.http.Json;
import io.tidings.server.ws.NativeCloseCodes;
import io.tidings.storage.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 3 of docs/reliability.md, slow consumers. Beside fast clients, clients that read at a
 * trickle (one frame every {@link #TRICKLE_MS} ms) and clients that never read (the JDK client stops
 * requesting frames, so TCP pushes back on the server) join the same room while it is flooded.
 * Checked, in alternating phases without and with the slow clients, in one run:
 * <ul>
 *   <li>memory: no session's outbound queue ever exceeds {@code outboundBufferBytes} plus one frame
 *       (sampled all along), and the heap and direct buffers grow by at most
 *       {@code slow clients × 2 × (outboundBufferBytes + largest frame) + recentEventsBytes + }{@link #FIXED_OVERHEAD_BYTES}
 *       while the slow clients are behind (queue full, and the events read from the log for them);</li>
 *   <li>latency: the fast clients' median delivery latency (publish → receive, the publish time
 *       carried in the event) with slow clients is within 2× of the phases without them (the
 *       90th and 99th percentiles are reported);</li>
 *   <li>outcome: a client that never reads is closed with 4008 and a reason saying to resume; a
 *       trickling one is either served from the log at its own pace or closed the same way; after
 *       reading on or resuming from its last offset every one has exactly the room's sequence, as
 *       do the fast clients.</li>
 * </ul>
 * The gateway runs in this JVM: memory is read from its MXBeans after a full GC, the clients keep
 * no frames (only offsets).
 */
class SlowConsumerStressTest {
    static final int BUFFER = 64 * 1024;
    static final long SLOW_TIMEOUT_MS = 10_000;
    static final long TRICKLE_MS = 20;
    static final long FIXED_OVERHEAD_BYTES = 8L << 20;
    /** The recent events the hub keeps for catch-ups ({@code recentEventsBytes}); the flood fills them. */
    static final long RECENT_BYTES = 4L << 20;
    static final String ROOM = "slow/feed";
    static final String PAD = "x".repeat(16_000);
    static final long WAIT_MS = 120_000;

    @TempDir
    Path dir;

    enum Phase { NONE, WITHOUT_SLOW, WITH_SLOW }

    @Test
    void slowClientsStayBoundedDoNotSlowDownFastOnesAndEndWithExactlyTheRoomsSequence() throws Exception {
        int rounds = Scale.pick("slow.rounds", 2, 10);
        int fastCount = Scale.pick("slow.fast", 8, 40);
        int trickleCount = Scale.pick("slow.trickle", 10, 50);
        int stalledCount = Scale.pick("slow.stalled", 10, 50);
        int phaseMs = Scale.pick("slow.phaseMs", 4000, 20_000);
        int rate = Scale.pick("slow.rate", 50, 100);
        long floodExtra = Scale.pick("slow.floodMiB", 8, 64) * (1L << 20);
        long t0 = System.nanoTime();

        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = BUFFER;
            c.slowClientTimeoutMs = SLOW_TIMEOUT_MS;
            c.recentEventsBytes = RECENT_BYTES;
        })) {
            Hub hub = g.gateway().hub();
            String token = TestGateway.token("slowpoke", ROOM);
            Offset start = g.gateway().log().head();
            Publisher publisher = new Publisher(g);
            QueueWatch queues = new QueueWatch(hub);
            List<FastReader> fast = new ArrayList<>();
            for (int i = 0; i < fastCount; i++) fast.add(new FastReader(g, token, start, publisher));

            long maxHeapGrowth = 0, maxDirectGrowth = 0, flooded = 0;
            int closed4008 = 0, caughtUp = 0, maxFrame = 0;
            for (int round = 0; round < rounds; round++) {
                publisher.phase = Phase.WITHOUT_SLOW;
                publisher.paced(rate, phaseMs);
                publisher.phase = Phase.NONE;
                long[] before = memoryAfterGc();

                List<SlowReader> slow = new ArrayList<>();
                for (int i = 0; i < trickleCount + stalledCount; i++) slow.add(new SlowReader(g, hub, token, start, i < trickleCount));
                // Flood until every slow session is served from the log (its queue is full), then some more.
                flooded += publisher.flood(() -> slow.stream().allMatch(s -> s.session.isCatchingUp()), floodExtra);
                // The fast clients read the whole flood (their backlog would count as latency and as memory), the slow ones not.
                for (FastReader f : fast) f.awaitAll(publisher.published());
                long[] during = memoryAfterGc();
                maxHeapGrowth = Math.max(maxHeapGrowth, during[0] - before[0]);
                maxDirectGrowth = Math.max(maxDirectGrowth, during[1] - before[1]);

                publisher.phase = Phase.WITH_SLOW;
                publisher.paced(rate, phaseMs);
                publisher.phase = Phase.NONE;

                publishUntilClosed(hub, publisher, slow.stream().filter(s -> !s.trickle).map(s -> new Opened(s.client, s.session)).toList());
                for (SlowReader s : slow) {
                    if (s.finish(publisher.published())) closed4008++;
                    else caughtUp++;
                }
                maxFrame = Math.max(maxFrame, publisher.maxFrameBytes());
            }
            for (FastReader f : fast) f.awaitAll(publisher.published());
            queues.close();

            Map<String, List<Long>> published = Map.of(ROOM, publisher.published());
            for (int i = 0; i < fast.size(); i++) {
                fast.get(i).sequences.check("fast client " + i, published);
                fast.get(i).close();
            }
            Latencies without = Latencies.of(publisher.latencies(Phase.WITHOUT_SLOW));
            Latencies with = Latencies.of(publisher.latencies(Phase.WITH_SLOW));
            int slowCount = trickleCount + stalledCount;
            // per slow client: its queue (outboundBufferBytes + a frame) and the events read from the log for it (about as much)
            // and, once, the recent events kept in memory for catch-ups
            long memoryBound = slowCount * 2L * (BUFFER + maxFrame) + RECENT_BYTES + FIXED_OVERHEAD_BYTES;
            Scale.report("slow", String.format(
                    "rounds=%d fast=%d trickle=%d never-reading=%d events=%d flooded=%d MiB lost=0 duplicated=0; "
                            + "slow clients closed 4008 and resumed=%d, caught up from the log=%d; peak queue %d B (bound %d B); "
                            + "heap growth %.1f MiB, direct growth %.1f MiB (bound together %.1f MiB); fast latency p50 %.1f→%.1f ms (×%.2f), "
                            + "p90 %.1f→%.1f ms (×%.2f), p99 %.1f→%.1f ms, samples %d/%d; %d s, load %.2f",
                    rounds, fastCount, trickleCount, stalledCount, publisher.published().size(), flooded >> 20, closed4008, caughtUp,
                    queues.peak(), BUFFER + maxFrame, maxHeapGrowth / 1048576.0, maxDirectGrowth / 1048576.0, memoryBound / 1048576.0,
                    without.p50, with.p50, with.p50 / without.p50, without.p90, with.p90, with.p90 / without.p90, without.p99, with.p99,
                    without.count, with.count, TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0),
                    ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));

            assertThat(queues.peak()).as("largest outbound queue of any session").isLessThanOrEqualTo(BUFFER + maxFrame);
            assertThat(flooded / rounds).as("each round's flood is over 10× a session's queue bound (an unbounded queue would show)")
                    .isGreaterThan(10L * (BUFFER + maxFrame));
            assertThat(maxHeapGrowth + maxDirectGrowth).as("heap + direct growth with the slow clients' queues full").isLessThanOrEqualTo(memoryBound);
            assertThat(closed4008).as("never-reading clients are closed with 4008").isGreaterThanOrEqualTo(stalledCount * rounds);
            assertThat(with.count).isGreaterThan(100);
            assertThat(without.count).isGreaterThan(100);
            assertThat(with.p50).as("fast clients' median latency with slow clients vs without").isLessThanOrEqualTo(2 * without.p50);
            // The 90th percentile is reported, not asserted: on this shared 2-core machine it once came out ×12 with an
            // unchanged median (docs/reliability.md), and a test must not be flaky under load.
        }
    }

    /**
     * The other protocols' slow consumers: a Socket.IO client and an ActionCable extended-protocol
     * client that stop reading are served from the log, closed with 4008 after
     * {@code slowClientTimeoutMs} (no protocol frame first: the client is not reading), and resume
     * exactly with their protocol's own mechanism — Socket.IO connection state recovery
     * ({@code pid} + last offset), ActionCable session restore + {@code history} from the last
     * offset — ending with exactly the room's sequence.
     */
    @Test
    void neverReadingSocketIoAndActionCableClientsAreClosedWith4008AndResumeExactly() throws Exception {
        try (TestGateway g = new TestGateway(dir, c -> {
            c.outboundBufferBytes = BUFFER;
            c.slowClientTimeoutMs = 2000;
            c.socketIoPingIntervalMs = 600_000; // this is about the slow-consumer close, not Socket.IO's ping timeout (4002)
            c.cableChannels = Map.of("SlowChannel", "slow/{room}");
        })) {
            Hub hub = g.gateway().hub();
            String token = TestGateway.token("slowpoke", ROOM);
            Publisher publisher = new Publisher(g);
            String epoch = g.gateway().log().head().epoch();

            // Socket.IO: connect, join, stop reading.
            URI socketIo = URI.create(g.ws("/socket.io/?EIO=4&transport=websocket"));
            ReceivedSequences sio = new ReceivedSequences(epoch, List.of(ROOM));
            Opened sioOpened = open(hub, () -> {
                WsTestClient c = WsTestClient.connect(socketIo, Map.of());
                assertThat(text(c)).startsWith("0{");
                c.send("40{\"token\":" + Json.quote(token) + "}");
                return c;
            });
            WsTestClient sioClient = sioOpened.client();
            Session sioSession = sioOpened.session();
            JsonNode connected = Json.MAPPER.readTree(text(sioClient).substring(2));
            sioClient.send("420[\"join\",{\"account\":\"slow\",\"model\":\"feed\"}]");
            assertThat(text(sioClient)).startsWith("430[{\"ok\":true");
            sioClient.pause();

            // ActionCable, extended protocol: connect, subscribe, stop reading.
            String identifier = "{\"channel\":\"SlowChannel\",\"room\":\"feed\"}";
            URI cable = URI.create(g.ws("/cable?token=" + token));
            ReceivedSequences ac = new ReceivedSequences(epoch, List.of(ROOM));
            Opened cableOpened = open(hub, () -> WsTestClient.connect(cable, Map.of(), "actioncable-v1-ext-json"));
            WsTestClient cableClient = cableOpened.client();
            Session cableSession = cableOpened.session();
            String sid = cableClient.await(f -> "welcome".equals(f.path("type").asText())).get("sid").asText();
            cableClient.send(Json.MAPPER.createObjectNode().put("command", "subscribe").put("identifier", identifier).toString());
            cableClient.await(f -> "confirm_subscription".equals(f.path("type").asText()));
            cableClient.pause();

            publisher.flood(() -> sioSession.isCatchingUp() && cableSession.isCatchingUp(), 2L << 20);
            publishUntilClosed(hub, publisher, List.of(sioOpened, cableOpened));

            // Each reads what was sent before the close, sees 4008, and resumes its own way.
            sioClient.resume();
            assertThat(drain(sioClient, f -> socketIoEvent(f, sio)).code()).as("Socket.IO slow consumer close").isEqualTo(NativeCloseCodes.SLOW_CONSUMER);
            cableClient.resume();
            assertThat(drain(cableClient, f -> cableEvent(f, ac)).code()).as("ActionCable slow consumer close").isEqualTo(NativeCloseCodes.SLOW_CONSUMER);
            sioClient.close();
            cableClient.close();
            int sioBeforeClose = sio.events(), cableBeforeClose = ac.events();
            List<Long> published = publisher.published();
            assertThat(sio.events()).as("the Socket.IO client was cut off before the end").isLessThan(published.size());
            assertThat(ac.events()).as("the ActionCable client was cut off before the end").isLessThan(published.size());

            try (WsTestClient again = WsTestClient.connect(socketIo, Map.of())) {
                assertThat(text(again)).startsWith("0{");
                again.send("40" + Json.MAPPER.createObjectNode().put("token", token).put("pid", connected.get("pid").asText())
                        .put("offset", sio.resumeOffset(ROOM)));
                assertThat(Json.MAPPER.readTree(text(again).substring(2)).get("sid").asText()).as("recovered: same sid")
                        .isEqualTo(connected.get("sid").asText());
                readUntil(again, f -> socketIoEvent(f, sio), () -> sio.matches(Map.of(ROOM, published)));
            }
            try (WsTestClient again = WsTestClient.connect(URI.create(g.ws("/cable?token=" + token + "&sid=" + sid)), Map.of(), "actioncable-v1-ext-json")) {
                JsonNode welcome = again.await(f -> "welcome".equals(f.path("type").asText()));
                assertThat(welcome.path("restored").asBoolean()).as("session restored: " + welcome).isTrue();
                String last = ac.resumeOffset(ROOM);
                again.send("{\"command\":\"history\",\"identifier\":" + Json.quote(identifier) + ",\"history\":{\"streams\":{"
                        + Json.quote(ROOM) + ":{\"epoch\":" + Json.quote(epoch) + ",\"offset\":" + Offset.parse(last).index() + "}}}}");
                readUntil(again, f -> cableEvent(f, ac), () -> ac.matches(Map.of(ROOM, published)));
            }
            sio.check("Socket.IO client closed 4008, recovered", Map.of(ROOM, published));
            ac.check("ActionCable client closed 4008, restored", Map.of(ROOM, published));
            Scale.report("slow", String.format("socket.io and actioncable never-reading clients: closed 4008 after %d and %d events, "
                    + "resumed to all %d, lost=0 duplicated=0", sioBeforeClose, cableBeforeClose, published.size()));
        }
    }

    /**
     * Keeps events coming until the server has closed every one of {@code sessions} (clients that do
     * not read): small paced events while a session's queue is stuck, a 1 MiB flood while it is empty
     * (the socket buffers of a client that does not read can take megabytes before TCP pushes back).
     */
    /**
     * Publishes until the gateway has closed every never-reading client. Each one reads again as soon
     * as its session is gone, as a client whose network came back would: the 4008 close frame is queued
     * behind the frames it did not read, and a connection still stuck 3 s after the close is dropped
     * (1006, docs/protocol.md "Slow clients"), which the long run ran into when its 50 such clients
     * started reading only in {@link SlowReader#finish}, one after the other.
     */
    static void publishUntilClosed(Hub hub, Publisher publisher, List<Opened> neverReading) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (true) {
            List<Session> open = new ArrayList<>();
            for (Opened r : neverReading) {
                if (hub.sessions().contains(r.session())) open.add(r.session());
                else r.client().resume();
            }
            if (open.isEmpty()) return;
            if (System.nanoTime() > deadline) {
                throw new AssertionError(open.size() + " clients that do not read were not closed; queued bytes "
                        + open.stream().map(Session::queuedBytes).toList());
            }
            if (open.stream().anyMatch(s -> s.queuedBytes() == 0)) publisher.flood(() -> true, 1L << 20);
            else publisher.paced(20, 500);
        }
    }

    /** A client and the hub session it got. */
    record Opened(WsTestClient client, Session session) {}

    /** Opens a client with {@code open} and finds the hub session it got (clients open one at a time). */
    static Opened open(Hub hub, java.util.function.Supplier<WsTestClient> open) {
        Set<Session> known = new HashSet<>(hub.sessions());
        WsTestClient c = open.get();
        WsTestClient.eventually(() -> hub.sessions().size() > known.size());
        Set<Session> mine = new HashSet<>(hub.sessions());
        mine.removeAll(known);
        assertThat(mine).as("the new client's session").hasSize(1);
        return new Opened(c, mine.iterator().next());
    }

    private static String text(WsTestClient c) {
        String f = c.pollText(WsTestClient.WAIT.toMillis());
        if (f == null) throw new AssertionError("no frame within " + WsTestClient.WAIT);
        return f;
    }

    /** Reads every frame until the connection is closed; returns how. */
    private static WsTestClient.Closed drain(WsTestClient c, java.util.function.Consumer<String> each) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (System.nanoTime() < deadline) {
            String f = c.pollText(50);
            if (f != null) each.accept(f);
            else if (c.isClosed() && c.pending() == 0) return c.awaitClose();
        }
        throw new AssertionError("not closed");
    }

    private static void readUntil(WsTestClient c, java.util.function.Consumer<String> each, java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            String f = c.pollText(50);
            if (f != null) each.accept(f);
        }
    }

    /** {@code 42["slow::feed::t",data,"offset"]}: records the offset; pings ("2") and others are skipped. */
    private static void socketIoEvent(String frame, ReceivedSequences into) {
        if (!frame.startsWith("42[")) return;
        JsonNode a = parse(frame.substring(2));
        assertThat(a.get(0).asText()).isEqualTo("slow::feed::t");
        into.received(ROOM, Offset.parse(a.get(2).asText()).index());
    }

    /** An extended-protocol broadcast: records its offset; pings, confirmations and others are skipped. */
    private static void cableEvent(String frame, ReceivedSequences into) {
        JsonNode f = parse(frame);
        if (f.has("message") && f.has("offset")) {
            assertThat(f.get("stream_id").asText()).isEqualTo(ROOM);
            into.received(ROOM, f.get("offset").asLong());
        }
    }

    private static JsonNode parse(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(json, e);
        }
    }

    /** Heap used and direct buffers used, after a full GC. */
    static long[] memoryAfterGc() {
        System.gc();
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
        return new long[] {heap, direct};
    }

    record Latencies(int count, double p50, double p90, double p99) {
        static Latencies of(List<Long> nanos) {
            List<Long> s = new ArrayList<>(nanos);
            Collections.sort(s);
            if (s.isEmpty()) return new Latencies(0, 0, 0, 0);
            return new Latencies(s.size(), ms(s, 0.50), ms(s, 0.90), ms(s, 0.99));
        }

        private static double ms(List<Long> sorted, double q) {
            return sorted.get(Math.min(sorted.size() - 1, (int) (q * sorted.size()))) / 1e6;
        }
    }

    /**
     * Publishes to {@link #ROOM} over HTTP from the test thread, remembers the acknowledged offsets in
     * order and which phase each paced event belongs to; fast readers report latencies here.
     * Thread safety: publishing from one thread; {@link #latency} from any.
     */
    static final class Publisher {
        final TestGateway g;
        volatile Phase phase = Phase.NONE;
        private final List<Long> published = Collections.synchronizedList(new ArrayList<>());
        private final Map<Phase, ConcurrentLinkedQueue<Long>> latencies = Map.of(
                Phase.NONE, new ConcurrentLinkedQueue<>(), Phase.WITHOUT_SLOW, new ConcurrentLinkedQueue<>(), Phase.WITH_SLOW, new ConcurrentLinkedQueue<>());
        private int maxFrameBytes;

        Publisher(TestGateway g) {
            this.g = g;
        }

        /** One small event at a time, {@code perSecond}, for {@code ms}; each carries its phase and publish time. */
        void paced(int perSecond, long ms) throws InterruptedException {
            long startNs = System.nanoTime();
            for (int n = 0; System.nanoTime() - startNs < TimeUnit.MILLISECONDS.toNanos(ms); n++) {
                publish("[" + event("\"" + phase.name() + "\"", "") + "]");
                long aheadMs = (n + 1) * 1000L / perSecond - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                if (aheadMs > 0) Thread.sleep(aheadMs);
            }
        }

        /** Batches of large events until {@code until} holds, then {@code extraBytes} more; returns the bytes published. */
        long flood(java.util.function.BooleanSupplier until, long extraBytes) {
            long bytes = 0, extra = -1;
            while (extra < extraBytes) {
                StringBuilder batch = new StringBuilder("[");
                for (int i = 0; i < 50; i++) batch.append(i == 0 ? "" : ",").append(event("\"NONE\"", PAD));
                String body = batch.append(']').toString();
                publish(body);
                bytes += body.length();
                if (extra >= 0) extra += body.length();
                else if (until.getAsBoolean()) extra = 0;
                if (bytes > 1L << 30) throw new AssertionError("flooded 1 GiB and the slow clients were never all served from the log");
            }
            maxFrameBytes = Math.max(maxFrameBytes, PAD.length() + 200); // an event frame: the data plus the envelope
            return bytes;
        }

        private static String event(String phaseJson, String pad) {
            return "{\"room\":\"" + ROOM + "\",\"type\":\"t\",\"data\":{\"phase\":" + phaseJson + ",\"t\":" + System.nanoTime()
                    + ",\"pad\":\"" + pad + "\"}}";
        }

        private void publish(String body) {
            TestGateway.Response r = g.publishRaw(body);
            if (r.status() != 200) throw new AssertionError("publish failed: " + r);
            r.json().get("offsets").forEach(o -> published.add(Offset.parse(o.asText()).index()));
        }

        void latency(String phaseName, long nanos) {
            latencies.get(Phase.valueOf(phaseName)).add(nanos);
        }

        List<Long> latencies(Phase p) {
            return List.copyOf(latencies.get(p));
        }

        List<Long> published() {
            synchronized (published) {
                return List.copyOf(published);
            }
        }

        int maxFrameBytes() {
            return maxFrameBytes;
        }
    }

    /** A client that reads as fast as it can on its own thread and reports each paced event's latency. */
    static final class FastReader implements AutoCloseable {
        final ReceivedSequences sequences;
        private final AtomicLong received = new AtomicLong();
        private final WsTestClient client;
        private final Thread thread;
        private volatile boolean stopped;

        FastReader(TestGateway g, String token, Offset start, Publisher publisher) {
            sequences = new ReceivedSequences(start.epoch(), List.of(ROOM));
            client = WsTestClient.welcomed(g, token);
            client.join(ROOM, start.toString());
            client.expectRoomFrame("joined", ROOM);
            client.expectRoomFrame("live", ROOM);
            thread = new Thread(() -> {
                while (!stopped) {
                    JsonNode f = client.poll(100);
                    if (f == null) continue;
                    long now = System.nanoTime();
                    if (!"event".equals(f.path("op").asText())) throw new AssertionError("fast client got " + f);
                    sequences.received(ROOM, Offset.parse(f.get("offset").asText()).index());
                    received.incrementAndGet();
                    JsonNode data = f.get("data");
                    publisher.latency(data.get("phase").asText(), now - data.get("t").asLong());
                }
            }, "fast-reader");
            thread.setDaemon(true);
            thread.start();
        }

        /**
         * Waits until it has every published event, as long as events keep arriving: a long run's flood
         * (40 readers × 64 MiB) takes longer than any fixed wait, and a stalled reader shows as 20 s
         * without a single event.
         */
        void awaitAll(List<Long> published) throws InterruptedException {
            long seen = -1, progressAt = System.nanoTime();
            while (!sequences.matches(Map.of(ROOM, published))) {
                long now = received.get();
                if (now != seen) {
                    seen = now;
                    progressAt = System.nanoTime();
                } else if (System.nanoTime() - progressAt > TimeUnit.SECONDS.toNanos(20)) {
                    throw new AssertionError("a fast reader got no event for 20 s, " + seen + " received");
                }
                Thread.sleep(20);
            }
        }

        @Override
        public void close() {
            stopped = true;
            client.close();
        }
    }

    /**
     * A slow client: trickling ({@code trickle}: one frame every {@link #TRICKLE_MS} ms on its own
     * thread) or never reading (paused from the start). {@link #finish} lets it read on, or, if the
     * server closed it, resume from its last offset, until it has the whole room.
     */
    static final class SlowReader {
        final ReceivedSequences sequences;
        final Session session;
        private final TestGateway g;
        private final String token;
        final boolean trickle;
        private final WsTestClient client;
        private final Thread trickler;
        private final AtomicLong frames = new AtomicLong();
        private volatile boolean trickling = true;

        SlowReader(TestGateway g, Hub hub, String token, Offset start, boolean trickle) {
            this.g = g;
            this.token = token;
            this.trickle = trickle;
            this.sequences = new ReceivedSequences(start.epoch(), List.of(ROOM));
            Opened opened = open(hub, () -> WsTestClient.welcomed(g, token));
            client = opened.client();
            session = opened.session();
            client.join(ROOM, start.toString());
            client.expectRoomFrame("joined", ROOM);
            client.pause();
            trickler = new Thread(() -> {
                while (trickle && trickling) {
                    client.resume();
                    JsonNode f = client.poll(TRICKLE_MS);
                    client.pause();
                    for (; f != null; f = client.poll(0)) take(f); // the one frame, and any that came in before the pause
                    sleep(TRICKLE_MS);
                }
            }, "trickle-reader");
            trickler.setDaemon(true);
            trickler.start();
        }

        private void take(JsonNode f) {
            frames.incrementAndGet();
            if ("event".equals(f.path("op").asText())) sequences.received(ROOM, Offset.parse(f.get("offset").asText()).index());
            else if (!"live".equals(f.path("op").asText())) throw new AssertionError("slow client got " + f);
        }

        /**
         * Reads on at full speed (a never-reading one has been closed by then: 4008 after
         * {@link #SLOW_TIMEOUT_MS}, and reads what was sent before the close); resumes if it was
         * closed. Returns whether it was closed with 4008.
         */
        boolean finish(List<Long> published) throws InterruptedException {
            trickling = false;
            trickler.join();
            client.resume(); // the close frame, if any, is behind the frames already sent: read them
            boolean closed = false;
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MS);
            while (!sequences.matches(Map.of(ROOM, published))) {
                if (System.nanoTime() > deadline) break;
                JsonNode f = client.poll(50);
                if (f != null) take(f);
                else if (client.isClosed() && client.pending() == 0) {
                    closed = true;
                    break;
                }
            }
            if (closed) {
                WsTestClient.Closed how = client.awaitClose();
                assertThat(how.code()).as("how a slow client is closed").isEqualTo(NativeCloseCodes.SLOW_CONSUMER);
                assertThat(how.reason()).contains("resume");
                try (WsTestClient again = WsTestClient.welcomed(g, token)) {
                    again.join(ROOM, sequences.resumeOffset(ROOM));
                    again.expectRoomFrame("joined", ROOM);
                    while (!sequences.matches(Map.of(ROOM, published)) && System.nanoTime() < deadline) {
                        JsonNode f = again.poll(50);
                        if (f != null) take(f);
                    }
                }
            } else {
                client.close();
            }
            sequences.check("slow client (" + (closed ? "closed 4008, resumed" : "read on") + ")", Map.of(ROOM, published));
            return closed;
        }
    }

    /** Samples every session's outbound queue every 10 ms and keeps the largest. */
    static final class QueueWatch implements AutoCloseable {
        private final AtomicLong peak = new AtomicLong();
        private final Thread thread;
        private volatile boolean stopped;

        QueueWatch(Hub hub) {
            thread = new Thread(() -> {
                while (!stopped) {
                    for (Session s : hub.sessions()) peak.accumulateAndGet(s.peakQueuedBytes(), Math::max);
                    sleep(10);
                }
            }, "queue-watch");
            thread.setDaemon(true);
            thread.start();
        }

        long peak() {
            return peak.get();
        }

        @Override
        public void close() throws InterruptedException {
            stopped = true;
            thread.join();
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

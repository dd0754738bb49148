package io.tidings.server.reliability;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.ChildGateway;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.WsTestClient;
import io.tidings.server.http.Json;
import io.tidings.server.ws.socketio.SocketIoDriver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Scenario 1 (docs/reliability.md): a real gateway process is SIGKILLed at random moments while
 * producers publish over HTTP with producer ids (retrying what was not acknowledged, across the
 * restart), native WebSocket consumers resume with {@code after}, Socket.IO consumers (the real
 * socket.io-client) reconnect with connection-state recovery and ActionCable consumers (the real
 * {@code @anycable/web}) re-subscribe with their stream positions; between some rounds the tail of
 * the newest log file is cut short or damaged. At the end every acknowledged event is in the log
 * exactly once (audit replay), except those a torn tail dropped, which the gateway must have
 * reported; every consumer holds exactly its rooms' events in log order, having been told with an
 * explicit {@code gap}, {@code recovered=false} or {@code reject_history} (and reloaded from audit replay) where a repair
 * started a new epoch.
 */
class GatewayCrashTest {
    private static final String[] ROOMS = {"crash/r0", "crash/r1", "crash/r2"};
    private static final Pattern REPAIR = Pattern.compile("kept through (\\S+), dropped (\\d+) damaged and (\\d+|an unknown number of) missing record\\(s\\); epoch (\\S+) ->");

    @TempDir(cleanup = org.junit.jupiter.api.io.CleanupMode.ON_SUCCESS) // kept for a post-mortem when the run fails
    Path dir;

    private final Map<String, String> acked = new ConcurrentHashMap<>(); // producer id -> offset
    private final AtomicInteger retries = new AtomicInteger();
    /** Events of a subscription already replaced by a rejoin after a gap (delivered before the rejoin's `joined`), not counted. */
    private final AtomicInteger supersededFrames = new AtomicInteger();
    private final AtomicBoolean stop = new AtomicBoolean();
    private ChildGateway gateway;
    private GatewayHttp api;
    private final List<String> tears = new ArrayList<>();

    @Test
    void noAcknowledgedEventIsLostOrDuplicatedAcrossKillsAndTornTails() throws Exception {
        int rounds = Scale.pick("crash.rounds", 6, 200);
        int producers = Scale.pick("crash.producers", 2, 4);
        int consumers = Scale.pick("crash.consumers", 3, 6);
        int socketIoConsumers = Scale.pick("crash.socketioConsumers", 1, 3);
        int cableConsumers = Scale.pick("crash.cableConsumers", 1, 3);
        Random random = new Random(Scale.seed());
        long started = System.nanoTime();
        gateway = new ChildGateway(dir, ChildGateway.freePort(), Map.of("TIDINGS_CABLE_CHANNELS", "CrashChannel=crash/{room}"));
        api = new GatewayHttp(gateway);
        List<Thread> threads = new ArrayList<>();
        List<Consumer> cs = new ArrayList<>();
        try {
            gateway.start();
            for (int c = 0; c < consumers + socketIoConsumers + cableConsumers; c++) {
                List<String> rooms = List.of(ROOMS[c % ROOMS.length], ROOMS[(c + 1) % ROOMS.length]);
                Consumer consumer = c < consumers ? new NativeConsumer("c" + c, rooms)
                        : c < consumers + socketIoConsumers ? new SocketIoConsumer("s" + c, rooms) : new AnyCableConsumer("a" + c, rooms);
                cs.add(consumer);
                threads.add(started(new Thread(consumer::runRecordingFailure, "consumer-" + c)));
            }
            for (Consumer c : cs) c.awaitJoined();
            for (int p = 0; p < producers; p++) {
                int id = p;
                threads.add(started(new Thread(() -> produce(id, new Random(Scale.seed() + id)), "producer-" + p)));
            }
            int torn = 0;
            for (int round = 0; round < rounds; round++) {
                Thread.sleep(200 + random.nextInt(1200));
                gateway.kill();
                if (round % 3 == 2) {
                    tearNewestFile(random, torn++ % 2 == 0);
                }
                gateway.start();
            }
            Thread.sleep(500);
            stop.set(true);
            for (Thread t : threads.subList(cs.size(), threads.size())) t.join(120_000);

            List<JsonNode> log = replay("crash");
            Map<String, String> inLog = new HashMap<>();
            for (JsonNode e : log) {
                String id = e.at("/data/id").asText();
                assertThat(inLog.put(id, e.get("offset").asText())).as("event %s appears once in the log", id).isNull();
            }
            List<String[]> repairs = repairs();
            int lost = 0;
            for (Map.Entry<String, String> a : acked.entrySet()) {
                String now = inLog.get(a.getKey());
                if (now != null) {
                    // a repair renews the epoch of the whole log but keeps every kept event's index
                    assertThat(index(now)).as("acknowledged %s at %s is in the log at %s", a.getKey(), a.getValue(), now)
                            .isEqualTo(index(a.getValue()));
                    continue;
                }
                lost++;
                assertThat(droppedByARepair(a.getValue(), repairs))
                        .as("acknowledged %s at %s is missing from the log and no reported repair dropped it; repairs %s; tears %s; log has %d events",
                                a.getKey(), a.getValue(), repairs.stream().map(java.util.Arrays::toString).toList(), tears, inLog.size()).isTrue();
            }
            long reportedDropped = repairs.stream().mapToLong(r -> Long.parseLong(r[1])).sum();
            if (repairs.stream().allMatch(r -> r[2] != null)) {
                assertThat((long) lost).as("acknowledged events lost, at most what the repairs reported").isLessThanOrEqualTo(reportedDropped);
            }
            if (repairs.isEmpty()) assertThat(lost).as("acknowledged events lost without a torn tail").isZero();

            int gaps = 0, socketIoRecovered = 0, cableHistories = 0;
            for (Consumer c : cs) {
                assertThat(c.failure).as("%s stopped by", c.name).isNull();
                if (c instanceof SocketIoConsumer sio) socketIoRecovered += sio.recovered.get();
                if (c instanceof AnyCableConsumer cable) {
                    cableHistories += cable.historiesServed.get();
                    System.out.println("[reliability crash] " + c.name + " client lines: " + cable.seenLines);
                }
                System.out.println("[reliability crash] " + c.name + " reloads from audit replay: " + c.gaps.get() + "; history " + c.history);
                for (String room : c.rooms) {
                    List<String> expected = log.stream().filter(e -> e.get("rooms").get(0).asText().equals(room))
                            .map(e -> e.at("/data/id").asText()).toList();
                    WsTestClient.eventually(() -> c.view(room).size() >= expected.size());
                    assertThat(c.view(room)).as("%s's events of %s (gaps %d; repairs %s; tears %s; acked offsets of the differences %s; "
                                    + "data in %s; history %s)", c.name, room, c.gaps.get(), repairs.stream().map(java.util.Arrays::toString).toList(),
                            tears, differences(c.view(room), expected), dir, c.history).containsExactlyElementsOf(expected);
                }
                gaps += c.gaps.get();
            }
            stop.set(true);
            for (Thread t : threads) t.join(30_000);
            Scale.report("crash", String.format("rounds=%d torn=%d repairs=%d producers=%d native_consumers=%d socketio_consumers=%d anycable_consumers=%d acked=%d retries=%d in_log=%d "
                            + "lost_acked=%d reported_dropped=%d consumer_gaps_reloaded=%d socketio_recovered=%d anycable_histories_served=%d "
                            + "superseded_frames_dropped=%d duplicates=0 duration_s=%d load=%.1f",
                    rounds, torn, repairs.size(), producers, consumers, socketIoConsumers, cableConsumers, acked.size(), retries.get(),
                    inLog.size(), lost, reportedDropped, gaps, socketIoRecovered, cableHistories, supersededFrames.get(),
                    (System.nanoTime() - started) / 1_000_000_000L, java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
        } finally {
            stop.set(true);
            gateway.close();
        }
    }

    /** Publishes events with ids; an unacknowledged one is retried with the same id until acknowledged. */
    private void produce(int producer, Random random) {
        for (int n = 0; !stop.get(); n++) {
            String id = "p" + producer + "-" + n;
            String room = ROOMS[random.nextInt(ROOMS.length)];
            String body = "{\"room\":\"" + room + "\",\"type\":\"t\",\"id\":\"" + id + "\",\"data\":{\"id\":\"" + id + "\"}}";
            for (int attempt = 0; ; attempt++) {
                if (attempt > 0) retries.incrementAndGet();
                try {
                    HttpResponse<String> r = api.publish(body);
                    if (r.statusCode() == 200) {
                        acked.put(id, Json.MAPPER.readTree(r.body()).get("offset").asText());
                        break;
                    }
                } catch (IOException e) {
                    // killed: retry
                } catch (InterruptedException e) {
                    return;
                }
                sleep(50);
            }
        }
    }

    /** What every consumer keeps: per room, the ids it received, in order; the final check compares them with audit replay. */
    private abstract class Consumer {
        final String name;
        final List<String> rooms;
        final Map<String, List<String>> views = new ConcurrentHashMap<>();
        /** Times a room was reloaded from audit replay because the protocol's resume could not cover it. */
        final AtomicInteger gaps = new AtomicInteger();
        final java.util.concurrent.CountDownLatch joined = new java.util.concurrent.CountDownLatch(1);

        Consumer(String name, List<String> rooms) {
            this.name = name;
            this.rooms = rooms;
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
            List<JsonNode> all = replay(room);
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
                    List<JsonNode> all = replay(room);
                    if (view(room).size() != all.size()) return false;
                }
                return true;
            } catch (RuntimeException | AssertionError e) {
                return false;
            }
        }
    }

    /** A native client that follows the protocol's resume rule, and reloads a room from audit replay after a gap. */
    private final class NativeConsumer extends Consumer {
        final Map<String, String> positions = new ConcurrentHashMap<>();

        NativeConsumer(String name, List<String> rooms) {
            super(name, rooms);
        }

        @Override
        void run() {
            String token = TestGateway.token(name, rooms.toArray(String[]::new));
            while (!stop.get() || !caughtUp()) {
                try (WsTestClient c = WsTestClient.connect(gateway.port(), token)) {
                    JsonNode welcome = c.next();
                    for (String room : rooms) {
                        positions.putIfAbsent(room, welcome.get("offset").asText());
                        c.join(room, positions.get(room));
                    }
                    int live = 0;
                    Set<String> rejoining = new HashSet<>(); // a rejoin replaces the subscription: drop the old one's frames until `joined`
                    while (!c.isClosed() || c.pending() > 0) {
                        JsonNode f = c.poll(200);
                        if (f == null) {
                            if (stop.get() && caughtUp()) return;
                            continue;
                        }
                        String op = f.path("op").asText();
                        if (op.equals("live") && ++live == rooms.size()) joined.countDown();
                        if (op.equals("joined")) rejoining.remove(f.get("room").asText());
                        if (op.equals("event")) {
                            String room = f.get("rooms").get(0).asText();
                            if (rejoining.contains(room)) {
                                supersededFrames.incrementAndGet();
                                continue;
                            }
                            views.get(room).add(f.at("/data/id").asText());
                            positions.put(room, f.get("offset").asText());
                        } else if (op.equals("gap")) {
                            String room = f.get("room").asText();
                            List<JsonNode> all = reload(room);
                            rejoining.add(room);
                            if (all.isEmpty()) {
                                positions.remove(room);
                                c.join(room);
                            } else {
                                positions.put(room, all.get(all.size() - 1).get("offset").asText());
                                c.join(room, positions.get(room));
                            }
                        }
                    }
                } catch (RuntimeException | AssertionError e) {
                    // the gateway is down: try again
                }
                sleep(100);
            }
        }
    }

    /**
     * A Socket.IO client (the real socket.io-client, through {@link SocketIoDriver}) reconnecting by
     * itself after each kill. A recovered session gets what it missed from the gateway; a fresh one
     * ({@code recovered=false}: the session's offsets are of an epoch a repair ended) rejoins its rooms
     * and reloads them from audit replay; the events the new session delivers that the reload already
     * holds (committed between the join and the replay) are dropped once. Socket.IO joins have no
     * history, so the first join happens before the producers start.
     */
    private final class SocketIoConsumer extends Consumer {
        final AtomicInteger recovered = new AtomicInteger();

        SocketIoConsumer(String name, List<String> rooms) {
            super(name, rooms);
        }

        @Override
        void run() {
            try (SocketIoDriver d = new SocketIoDriver(gateway.url(""))) {
                d.connected(name, TestGateway.token(name, rooms.toArray(String[]::new)));
                for (String room : rooms) d.join(name, joinArgument(room));
                int seen = d.all().size(); // the first connect and the joins (no events yet: the producers start after `joined`)
                joined.countDown();
                Map<String, Set<String>> reloaded = new HashMap<>();
                Set<String> rejoinAcks = new HashSet<>(); // joins of a fresh session not yet acknowledged
                boolean rejoin = false;
                int rejoins = 0;
                while (!stop.get() || !caughtUp()) {
                    List<JsonNode> lines = d.all();
                    for (int i = seen; i < lines.size(); i++) {
                        JsonNode l = lines.get(i);
                        if (SocketIoDriver.is(l, "connect", name)) {
                            history.add("connect " + l.get("sid").asText() + " recovered=" + l.get("recovered").asBoolean()
                                    + " (view sizes " + rooms.stream().map(r -> view(r).size()).toList() + ")");
                            if (l.get("recovered").asBoolean() && !rejoin) {
                                recovered.incrementAndGet();
                                continue;
                            }
                            rejoin = true; // until every join of this connection is acknowledged; a kill meanwhile starts over
                            rejoinAcks.clear();
                            rejoins++;
                            for (String room : rooms) {
                                String tag = "rejoin-" + rejoins + "-" + room;
                                rejoinAcks.add(tag);
                                d.emit(name, tag, true, "join", joinArgument(room));
                            }
                        } else if (SocketIoDriver.is(l, "ack", name) && rejoinAcks.remove(l.path("tag").asText()) && rejoinAcks.isEmpty()) {
                            try {
                                for (String room : rooms) {
                                    Set<String> ids = new HashSet<>();
                                    for (JsonNode e : reload(room)) ids.add(e.at("/data/id").asText());
                                    reloaded.put(room, ids);
                                }
                                rejoin = false;
                            } catch (RuntimeException | AssertionError e) {
                                history.add("reload failed: " + e.toString().lines().findFirst().orElse("")); // again at the next connect
                            }
                        } else if (SocketIoDriver.is(l, "event", name)) {
                            String[] parts = l.get("name").asText().split("::"); // crash::r0::t
                            String room = parts[0] + "/" + parts[1];
                            String id = l.get("args").get(0).get("id").asText();
                            if (reloaded.containsKey(room) && reloaded.get(room).remove(id)) {
                                supersededFrames.incrementAndGet();
                                continue;
                            }
                            views.get(room).add(id);
                        }
                    }
                    seen = lines.size();
                    sleep(100);
                }
            }
        }

        private static String joinArgument(String room) {
            String[] parts = room.split("/");
            return "{\"account\":\"" + parts[0] + "\",\"model\":\"" + parts[1] + "\"}";
        }
    }

    /**
     * An ActionCable client on the extended protocol (the real @anycable/web, through
     * {@code cable/client.mjs}), subscribed to {@code CrashChannel} rooms. After each kill it
     * reconnects and re-subscribes with its positions ({@code history}); where a repair ended their
     * epoch the gateway answers {@code reject_history} ({@code history_not_found}) and streams live,
     * and the client reloads that room from audit replay (the live events the reload already holds are
     * dropped once). Subscribed before the producers start, so it sees every event of its rooms.
     */
    private final class AnyCableConsumer extends Consumer {
        final AtomicInteger historiesServed = new AtomicInteger();
        /** How many lines of each kind the client printed (events and raw frames aside), for the report. */
        final Map<String, Integer> seenLines = new java.util.concurrent.ConcurrentSkipListMap<>();

        private static String infoType(String line) {
            Matcher m = Pattern.compile("\"type\":\"([a-z_]+)\"").matcher(line);
            return m.find() ? m.group(1) : "?";
        }

        AnyCableConsumer(String name, List<String> rooms) {
            super(name, rooms);
        }

        @Override
        void run() {
            String url = gateway.url("/cable").replaceFirst("^http", "ws");
            try (NodeScript c = NodeScript.start("cable/client.mjs", "anycable", url, TestGateway.token(name, rooms.toArray(String[]::new)))) {
                c.awaitLine("ready", 60);
                for (String room : rooms) c.send("subscribe {\"channel\":\"CrashChannel\",\"room\":\"" + room.substring(room.indexOf('/') + 1) + "\"}");
                Map<String, Set<String>> reloaded = new HashMap<>();
                int subscribed = 0;
                boolean reconnecting = false;
                Set<String> needsReload = new java.util.TreeSet<>(); // history refused; reloaded as soon as audit replay answers
                while (!stop.get() || !caughtUp()) {
                    for (String room : List.copyOf(needsReload)) {
                        try {
                            Set<String> ids = new HashSet<>();
                            for (JsonNode e : reload(room)) ids.add(e.at("/data/id").asText());
                            reloaded.put(room, ids);
                            needsReload.remove(room);
                        } catch (RuntimeException | AssertionError e) {
                            history.add("reload failed: " + e.toString().lines().findFirst().orElse("")); // the gateway is down: again
                        }
                    }
                    String line;
                    try {
                        line = c.nextLine(1);
                    } catch (AssertionError quiet) {
                        continue;
                    }
                    int space = line.indexOf(' ');
                    String tag = space < 0 ? line : line.substring(0, space);
                    if (!tag.equals("frame") && !tag.equals("received")) seenLines.merge(tag + (tag.equals("info") ? ":" + infoType(line) : ""), 1, Integer::sum);
                    if (tag.equals("subscribed") && ++subscribed == rooms.size()) joined.countDown();
                    if (tag.equals("uncaught")) throw new AssertionError(name + ": the client threw: " + line);
                    // as a browser fires 'online': reconnect now rather than after @anycable/web's growing backoff
                    // (client.mjs then retries every 100 ms until connected: once per disconnection is enough)
                    if (tag.equals("connect")) reconnecting = false;
                    if ((tag.equals("disconnect") || tag.equals("close")) && !reconnecting) {
                        reconnecting = true;
                        c.send("online");
                    }
                    if (!tag.equals("received") && !tag.equals("info")) continue;
                    JsonNode payload = parse(line.substring(space + 1));
                    if (tag.equals("info")) history.add("info " + payload.path("type").asText() + " " + payload.path("identifier").asText());
                    if (tag.equals("received")) {
                        String room = payload.at("/meta/stream").asText();
                        String id = payload.at("/message/id").asText();
                        if (reloaded.containsKey(room) && reloaded.get(room).remove(id)) supersededFrames.incrementAndGet();
                        else views.get(room).add(id);
                    } else if (payload.path("type").asText().equals("history_received")) {
                        historiesServed.incrementAndGet();
                    } else if (payload.path("type").asText().equals("history_not_found")) {
                        needsReload.add("crash/" + parse(payload.get("identifier").asText()).get("room").asText());
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static JsonNode parse(String json) {
            try {
                return Json.MAPPER.readTree(json);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(json, e);
            }
        }
    }

    private List<JsonNode> replay(String room) {
        return api.replay(room);
    }

    /** Cuts the newest roll file inside its last records, or flips bytes in its last record. */
    private void tearNewestFile(Random random, boolean cut) throws IOException {
        Path logDir = dir.resolve("log");
        Path newest;
        try (Stream<Path> files = Files.list(logDir)) {
            newest = files.filter(p -> p.toString().endsWith(".cq4")).max(Path::compareTo).orElseThrow();
        }
        try (RandomAccessFile f = new RandomAccessFile(newest.toFile(), "rw")) {
            long last = lastNonZeroByte(f);
            tears.add((cut ? "cut " : "flip ") + newest.getFileName() + " last non-zero byte " + last);
            if (cut) {
                f.setLength(Math.max(0, last - 1 - random.nextInt(400)));
            } else {
                long at = last - 8 - random.nextInt(8);
                f.seek(at);
                int b = f.read();
                f.seek(at);
                f.write(b ^ 0x5a);
            }
        }
    }

    private static long lastNonZeroByte(RandomAccessFile f) throws IOException {
        byte[] buf = new byte[1 << 16];
        long end = f.length();
        long lastSeen = -1;
        for (long at = 0; at < end; at += buf.length) {
            f.seek(at);
            int n = f.read(buf);
            boolean any = false;
            for (int i = n - 1; i >= 0; i--) if (buf[i] != 0) { lastSeen = at + i; any = true; break; }
            if (!any && lastSeen >= 0 && at > lastSeen + (8 << 20)) break; // sparse rest of the file
        }
        return lastSeen;
    }

    /** The repairs the gateway reported at startup: {kept-through offset, damaged + missing, missing or null if unknown, previous epoch}. */
    private List<String[]> repairs() throws IOException {
        List<String[]> out = new ArrayList<>();
        for (String line : Files.readAllLines(gateway.output())) {
            if (!line.contains("log recovery:")) continue;
            Matcher m = REPAIR.matcher(line);
            assertThat(m.find()).as("repair line %s", line).isTrue();
            boolean known = !m.group(3).startsWith("an");
            long dropped = Long.parseLong(m.group(2)) + (known ? Long.parseLong(m.group(3)) : 0);
            out.add(new String[] {m.group(1), Long.toString(dropped), known ? m.group(3) : null, m.group(4)});
        }
        return out;
    }

    private static boolean droppedByARepair(String offset, List<String[]> repairs) {
        String epoch = offset.substring(0, offset.indexOf('-'));
        for (String[] r : repairs) {
            String kept = r[0];
            if (!r[3].equals(epoch)) continue;
            if (kept.startsWith("(") || index(offset) > index(kept)) return true; // "(nothing in that file)": the whole newest file
        }
        return false;
    }

    /** The ids in one list but not the other, each with its acknowledged offset (or "unacked"). */
    private Map<String, String> differences(List<String> a, List<String> b) {
        Map<String, String> out = new java.util.TreeMap<>();
        Set<String> inA = new HashSet<>(a), inB = new HashSet<>(b);
        for (String id : a) if (!inB.contains(id)) out.put(id, acked.getOrDefault(id, "unacked"));
        for (String id : b) if (!inA.contains(id)) out.put(id, acked.getOrDefault(id, "unacked"));
        return out;
    }

    /** The index part of an offset {@code <epoch>-<index>}. */
    private static long index(String offset) {
        return Long.parseLong(offset.substring(offset.indexOf('-') + 1));
    }

    private static Thread started(Thread t) {
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.tidings.storage;

import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.impl.single.TableStoreWriteLock;
import net.openhft.chronicle.threads.Pauser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A child JVM appends in a loop and is killed with SIGKILL at a random moment, several rounds on the
 * same directory. After each round the log must hold every acknowledged event, in order, once, with
 * no torn record, and take new appends.
 */
class CrashRecoveryTest {
    private static final int ROUNDS = 5;
    private static final long SEQS_PER_ROUND = 10_000_000L;
    private static final long SEQS_PER_THREAD = 1_000_000L;
    private static final Pattern ACK = Pattern.compile("ACK (\\d+) (\\S+) END");

    @TempDir
    Path tmp;

    @Test
    void everyAcknowledgedEventSurvivesSigkillInOrderWithoutDuplicates() throws Exception {
        Path dir = tmp.resolve("log");
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String epoch;
        // one file per second (the child keeps the period the log was created with): kills land
        // around file rolls too, and each reopen starts a new file after one that never got its end marker
        try (EventLog log = EventLog.open(LogConfig.at(dir).withRoll(RollPeriod.TEST_SECONDLY))) {
            epoch = log.epoch();
        }
        Map<Long, Offset> acknowledged = new HashMap<>(); // seq -> offset, over all rounds
        List<String> figures = new ArrayList<>();
        int eventsBefore = 0; // events in the log when the round's child started
        for (int round = 0; round < ROUNDS; round++) {
            Durability durability = round % 2 == 0 ? Durability.PROCESS_CRASH : Durability.POWER_LOSS;
            long firstSeq = (round + 1) * SEQS_PER_ROUND;
            long killAfterMillis = 100 + random.nextInt(700);
            String context = "round " + round + " (" + durability + ", kill after " + killAfterMillis + " ms, seed " + seed + ")";

            Map<Long, Offset> acks = runAndKill(dir, firstSeq, durability, killAfterMillis, tmp.resolve("child-" + round + ".err"), context);
            assertThat(acks).as("acknowledged events in %s", context).isNotEmpty();
            for (Offset o : acks.values()) assertThat(o.epoch()).isEqualTo(epoch);
            acknowledged.putAll(acks);

            long openStart = System.nanoTime();
            try (EventLog log = EventLog.open(LogConfig.at(dir))) {
                long openMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openStart);
                assertThat(log.epoch()).isEqualTo(epoch);

                List<Event> events = TestEvents.readAll(log);
                checkLog(events, acknowledged, context);
                assertThat(log.head()).as(context).isEqualTo(events.get(events.size() - 1).offset());

                VerifyReport report = log.verify();
                assertThat(report.damage()).as("damage after %s", context).isEmpty();
                assertThat(report.scanned()).isEqualTo(events.size());
                assertThat(report.stats().events()).isEqualTo(events.size());

                // new appends still work, land after everything recovered, and are readable
                long appendStart = System.nanoTime();
                long parentSeq = firstSeq + 9 * SEQS_PER_THREAD;
                Appended single = log.append(TestEvents.withSeq(parentSeq));
                long firstAppendMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - appendStart);
                List<Appended> batch = log.append(List.of(TestEvents.withSeq(parentSeq + 1), TestEvents.withSeq(parentSeq + 2)));
                assertThat(single.offset()).isGreaterThan(events.get(events.size() - 1).offset());
                acknowledged.put(parentSeq, single.offset());
                for (int i = 0; i < batch.size(); i++) acknowledged.put(parentSeq + 1 + i, batch.get(i).offset());
                try (Cursor c = log.cursorAfter(events.get(events.size() - 1).offset())) {
                    List<Event> tail = TestEvents.drain(c);
                    assertThat(TestEvents.offsets(tail)).containsExactly(single.offset(), batch.get(0).offset(), batch.get(1).offset());
                }
                figures.add(String.format("%s: child acknowledged %d, log grew by %d (%d complete but unacknowledged), "
                                + "reopen %d ms, first append %d ms", context, acks.size(), events.size() - eventsBefore,
                        events.size() - eventsBefore - acks.size(), openMillis, firstAppendMillis));
                eventsBefore = events.size() + 3;
            }
        }
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            List<Event> events = TestEvents.readAll(log);
            checkLog(events, acknowledged, "final reopen");
            assertThat(log.verify().healthy()).isTrue();
            figures.add(String.format("total: %d rounds, %d events acknowledged, %d in the log, %d files (seed %d)",
                    ROUNDS, acknowledged.size(), events.size(), log.stats().files(), seed));
        }
        figures.forEach(System.out::println);
    }

    /**
     * The deterministic worst moment: the writer dies inside a document, holding Chronicle's write
     * lock, with half a record on disk. Reopening must not wait for Chronicle's lock timeout, must not
     * show the torn record, and new appends must be readable after it. Also when the restarted process
     * has the dead one's process id (PID 1 in a container), which Chronicle takes for a live holder.
     */
    @ParameterizedTest(name = "restarted with the same process id: {0}")
    @ValueSource(booleans = {false, true})
    void killedMidRecordHoldingTheWriteLock(boolean samePid) throws Exception {
        Path dir = tmp.resolve("log");
        List<Offset> appended = new ArrayList<>();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            for (int i = 0; i < 10; i++) appended.add(log.append(TestEvents.withSeq(i)).offset());
        }
        Path stderr = tmp.resolve("torn.err");
        Process child = new ProcessBuilder(TestEvents.childJvm(TornWriteChild.class, dir.toString()))
                .redirectError(stderr.toFile()).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
            assertThat(r.readLine()).as("child stderr: %s", readQuietly(stderr)).isEqualTo("HOLDING END");
        } finally {
            child.toHandle().destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        assertThat(child.exitValue()).isEqualTo(137);
        if (samePid) recordChronicleWriteLockAsHeldByThisProcess(dir);

        long openStart = System.nanoTime();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            long openMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openStart);
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).isEqualTo(appended);
            assertThat(log.head()).isEqualTo(appended.get(9));
            assertThat(log.verify().damage()).isEmpty();

            long appendStart = System.nanoTime();
            Appended next = log.append(TestEvents.withSeq(10));
            long appendMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - appendStart);
            assertThat(next.offset()).isGreaterThan(appended.get(9));
            try (Cursor c = log.cursorAfter(appended.get(9))) {
                Event e = c.next(5, TimeUnit.SECONDS);
                assertThat(e).as("the event appended after the torn record is readable").isNotNull();
                assertThat(e.offset()).isEqualTo(next.offset());
                assertThat(TestEvents.seqOf(e)).isEqualTo(10);
            }
            List<Event> all = TestEvents.readAll(log);
            assertThat(all).hasSize(11);
            VerifyReport report = log.verify();
            assertThat(report.damage()).isEmpty();
            assertThat(report.scanned()).isEqualTo(11);
            System.out.println("killed mid-record holding the write lock (same pid: " + samePid + "): reopen " + openMillis
                    + " ms, first append " + appendMillis + " ms");
        }
    }

    /**
     * A writer killed while creating a new roll file leaves it with an unfinished first header (the
     * state is made here by hand: the kill window is too short to hit on purpose). Chronicle waits
     * for that header a few times ({@link ChronicleEventLog#CHRONICLE_TIMEOUT_MILLIS} each), then
     * renames the file to {@code *.discard} and starts it afresh. It held no event, so nothing is lost.
     */
    @Test
    void aRollFileWhoseCreationWasCutShortIsSetAside() throws Exception {
        Path dir = tmp.resolve("log");
        AtomicLong clock = new AtomicLong(TestEvents.T0);
        List<Offset> appended = new ArrayList<>();
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock))) {
            for (int i = 0; i < 5; i++) appended.add(log.append(TestEvents.withSeq(i)).offset());
        }
        long nextHour = TestEvents.T0 + 3_600_000;
        String name = DateTimeFormatter.ofPattern(RollPeriod.HOURLY.cycle.format()).withZone(ZoneOffset.UTC)
                .format(Instant.ofEpochMilli(nextHour)) + ".cq4";
        try (FileChannel ch = FileChannel.open(dir.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            // Chronicle's first header, claimed (not-complete bit, length unknown) but never finished
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0x8000_0000), 0);
            ch.write(ByteBuffer.allocate(1), 65_535);
        }
        clock.set(nextHour + 1_000);

        long openStart = System.nanoTime();
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock))) {
            long openMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - openStart);
            assertThat(log.head()).isEqualTo(appended.get(4));
            long appendStart = System.nanoTime();
            Offset next = log.append(TestEvents.withSeq(5)).offset();
            long appendMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - appendStart);
            appended.add(next);
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).isEqualTo(appended);
            try (Cursor c = log.cursorAfter(appended.get(4))) {
                assertThat(c.next().offset()).isEqualTo(next);
            }
            VerifyReport report = log.verify();
            assertThat(report.damage()).isEmpty();
            assertThat(report.scanned()).isEqualTo(6);
            System.out.println("roll file cut short: reopen " + openMillis + " ms, first append " + appendMillis + " ms");
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).anyMatch(f -> f.startsWith(name) && f.endsWith(".discard"));
        }
    }

    @Test
    void aSecondWriterProcessIsRefused() throws Exception {
        Path dir = tmp.resolve("log");
        Path stderr = tmp.resolve("second-writer.err");
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            Offset first = log.append(TestEvents.withSeq(0)).offset();
            Process child = new ProcessBuilder(TestEvents.childJvm(CrashChild.class, dir.toString(), "1", Durability.PROCESS_CRASH.name()))
                    .redirectError(stderr.toFile()).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            try {
                assertThat(child.waitFor(60, TimeUnit.SECONDS)).as("the second writer gives up").isTrue();
            } finally {
                child.toHandle().destroyForcibly();
            }
            assertThat(child.exitValue()).isNotZero();
            assertThat(readQuietly(stderr)).contains("already open for writing");
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).containsExactly(first);
            log.append(TestEvents.withSeq(1));
        }
    }

    /**
     * Leaves Chronicle's write lock recorded as held by this process, as a dead predecessor with the
     * same process id would have left it.
     */
    private static void recordChronicleWriteLockAsHeldByThisProcess(Path dir) {
        SingleChronicleQueue queue = SingleChronicleQueueBuilder.binary(dir).rollCycle(RollPeriod.HOURLY.cycle).build();
        try {
            TableStoreWriteLock lock = new TableStoreWriteLock(queue.metaStore(), Pauser::balanced, 0L);
            lock.lock(); // frees the dead child's lock on open, takes it for this process, and never unlocks
            assertThat((int) lock.lockedBy()).isEqualTo((int) ProcessHandle.current().pid());
        } finally {
            queue.close();
        }
    }

    /**
     * Starts the child, lets it append for {@code killAfterMillis} after it is ready, kills it with
     * SIGKILL and returns the events it acknowledged (seq to offset).
     */
    private static Map<Long, Offset> runAndKill(Path dir, long firstSeq, Durability durability, long killAfterMillis,
                                                Path stderr, String context) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(TestEvents.childJvm(CrashChild.class, dir.toString(),
                Long.toString(firstSeq), durability.name()));
        pb.redirectError(stderr.toFile());
        Process child = pb.start();
        List<String> lines = new CopyOnWriteArrayList<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = r.readLine(); line != null; line = r.readLine()) lines.add(line);
            } catch (IOException ignored) {
                // the pipe breaks when the child dies
            }
        }, "child-stdout");
        reader.start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (lines.stream().noneMatch(l -> l.startsWith("READY")) && child.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(lines).as("child ready in %s; stderr: %s", context, readQuietly(stderr)).anyMatch(l -> l.startsWith("READY"));
            Thread.sleep(killAfterMillis / 2);
            while (lines.stream().noneMatch(l -> l.startsWith("ACK")) && child.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            // an offline reader (read-only instance in this process) sees what the live writer acknowledged
            Map<Long, Offset> ackedSoFar = parseAcks(lines);
            try (EventLog readOnly = EventLog.open(LogConfig.at(dir).withReadOnly(true))) {
                Map<Offset, Long> seqAt = new HashMap<>();
                Offset previous = null;
                for (Event e : TestEvents.readAll(readOnly)) {
                    if (previous != null) assertThat(e.offset()).isGreaterThan(previous);
                    previous = e.offset();
                    seqAt.put(e.offset(), TestEvents.seqOf(e));
                }
                for (Map.Entry<Long, Offset> ack : ackedSoFar.entrySet()) {
                    assertThat(seqAt.get(ack.getValue())).as("read-only view of acknowledged seq %d in %s", ack.getKey(), context)
                            .isEqualTo(ack.getKey());
                }
            }
            Thread.sleep(killAfterMillis / 2);
            assertThat(child.isAlive()).as("child alive before the kill in %s; stderr: %s", context, readQuietly(stderr)).isTrue();
        } finally {
            // SIGKILL on Linux. Through the handle, not Process.destroyForcibly(): that one also closes
            // our end of the pipe and drops the acknowledgements the child wrote but we have not read yet.
            child.toHandle().destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
            reader.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(child.exitValue()).as("exit status of the killed child (128 + SIGKILL)").isEqualTo(137);
        assertThat(lines).as("child failures in %s", context).noneMatch(l -> l.startsWith("FAIL"));
        return parseAcks(lines);
    }

    private static Map<Long, Offset> parseAcks(List<String> lines) {
        Map<Long, Offset> acks = new HashMap<>();
        for (String line : lines) {
            Matcher m = ACK.matcher(line);
            if (m.matches()) acks.put(Long.parseLong(m.group(1)), Offset.parse(m.group(2)));
        }
        return acks;
    }

    /** Order, uniqueness, no torn or lost event, and every acknowledged event present at its offset. */
    private static void checkLog(List<Event> events, Map<Long, Offset> acknowledged, String context) {
        assertThat(events).as(context).isNotEmpty();
        Map<Offset, Long> seqAt = new HashMap<>();
        Set<Long> seqs = new HashSet<>();
        Map<Long, List<Long>> byThread = new TreeMap<>();
        Offset previous = null;
        for (Event e : events) {
            if (previous != null) assertThat(e.offset()).as("offsets increase in %s", context).isGreaterThan(previous);
            previous = e.offset();
            long seq = TestEvents.seqOf(e);
            assertThat(seqs.add(seq)).as("seq %d appears once in %s", seq, context).isTrue();
            seqAt.put(e.offset(), seq);
            byThread.computeIfAbsent(seq / SEQS_PER_THREAD, k -> new ArrayList<>()).add(seq);
        }
        for (Map.Entry<Long, Offset> ack : acknowledged.entrySet()) {
            assertThat(seqAt.get(ack.getValue())).as("acknowledged seq %d at %s in %s", ack.getKey(), ack.getValue(), context)
                    .isEqualTo(ack.getKey());
        }
        // each appending thread wrote its sequence in order: what survived is a prefix without holes
        for (Map.Entry<Long, List<Long>> t : byThread.entrySet()) {
            List<Long> s = t.getValue();
            for (int i = 1; i < s.size(); i++) {
                assertThat(s.get(i)).as("sequence of writer %d in %s", t.getKey(), context).isEqualTo(s.get(i - 1) + 1);
            }
        }
    }

    private static String readQuietly(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return e.toString();
        }
    }
}

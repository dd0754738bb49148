package io.tidings.storage;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Several threads append (single events and batches) while two readers tail the log and files roll:
 * every reader sees every acknowledged event exactly once, in offset order, and never an event past
 * the head.
 * Run in both durability modes (power-loss mode shares one msync among concurrent appends).
 */
class ConcurrencyTest {
    private static final int WRITERS = 4;
    private static final int READERS = 2;
    private static final long SEQS_PER_WRITER = 1_000_000L;

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Durability.class)
    void concurrentAppendersAndTailingReaders(Durability durability) throws Exception {
        int perWriter = durability == Durability.POWER_LOSS ? 1_000 : 5_000;
        int total = WRITERS * perWriter;
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS + READERS);
        // one file per second on a clock that moves 1 ms at every reading: files roll many times under
        // the writers and readers
        AtomicLong readings = new AtomicLong();
        LogConfig config = LogConfig.at(dir).withDurability(durability).withRoll(RollPeriod.TEST_SECONDLY)
                .withClock(() -> TestEvents.T0 + readings.incrementAndGet());
        try (EventLog log = EventLog.open(config)) {
            List<Future<List<Event>>> readers = new ArrayList<>();
            for (int r = 0; r < READERS; r++) {
                Cursor cursor = log.cursorAtStart(); // opened before any append: must see everything
                readers.add(pool.submit(() -> tail(log, cursor, total)));
            }
            Map<Offset, Long> acknowledged = new ConcurrentHashMap<>(); // offset -> seq
            List<Future<?>> writers = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                long firstSeq = w * SEQS_PER_WRITER;
                writers.add(pool.submit(() -> {
                    append(log, firstSeq, perWriter, acknowledged);
                    return null;
                }));
            }
            for (Future<?> w : writers) w.get(120, TimeUnit.SECONDS);
            assertThat(acknowledged).as("one distinct offset per acknowledged event").hasSize(total);

            List<Offset> expected = new ArrayList<>(acknowledged.keySet());
            expected.sort(null);
            assertThat(log.head()).isEqualTo(expected.get(expected.size() - 1));
            for (Future<List<Event>> reader : readers) {
                List<Event> read = reader.get(120, TimeUnit.SECONDS);
                assertThat(TestEvents.offsets(read)).as("a reader sees each acknowledged offset once, in order").isEqualTo(expected);
                Map<Long, Long> lastSeqOfWriter = new HashMap<>();
                for (Event e : read) {
                    long seq = TestEvents.seqOf(e);
                    assertThat(seq).as("event at %s is the one acknowledged there", e.offset()).isEqualTo(acknowledged.get(e.offset()));
                    Long previous = lastSeqOfWriter.put(seq / SEQS_PER_WRITER, seq);
                    if (previous != null) assertThat(seq).as("a writer's events keep its order").isEqualTo(previous + 1);
                }
            }
            assertThat(log.verify().scanned()).isEqualTo(total);
            assertThat(log.stats().files()).as("files rolled during the run").isGreaterThan(2);
            System.out.println(durability + ": " + total + " events in " + log.stats().files() + " files");
        } finally {
            pool.shutdownNow();
        }
    }

    private static void append(EventLog log, long firstSeq, int count, Map<Offset, Long> acknowledged) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long seq = firstSeq;
        long end = firstSeq + count;
        while (seq < end) {
            int n = (int) Math.min(end - seq, random.nextBoolean() ? 1 : 1 + random.nextInt(10));
            List<Appended> acks;
            if (n == 1) {
                acks = List.of(log.append(TestEvents.withSeq(seq)));
            } else {
                List<NewEvent> batch = new ArrayList<>(n);
                for (int i = 0; i < n; i++) batch.add(TestEvents.withSeq(seq + i));
                acks = log.append(batch);
            }
            Offset head = log.head();
            for (int i = 0; i < n; i++) {
                Appended a = acks.get(i);
                assertThat(a.duplicate()).isFalse();
                assertThat(a.offset()).as("acknowledged means committed: the head has passed it").isLessThanOrEqualTo(head);
                if (i > 0) assertThat(a.offset()).as("a batch is contiguous and ordered").isGreaterThan(acks.get(i - 1).offset());
                assertThat(acknowledged.put(a.offset(), seq + i)).as("offset %s handed out twice", a.offset()).isNull();
            }
            seq += n;
        }
    }

    /** Reads with the blocking tail call until {@code total} events arrived; checks each against the head. */
    private static List<Event> tail(EventLog log, Cursor cursor, int total) throws InterruptedException {
        List<Event> read = new ArrayList<>(total);
        try (cursor) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120); // a hang guard, not a performance limit
            while (read.size() < total && System.nanoTime() < deadline) {
                Event e = cursor.next(200, TimeUnit.MILLISECONDS);
                if (e == null) continue;
                assertThat(e.offset()).as("a reader never sees past the head").isLessThanOrEqualTo(log.head());
                if (!read.isEmpty()) assertThat(e.offset()).isGreaterThan(read.get(read.size() - 1).offset());
                read.add(e);
            }
            assertThat(cursor.next()).as("nothing beyond the acknowledged events").isNull();
        }
        return read;
    }
}

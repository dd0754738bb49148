package io.tidings.storage;

import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A torn tail: the newest roll file cut short at a random point inside its last records, or its
 * last record's bytes damaged. Opening for writing keeps exactly the intact prefix, reports what it
 * dropped, and starts a new epoch, so that no offset handed out before is ever answered with a
 * different event. Without the repair Chronicle gave the dropped records' indexes to new events and
 * readers never saw those events (found by the reliability suite, docs/reliability.md).
 */
class TornTailTest {
    private static final int EVENTS = 60;

    @TempDir
    Path dir;

    @RepeatedTest(6)
    void aFileCutShortKeepsTheIntactPrefixAndNeverReusesAnOffset() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        List<Offset> offsets = appendEvents();
        int firstLost = EVENTS - 1 - random.nextInt(5);
        Path file = newestFile();
        byte[] bytes = Files.readAllBytes(file);
        int endOfKept = indexOf(bytes, marker(firstLost - 1)) + json(firstLost - 1).length() + 4; // its data and CRC
        int startOfLost = indexOf(bytes, marker(firstLost));
        int cut = endOfKept + random.nextInt(startOfLost + 20 - endOfKept); // before its header, or inside the lost record
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(cut);
        }
        String context = "cut at byte " + cut + " (first lost seq " + firstLost + ", seed " + seed + ")";

        assertRepairedTo(offsets, firstLost, context);
    }

    @Test
    void damagedBytesInTheLastRecordDropOnlyThatRecord() throws Exception {
        List<Offset> offsets = appendEvents();
        Path file = newestFile();
        byte[] needle = marker(EVENTS - 1);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            int at = indexOf(Files.readAllBytes(file), needle) + 3;
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {(byte) 0x5a, (byte) 0xa5}), at);
        }
        TailRepair repair = assertRepairedTo(offsets, EVENTS - 1, "last record damaged");
        assertThat(repair.damaged()).isEqualTo(1);
        assertThat(repair.missing()).isZero();
    }

    @Test
    void aSecondTearOfARepairedFileKeepsEverythingBeforeIt() throws Exception {
        List<Offset> offsets = appendEvents();
        cutInside(EVENTS - 1);
        List<Offset> kept = new ArrayList<>(offsets.subList(0, EVENTS - 1));
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            assertThat(log.tailRepair()).isNotNull();
            for (int i = EVENTS; i < 2 * EVENTS; i++) kept.add(log.append(TestEvents.withSeq(i, pad(i))).offset());
        }
        cutInside(2 * EVENTS - 1);
        Offset lastKept = kept.get(kept.size() - 2);
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            TailRepair second = log.tailRepair();
            assertThat(second).as("the second tear is repaired").isNotNull();
            assertThat(second.keptThrough()).isEqualTo(lastKept);
            assertThat(second.damaged() + Math.max(second.missing(), 0)).isEqualTo(1);
            List<Event> all = TestEvents.readAll(log);
            assertThat(all).extracting(e -> e.offset().index()).as("every record before the second tear, at its index")
                    .containsExactlyElementsOf(kept.subList(0, kept.size() - 1).stream().map(Offset::index).toList());
            assertThat(all).extracting(TestEvents::seqOf).doesNotContain((long) EVENTS - 1, 2L * EVENTS - 1);
            assertThat(log.verify().repairs()).hasSize(2);
        }
    }

    @Test
    void aRepairInterruptedByAKillIsRedoneOnTheNextOpen() throws Exception {
        List<Offset> offsets = appendEvents();
        long oldMark = HeadMark.read(dir);
        assertThat(oldMark).isEqualTo(offsets.get(EVENTS - 1).index());
        cutInside(EVENTS - 1);
        // killed after stating the loss, before replacing the file: epoch renewed, a half-built copy in staging
        LogMeta renewedByTheKilledRepair = LogMeta.renewEpoch(dir, LogMeta.loadOrCreate(dir, LogConfig.at(dir).roll(), false));
        Files.createDirectories(dir.resolve(TailRecovery.STAGING_DIR));
        Files.write(dir.resolve(TailRecovery.STAGING_DIR).resolve("half.cq4"), new byte[] {1, 2, 3});
        String epoch;
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            TailRepair repair = log.tailRepair();
            assertThat(repair).isNotNull();
            assertThat(repair.previousEpoch()).isEqualTo(renewedByTheKilledRepair.epoch());
            assertThat(repair.keptThrough().index()).isEqualTo(offsets.get(EVENTS - 2).index());
            assertThat(Files.exists(dir.resolve(TailRecovery.STAGING_DIR))).as("staging removed").isFalse();
            epoch = log.epoch();
        }
        // killed after replacing the file, before the log moved its head mark back: the old mark is still ahead
        Files.write(dir.resolve(HeadMark.FILE), java.nio.ByteBuffer.allocate(Long.BYTES).putLong(oldMark).array());
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            TailRepair again = log.tailRepair();
            assertThat(again).as("redone: the mark says records are missing").isNotNull();
            assertThat(again.previousEpoch()).isEqualTo(epoch);
            assertThat(again.keptThrough().index()).isEqualTo(offsets.get(EVENTS - 2).index());
            assertThat(TestEvents.readAll(log)).extracting(e -> e.offset().index()).as("no kept record lost by the repeated repair")
                    .containsExactlyElementsOf(offsets.subList(0, EVENTS - 1).stream().map(Offset::index).toList());
        }
    }

    @RepeatedTest(6)
    void readOnlyVerifyOfACutFileReportsItInsteadOfCrashing() throws Exception {
        List<Offset> offsets = appendEvents();
        Random random = new Random();
        int firstLost = EVENTS - 1 - random.nextInt(3);
        int into = random.nextInt(120) - 12; // from the record's header into its data
        cutAt(firstLost, into);
        try (EventLog log = EventLog.open(LogConfig.at(dir).withReadOnly(true))) {
            VerifyReport report = log.verify();
            assertThat(report.healthy()).as("cut %d bytes into the data of seq %d", into, firstLost).isFalse();
            assertThat(String.join("\n", report.damage())).containsAnyOf("missing from the tail", "checksum mismatch");
        }
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            assertThat(log.tailRepair().keptThrough()).as("a writer then repairs it").isEqualTo(offsets.get(firstLost - 1));
        }
    }

    @Test
    void anIntactLogIsLeftAloneAndKeepsItsEpoch() {
        List<Offset> offsets = appendEvents();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            assertThat(log.tailRepair()).isNull();
            assertThat(log.epoch()).isEqualTo(offsets.get(0).epoch());
            assertThat(log.head()).isEqualTo(offsets.get(EVENTS - 1));
            assertThat(log.verify().repairs()).isEmpty();
        }
    }

    /** Opens for writing and checks the repair: kept prefix, report, new epoch, old offsets refused, appends readable. */
    private TailRepair assertRepairedTo(List<Offset> offsets, int firstLost, String context) throws Exception {
        String oldEpoch = offsets.get(0).epoch();
        TailRepair repair;
        Offset next;
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            repair = log.tailRepair();
            assertThat(repair).as("repair after %s", context).isNotNull();
            assertThat(repair.previousEpoch()).isEqualTo(oldEpoch);
            assertThat(repair.epoch()).isEqualTo(log.epoch()).isNotEqualTo(oldEpoch);
            assertThat(repair.keptThrough()).as(context).isEqualTo(offsets.get(firstLost - 1));
            assertThat(repair.damaged() + Math.max(repair.missing(), 0)).as("dropped, %s", context).isEqualTo(EVENTS - firstLost);
            assertThat(Files.exists(repair.setAside())).isTrue();

            List<Event> kept = TestEvents.readAll(log);
            assertThat(kept).extracting(e -> e.offset().index()).as(context)
                    .containsExactlyElementsOf(offsets.subList(0, firstLost).stream().map(Offset::index).toList());
            for (int i = 0; i < kept.size(); i++) assertThat(TestEvents.seqOf(kept.get(i))).isEqualTo(i);
            assertThat(log.head().index()).isEqualTo(offsets.get(firstLost - 1).index());

            for (Offset old : List.of(offsets.get(0), offsets.get(firstLost - 1), offsets.get(EVENTS - 1))) {
                assertThatThrownBy(() -> log.cursorAfter(old)).as("resuming after %s", old).isInstanceOfSatisfying(GapException.class,
                        g -> assertThat(g.gap().reason()).isEqualTo(Gap.Reason.OTHER_EPOCH));
            }
            next = log.append(TestEvents.withSeq(1000)).offset();
            assertThat(next.epoch()).isEqualTo(log.epoch());
            try (Cursor c = log.cursorAfter(new Offset(log.epoch(), offsets.get(firstLost - 1).index()))) {
                Event e = c.next();
                assertThat(e).as("the event appended after the repair is readable, %s", context).isNotNull();
                assertThat(e.offset()).isEqualTo(next);
                assertThat(TestEvents.seqOf(e)).isEqualTo(1000);
            }
            VerifyReport report = log.verify();
            assertThat(report.damage()).as(context).isEmpty();
            assertThat(report.scanned()).isEqualTo(firstLost + 1);
            assertThat(report.repairs()).hasSize(1);
            assertThat(report.repairs().get(0)).contains(oldEpoch + " -> " + log.epoch());
        }
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            assertThat(log.tailRepair()).as("a repaired log reopens without another repair").isNull();
            assertThat(log.epoch()).isEqualTo(repair.epoch());
            assertThat(log.head()).isEqualTo(next);
        }
        return repair;
    }

    /** Cuts the newest file inside the data of the record carrying {@code seq} (and drops all after it). */
    private void cutInside(int seq) throws IOException {
        cutAt(seq, 20);
    }

    /** Cuts the newest file {@code into} bytes after the start of the data of the record carrying {@code seq}. */
    private void cutAt(int seq, int into) throws IOException {
        Path file = newestFile();
        int at = indexOf(Files.readAllBytes(file), marker(seq)) + into;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(at);
        }
    }

    private List<Offset> appendEvents() {
        List<Offset> offsets = new ArrayList<>();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            for (int i = 0; i < EVENTS; i++) offsets.add(log.append(TestEvents.withSeq(i, pad(i))).offset());
        }
        return offsets;
    }

    private static String pad(int seq) {
        return "y".repeat(100 + seq);
    }

    /** The data of event {@code seq} as stored (see {@link TestEvents#withSeq(long, String)}). */
    private static String json(int seq) {
        return "{\"seq\":" + seq + ",\"x\":\"" + pad(seq) + "\"}";
    }

    private static byte[] marker(int seq) {
        return ("{\"seq\":" + seq + ",").getBytes(StandardCharsets.US_ASCII);
    }

    private Path newestFile() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".cq4")).max(Path::compareTo).orElseThrow();
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i <= haystack.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (haystack[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("marker not found");
    }
}

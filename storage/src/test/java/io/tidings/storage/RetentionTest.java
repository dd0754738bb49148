package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.tidings.storage.TestEvents.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Retention with one file per second and a clock the test moves: by age, by size, never the file
 * being written, never a file a live cursor has not read past, and an explicit gap for what is gone.
 */
class RetentionTest {
    private static final int EVENTS_PER_FILE = 3;

    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(T0);

    private LogConfig config(Retention retention) {
        return TestEvents.manualClock(dir, clock).withRoll(RollPeriod.TEST_SECONDLY).withRetention(retention);
    }

    /** Appends {@value #EVENTS_PER_FILE} events in each second from {@code firstSecond}; returns their offsets per file. */
    private List<List<Offset>> fill(EventLog log, int firstSecond, int files) {
        List<List<Offset>> out = new ArrayList<>();
        for (int s = firstSecond; s < firstSecond + files; s++) {
            List<Offset> file = new ArrayList<>();
            for (int i = 0; i < EVENTS_PER_FILE; i++) {
                clock.set(T0 + s * 1000L + i * 10L); // times s.000, s.010, s.020
                file.add(log.append(TestEvents.withSeq(s * 100L + i)).offset());
            }
            out.add(file);
        }
        return out;
    }

    private static List<Offset> flatten(List<List<Offset>> files) {
        List<Offset> out = new ArrayList<>();
        files.forEach(out::addAll);
        return out;
    }

    private List<Path> rollFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".cq4")).sorted().toList();
        }
    }

    /** The gap of a resume after {@code after}; the cursor-less {@link EventLog#check} must find the same one. */
    private static Gap gapOf(EventLog log, Offset after) {
        Gap checked = null;
        try {
            log.check(after);
        } catch (GapException e) {
            checked = e.gap();
        }
        try {
            log.cursorAfter(after).close();
        } catch (GapException e) {
            assertThat(checked).as("check(%s) finds the gap cursorAfter finds", after).isEqualTo(e.gap());
            return e.gap();
        }
        throw new AssertionError("expected a gap after " + after);
    }

    @Test
    void aTornFileSetAsideByATailRepairGoesWithItsRollFile() throws Exception {
        try (EventLog log = EventLog.open(config(new Retention(2_500, 0)))) {
            fill(log, 0, 6);
            List<Path> files = rollFiles();
            // what TailRecovery leaves beside a repaired file (TornTailTest makes real ones)
            Path oldCopy = Files.createLink(dir.resolve(files.get(1).getFileName() + "-1700000000000.damaged"), files.get(1));
            Path keptCopy = Files.createLink(dir.resolve(files.get(4).getFileName() + "-1700000000001.damaged"), files.get(4));
            clock.set(T0 + 5_500);

            assertThat(log.enforceRetention()).isEqualTo(3);
            assertThat(oldCopy).as("set aside from a file retention deleted").doesNotExist();
            assertThat(keptCopy).as("set aside from a file still kept").exists();
        }
    }

    @Test
    void maxAgeDeletesOldFilesAndReportsWhatIsGone() throws Exception {
        List<List<Offset>> files;
        try (EventLog log = EventLog.open(config(new Retention(2_500, 0)))) {
            files = fill(log, 0, 6);
            assertThat(rollFiles()).hasSize(6);
            clock.set(T0 + 5_500); // keeps files whose newest event is at or after 3.000

            assertThat(log.enforceRetention()).isEqualTo(3);
            assertThat(rollFiles()).hasSize(3);
            assertRetainedFrom(log, files, 3);
            assertThat(log.enforceRetention()).as("nothing more is too old").isZero();
        }
        try (EventLog log = EventLog.open(config(new Retention(2_500, 0)))) {
            assertRetainedFrom(log, files, 3); // the floor survives a restart
        }
    }

    /** The log holds exactly files {@code first..} of {@code files}, and offsets before them are gaps. */
    private static void assertRetainedFrom(EventLog log, List<List<Offset>> files, int first) throws GapException {
        List<Offset> retained = flatten(files.subList(first, files.size()));
        Offset firstRetained = retained.get(0);
        Offset floor = files.get(first - 1).get(EVENTS_PER_FILE - 1); // the last deleted event

        assertThat(log.firstAvailable()).isEqualTo(firstRetained);
        assertThat(log.stats().first()).isEqualTo(firstRetained);
        assertThat(log.stats().events()).isEqualTo(retained.size());
        assertThat(TestEvents.offsets(TestEvents.readAll(log))).as("cursorAtStart starts at the first retained event").isEqualTo(retained);

        // every offset before the floor is answered with a gap naming the first retained event
        for (Offset deleted : flatten(files.subList(0, first))) {
            if (deleted.equals(floor)) continue;
            Gap gap = gapOf(log, deleted);
            assertThat(gap.reason()).as("gap after %s", deleted).isEqualTo(Gap.Reason.BEFORE_RETENTION);
            assertThat(gap.firstAvailable()).isEqualTo(firstRetained);
        }
        assertThat(gapOf(log, Offset.start(log.epoch())).reason()).as("a reader from the very start lost events")
                .isEqualTo(Gap.Reason.BEFORE_RETENTION);
        // the floor itself: nothing after it was deleted, so it resumes without a gap
        for (Offset kept : retained) log.check(kept); // the probe, after the files it may have mapped went
        log.check(floor);
        try (Cursor c = log.cursorAfter(floor)) {
            assertThat(TestEvents.offsets(TestEvents.drain(c))).isEqualTo(retained);
        }
        VerifyReport report = log.verify();
        assertThat(report.healthy()).isTrue();
        assertThat(report.scanned()).isEqualTo(retained.size());
    }

    @Test
    void neverDeletesTheFileBeingWritten() throws Exception {
        try (EventLog log = EventLog.open(config(new Retention(1_000, 0)))) {
            List<List<Offset>> files = fill(log, 0, 3);
            clock.set(T0 + 3_600_000); // every event is an hour old
            assertThat(log.enforceRetention()).isEqualTo(2);
            assertThat(rollFiles()).hasSize(1);
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).isEqualTo(files.get(2));

            Offset next = log.append(TestEvents.withSeq(999)).offset(); // rolls to a new file
            assertThat(rollFiles()).hasSize(2);
            assertThat(log.enforceRetention()).isEqualTo(1);
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).containsExactly(next);
            assertThat(gapOf(log, files.get(2).get(0)).reason()).isEqualTo(Gap.Reason.BEFORE_RETENTION);
            try (Cursor c = log.cursorAfter(files.get(2).get(2))) {
                assertThat(c.next().offset()).isEqualTo(next);
            }
        }
    }

    @Test
    void maxBytesDeletesOldestFilesUntilUnderTheLimit() throws Exception {
        List<List<Offset>> files;
        try (EventLog log = EventLog.open(config(Retention.FOREVER))) {
            files = fill(log, 0, 5);
            assertThat(log.enforceRetention()).isZero();
        }
        List<Path> before = rollFiles();
        assertThat(before).hasSize(5);
        long fileBytes = Files.size(before.get(0));
        for (Path p : before) assertThat(Files.size(p)).as("roll files have one size (apparent size of a sparse file)").isEqualTo(fileBytes);

        // room for two and a half files: the three oldest go, whatever their age
        try (EventLog log = EventLog.open(config(new Retention(0, 2 * fileBytes + fileBytes / 2)))) {
            assertThat(log.enforceRetention()).isEqualTo(3);
            assertThat(rollFiles()).isEqualTo(before.subList(3, 5));
            assertRetainedFrom(log, files, 3);
            assertThat(log.stats().bytes()).isEqualTo(2 * fileBytes);
        }
        // a limit below one file still keeps the file being written
        try (EventLog log = EventLog.open(config(new Retention(0, 1)))) {
            assertThat(log.enforceRetention()).isEqualTo(1);
            assertThat(rollFiles()).isEqualTo(before.subList(4, 5));
            assertRetainedFrom(log, files, 4);
        }
    }

    @Test
    void aCursorLeftBehindPinsItsFilesUntilItAdvancesOrCloses() throws Exception {
        try (EventLog log = EventLog.open(config(new Retention(1_000, 0)))) {
            List<List<Offset>> files = fill(log, 0, 5);
            List<Offset> all = flatten(files);
            Cursor behind = log.cursorAtStart();
            assertThat(behind.next().offset()).isEqualTo(all.get(0));
            clock.set(T0 + 3_600_000); // everything but the current file is too old

            assertThat(log.enforceRetention()).as("the reader is still in the first file").isZero();
            assertThat(rollFiles()).hasSize(5);
            assertThat(behind.next().offset()).isEqualTo(all.get(1));
            assertThat(behind.next().offset()).isEqualTo(all.get(2)); // last event of the first file
            assertThat(log.enforceRetention()).as("a reader at the end of a file still pins it").isZero();

            assertThat(behind.next().offset()).isEqualTo(files.get(1).get(0)); // into the second file
            assertThat(log.enforceRetention()).isEqualTo(1);
            assertThat(rollFiles()).hasSize(4);
            assertThat(log.firstAvailable()).isEqualTo(files.get(1).get(0));

            // a cursor opened after the deletion, in the second file, pins it too
            Cursor resumed = log.cursorAfter(files.get(1).get(1));
            assertThat(resumed.next().offset()).isEqualTo(files.get(1).get(2));

            // the reader left behind reads on without a gap
            List<Offset> rest = new ArrayList<>();
            rest.add(files.get(1).get(0));
            rest.addAll(TestEvents.offsets(TestEvents.drain(behind)));
            assertThat(rest).isEqualTo(flatten(files.subList(1, 5)));
            assertThat(log.enforceRetention()).as("the resumed cursor still pins the second file").isZero();

            resumed.close();
            assertThat(log.enforceRetention()).as("the first reader has moved on to the current file").isEqualTo(3);
            assertThat(rollFiles()).hasSize(1);
            behind.close();
            assertThat(TestEvents.offsets(TestEvents.readAll(log))).isEqualTo(files.get(4));
        }
    }

    @Test
    void closingTheCursorLeftBehindReleasesItsFiles() throws Exception {
        try (EventLog log = EventLog.open(config(new Retention(1_000, 0)))) {
            List<List<Offset>> files = fill(log, 0, 4);
            Cursor behind = log.cursorAtStart();
            clock.set(T0 + 3_600_000);
            assertThat(log.enforceRetention()).isZero();
            behind.close();
            assertThat(log.enforceRetention()).isEqualTo(3);
            assertThat(log.firstAvailable()).isEqualTo(files.get(3).get(0));
            assertThatThrownBy(behind::next).isInstanceOf(IllegalStateException.class);
        }
    }
}

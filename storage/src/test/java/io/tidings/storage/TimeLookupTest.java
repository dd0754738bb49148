package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.tidings.storage.TestEvents.T0;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code cursorAtTime(t)} starts at the first event whose append time is at or after {@code t}. */
class TimeLookupTest {
    @TempDir
    Path dir;

    private final AtomicLong clock = new AtomicLong(T0);
    private final List<Event> events = new ArrayList<>();

    private void appendAt(EventLog log, long time) {
        clock.set(time);
        Appended a = log.append(TestEvents.withSeq(events.size()));
        assertThat(a.timeMillis()).isEqualTo(time);
        events.add(new Event(a.offset(), a.timeMillis(), List.of(), "", new byte[0], null));
    }

    /** The offsets a cursor at {@code time} must return: every event from the first with time >= {@code time}. */
    private List<Offset> expectedFrom(long time) {
        List<Offset> out = new ArrayList<>();
        for (Event e : events) if (e.timeMillis() >= time) out.add(e.offset());
        return out;
    }

    private static List<Offset> readFrom(EventLog log, long time) {
        try (Cursor c = log.cursorAtTime(time)) {
            return TestEvents.offsets(TestEvents.drain(c));
        }
    }

    @Test
    void findsTheFirstEventAtOrAfterATimeAcrossFiles() throws Exception {
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock).withRoll(RollPeriod.TEST_SECONDLY))) {
            appendAt(log, T0);            // file of second 0
            appendAt(log, T0 + 10);
            appendAt(log, T0 + 10);       // same millisecond: the lookup must return the first of the two
            appendAt(log, T0 + 20);
            appendAt(log, T0 + 2_000);    // second 1 has no file
            appendAt(log, T0 + 2_500);
            appendAt(log, T0 + 3_000);
            for (int i = 0; i < 500; i++) appendAt(log, T0 + 5_000 + i / 3); // a bigger file for the binary search

            TreeSet<Long> probes = new TreeSet<>(List.of(T0 - 3_600_000, T0 + 1_500, T0 + 4_000, Long.MIN_VALUE, 0L));
            for (Event e : events) {
                probes.add(e.timeMillis() - 1);
                probes.add(e.timeMillis());
                probes.add(e.timeMillis() + 1);
            }
            Random random = new Random(42);
            for (int i = 0; i < 50; i++) probes.add(T0 - 100 + random.nextInt(5_400));
            for (long t : probes) {
                assertThat(readFrom(log, t)).as("events at or after %d", t).isEqualTo(expectedFrom(t));
            }
            assertThat(readFrom(log, T0 + 10)).first().isEqualTo(events.get(1).offset());
            assertThat(readFrom(log, T0 - 1)).first().as("before the first event: from the start").isEqualTo(events.get(0).offset());
            assertThat(readFrom(log, T0 + 1_500)).first().as("in a second without a file").isEqualTo(events.get(4).offset());

            // after the last event: nothing yet, then whatever is appended next
            long last = events.get(events.size() - 1).timeMillis();
            try (Cursor c = log.cursorAtTime(last + 1)) {
                assertThat(c.next()).isNull();
                appendAt(log, T0 + 9_000);
                assertThat(c.next(5, TimeUnit.SECONDS).offset()).isEqualTo(events.get(events.size() - 1).offset());
            }
        }
    }

    @Test
    void anEmptyLogAnswersWithACursorThatSeesNewEvents() throws Exception {
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock));
             Cursor c = log.cursorAtTime(T0)) {
            assertThat(c.next()).isNull();
            appendAt(log, T0 + 5);
            assertThat(c.next(5, TimeUnit.SECONDS).offset()).isEqualTo(events.get(0).offset());
        }
    }
}

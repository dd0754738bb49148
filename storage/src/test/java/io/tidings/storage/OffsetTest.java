package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static io.tidings.storage.TestEvents.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Offset tokens: round trips, rejection of malformed ones, and gaps for foreign or forged offsets. */
class OffsetTest {
    private static final long HOUR = 3_600_000L;

    @TempDir
    Path dir;

    @Test
    void tokensRoundTrip() {
        List<Offset> offsets = new ArrayList<>();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            offsets.add(log.head()); // the start position
            for (int i = 0; i < 5; i++) offsets.add(log.append(TestEvents.withSeq(i)).offset());
            String epoch = log.epoch();
            assertThat(Epochs.isWellFormed(epoch)).isTrue();
            offsets.add(new Offset(epoch, Long.MAX_VALUE));
            offsets.add(new Offset("0123456789az", 1));
        }
        for (Offset o : offsets) {
            String token = o.toString();
            assertThat(token).matches("[0-9a-z]{12}-[0-9]+");
            assertThat(Offset.parse(token)).isEqualTo(o);
            assertThat(Offset.parse(token).toString()).isEqualTo(token);
        }
        assertThat(Offset.start("0123456789az").isStart()).isTrue();
    }

    @Test
    void malformedTokensAreRejected() {
        String epoch = "k3f9a2c1q0ab";
        List<String> malformed = Arrays.asList(
                null, "",                               // empty
                epoch, "12345",                         // no dash
                "-5", epoch + "-",                      // nothing before / after the dash
                "K3F9A2C1Q0AB-5", "k3f9a2c1q0a-5",      // bad epoch: upper case, too short
                "k3f9a2c1q0abc-5", "k3f9a2c1q0a_-5",    // too long, bad character
                epoch + "-12x", epoch + "-1.5", epoch + "- 1", epoch + "-0x10", // bad number
                epoch + "-99999999999999999999",        // beyond a long
                epoch + "--5",                          // negative
                epoch + "-" + "1".repeat(60));          // too long
        for (String token : malformed) {
            assertThatThrownBy(() -> Offset.parse(token)).as("token %s", token).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> new Offset(epoch, -1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new Offset(epoch, 1).compareTo(new Offset("zzzzzzzzzzzz", 1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void foreignAndForgedOffsetsAreGaps() throws Exception {
        AtomicLong clock = new AtomicLong(T0);
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock))) {
            String epoch = log.epoch();
            List<Offset> hour0 = new ArrayList<>();
            for (int i = 0; i < 3; i++) hour0.add(log.append(TestEvents.withSeq(i)).offset());
            clock.set(T0 + 2 * HOUR); // hour 1 gets no file
            List<Offset> hour2 = new ArrayList<>();
            for (int i = 0; i < 3; i++) hour2.add(log.append(TestEvents.withSeq(10 + i)).offset());
            Offset first = hour0.get(0);
            Offset head = hour2.get(2);
            assertThat(log.head()).isEqualTo(head);

            String otherEpoch = epoch.equals("zzzzzzzzzzzz") ? "yyyyyyyyyyyy" : "zzzzzzzzzzzz";
            assertGap(log, Offset.parse(otherEpoch + "-" + first.index()), Gap.Reason.OTHER_EPOCH, first);
            assertGap(log, Offset.start(otherEpoch), Gap.Reason.OTHER_EPOCH, first);

            assertGap(log, new Offset(epoch, head.index() + 1), Gap.Reason.AHEAD_OF_HEAD, first);
            assertGap(log, new Offset(epoch, Long.MAX_VALUE), Gap.Reason.AHEAD_OF_HEAD, first);

            RollPeriod roll = RollPeriod.HOURLY;
            int cycle0 = roll.cycle.toCycle(first.index());
            assertGap(log, new Offset(epoch, first.index() + 100), Gap.Reason.UNKNOWN_OFFSET, first);     // past the end of hour 0
            assertGap(log, new Offset(epoch, roll.cycle.toIndex(cycle0 + 1, 0)), Gap.Reason.UNKNOWN_OFFSET, first); // hour without file
            assertGap(log, new Offset(epoch, 1), Gap.Reason.UNKNOWN_OFFSET, first);                        // before any file

            // the real offsets, the start and the head resume normally
            List<Offset> all = new ArrayList<>(hour0);
            all.addAll(hour2);
            try (Cursor c = log.cursorAfter(Offset.start(epoch))) {
                assertThat(TestEvents.offsets(TestEvents.drain(c))).isEqualTo(all);
            }
            log.check(Offset.start(epoch));
            for (int i = 0; i < all.size(); i++) {
                log.check(all.get(i)); // the probe moves back and forth across the files
                try (Cursor c = log.cursorAfter(Offset.parse(all.get(i).toString()))) {
                    assertThat(TestEvents.offsets(TestEvents.drain(c))).isEqualTo(all.subList(i + 1, all.size()));
                }
            }
        }
    }

    /** Both the cursor and the cursor-less check refuse {@code after} with the same gap. */
    private static void assertGap(EventLog log, Offset after, Gap.Reason reason, Offset firstAvailable) {
        assertThatThrownBy(() -> log.cursorAfter(after)).as("resume after %s", after)
                .isInstanceOfSatisfying(GapException.class, e -> {
                    assertThat(e.gap().reason()).isEqualTo(reason);
                    assertThat(e.gap().firstAvailable()).isEqualTo(firstAvailable);
                    assertThat(e.getMessage()).contains(reason.name());
                });
        assertThatThrownBy(() -> log.check(after)).as("check after %s", after)
                .isInstanceOfSatisfying(GapException.class, e -> {
                    assertThat(e.gap().reason()).isEqualTo(reason);
                    assertThat(e.gap().firstAvailable()).isEqualTo(firstAvailable);
                });
    }
}

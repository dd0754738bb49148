package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EventLogTest {
    @TempDir
    Path dir;

    private static NewEvent event(String room, int i) {
        return new NewEvent(List.of(room), "newIssues", ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), null);
    }

    @Test
    void appendsAreReadBackInOrderAndSurviveReopen() throws Exception {
        List<Offset> offsets = new ArrayList<>();
        String epoch;
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            epoch = log.epoch();
            assertThat(log.head()).isEqualTo(Offset.start(epoch));
            for (int i = 0; i < 10; i++) offsets.add(log.append(event("teamspaceA/m1", i)).offset());
            for (Appended a : log.append(List.of(event("a", 10), event("b", 11)))) offsets.add(a.offset());
            assertThat(log.head()).isEqualTo(offsets.get(offsets.size() - 1));
        }
        try (EventLog log = EventLog.open(LogConfig.at(dir)); Cursor c = log.cursorAtStart()) {
            assertThat(log.epoch()).isEqualTo(epoch);
            List<Offset> read = new ArrayList<>();
            for (Event e = c.next(); e != null; e = c.next()) {
                assertThat(new String(e.data(), StandardCharsets.UTF_8)).isEqualTo("{\"n\":" + read.size() + "}");
                read.add(e.offset());
            }
            assertThat(read).isEqualTo(offsets);
            assertThat(log.countBetween(Offset.start(epoch), log.head())).isEqualTo(offsets.size());
            assertThat(log.countBetween(offsets.get(4), offsets.get(9))).isEqualTo(5);
            assertThat(log.countBetween(offsets.get(9), offsets.get(4))).isZero();
            try (Cursor after = log.cursorAfter(offsets.get(4))) {
                assertThat(after.next().offset()).isEqualTo(offsets.get(5));
            }
            try (Cursor atEnd = log.cursorAtEnd()) {
                assertThat(atEnd.next()).isNull();
                Offset o = log.append(event("x", 99)).offset();
                assertThat(atEnd.next(1, TimeUnit.SECONDS).offset()).isEqualTo(o);
            }
        }
    }

    @Test
    void producerIdIsDeduplicated() {
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            NewEvent e = new NewEvent(List.of("r"), "t", "{}".getBytes(), "id-1");
            Appended first = log.append(e);
            Appended again = log.append(e);
            assertThat(again.duplicate()).isTrue();
            assertThat(again.offset()).isEqualTo(first.offset());
            assertThat(log.stats().events()).isEqualTo(1);
        }
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            Appended afterRestart = log.append(new NewEvent(List.of("r"), "t", "{}".getBytes(), "id-1"));
            assertThat(afterRestart.duplicate()).isTrue();
        }
    }

    @Test
    void foreignAndFutureOffsetsAreGaps() {
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            Offset o = log.append(event("r", 1)).offset();
            assertThatThrownBy(() -> log.cursorAfter(new Offset("zzzzzzzzzzzz", o.index())))
                    .isInstanceOfSatisfying(GapException.class, g -> assertThat(g.gap().reason()).isEqualTo(Gap.Reason.OTHER_EPOCH));
            assertThatThrownBy(() -> log.cursorAfter(new Offset(log.epoch(), o.index() + 5)))
                    .isInstanceOfSatisfying(GapException.class, g -> assertThat(g.gap().reason()).isEqualTo(Gap.Reason.AHEAD_OF_HEAD));
        }
    }

    @Test
    void retentionOnALogThatWasNeverWrittenToDeletesNothing() {
        try (EventLog log = EventLog.open(LogConfig.at(dir).withRetention(new Retention(1, 1)))) {
            assertThat(log.enforceRetention()).isZero(); // used to throw: Chronicle has no cycle to list
            assertThat(log.stats().events()).isZero();
        }
    }
}

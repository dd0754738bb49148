package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import static io.tidings.storage.TestEvents.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code verify()}: the extent of a healthy log, and damage on disk found and named by index. */
class VerifyTest {
    @TempDir
    Path dir;

    @Test
    void aHealthyLogReportsItsExtent() {
        AtomicLong clock = new AtomicLong(T0);
        try (EventLog log = EventLog.open(TestEvents.manualClock(dir, clock).withRoll(RollPeriod.TEST_SECONDLY))) {
            VerifyReport empty = log.verify();
            assertThat(empty.healthy()).isTrue();
            assertThat(empty.scanned()).isZero();
            assertThat(empty.stats().first()).isNull();
            assertThat(empty.stats().head()).isEqualTo(Offset.start(log.epoch()));
            assertThat(empty.stats().events()).isZero();

            List<Offset> offsets = new ArrayList<>();
            for (int s = 0; s < 3; s++) {
                clock.set(T0 + s * 1_000L);
                offsets.add(log.append(TestEvents.withSeq(s * 10L)).offset());
                clock.addAndGet(7);
                offsets.addAll(log.append(List.of(TestEvents.withSeq(s * 10L + 1), TestEvents.withSeq(s * 10L + 2))).stream()
                        .map(Appended::offset).toList());
            }
            VerifyReport report = log.verify();
            assertThat(report.healthy()).isTrue();
            assertThat(report.damage()).isEmpty();
            assertThat(report.scanned()).isEqualTo(9);
            LogStats stats = report.stats();
            assertThat(stats.epoch()).isEqualTo(log.epoch());
            assertThat(stats.events()).isEqualTo(9);
            assertThat(stats.first()).isEqualTo(offsets.get(0));
            assertThat(stats.head()).isEqualTo(offsets.get(8));
            assertThat(stats.firstTimeMillis()).isEqualTo(T0);
            assertThat(stats.headTimeMillis()).isEqualTo(T0 + 2_007);
            assertThat(stats.files()).isEqualTo(3);
            assertThat(stats.bytes()).isPositive();
        }
    }

    @Test
    void bytesDamagedOnDiskAreReportedByIndexAndRefusedByCursors() throws Exception {
        String marker = "CORRUPT-ME-" + UUID.randomUUID();
        List<Offset> offsets = new ArrayList<>();
        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            for (int i = 0; i < 10; i++) offsets.add(log.append(TestEvents.withSeq(i, i == 5 ? marker : "")).offset());
            assertThat(log.verify().healthy()).isTrue();
        }
        flipByteOf(marker);
        Offset damaged = offsets.get(5);

        try (EventLog log = EventLog.open(LogConfig.at(dir))) {
            VerifyReport report = log.verify();
            assertThat(report.healthy()).isFalse();
            assertThat(report.scanned()).isEqualTo(10);
            assertThat(report.damage()).hasSize(1);
            assertThat(report.damage().get(0)).contains("index " + damaged.index()).contains("checksum");

            try (Cursor c = log.cursorAtStart()) {
                for (int i = 0; i < 5; i++) assertThat(c.next().offset()).isEqualTo(offsets.get(i));
                assertThatThrownBy(c::next).isInstanceOfSatisfying(CorruptRecordException.class,
                        e -> assertThat(e.index()).isEqualTo(damaged.index()));
                // the exception was the notice; the cursor has moved past the damaged record
                assertThat(c.position()).isEqualTo(damaged);
                assertThat(c.next().offset()).isEqualTo(offsets.get(6));
            }
            try (Cursor c = log.cursorAfter(offsets.get(4))) {
                assertThatThrownBy(c::next).isInstanceOf(CorruptRecordException.class);
            }
            try (Cursor c = log.cursorAfter(damaged)) {
                assertThat(TestEvents.offsets(TestEvents.drain(c))).as("the events after it are intact").isEqualTo(offsets.subList(6, 10));
            }
        }
    }

    /** Finds {@code marker} (exactly once) in the log's roll files and changes one of its bytes. */
    private void flipByteOf(String marker) throws IOException {
        byte[] needle = marker.getBytes(StandardCharsets.US_ASCII);
        int found = 0;
        try (Stream<Path> files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".cq4"))::iterator) {
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_WRITE, 0, ch.size());
                    for (int at = indexOf(map, needle, 0); at >= 0; at = indexOf(map, needle, at + 1)) {
                        map.put(at + needle.length - 1, (byte) (map.get(at + needle.length - 1) ^ 0x01));
                        found++;
                    }
                    map.force();
                }
            }
        }
        assertThat(found).as("occurrences of the marker on disk").isEqualTo(1);
    }

    private static int indexOf(MappedByteBuffer map, byte[] needle, int from) {
        outer:
        for (int i = from; i <= map.limit() - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) if (map.get(i + j) != needle[j]) continue outer;
            return i;
        }
        return -1;
    }
}

package io.tidings.storage;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A read-only instance (the offline tools) on a directory another instance is writing. */
class ReadOnlyTest {
    @TempDir
    Path dir;

    @Test
    void readsWhatTheWriterCommitsWhileItIsOpen() throws Exception {
        try (EventLog writer = EventLog.open(LogConfig.at(dir))) {
            List<Offset> written = new ArrayList<>();
            for (int i = 0; i < 5; i++) written.add(writer.append(TestEvents.withSeq(i)).offset());

            try (EventLog reader = EventLog.open(LogConfig.at(dir).withReadOnly(true))) {
                assertThat(reader.epoch()).isEqualTo(writer.epoch());
                assertThat(reader.head()).isEqualTo(writer.head());
                assertThat(reader.isWritable()).isFalse();
                assertThatThrownBy(() -> reader.append(TestEvents.withSeq(99))).isInstanceOf(LogUnavailableException.class);
                assertThat(reader.enforceRetention()).isZero();

                try (Cursor c = reader.cursorAtStart()) {
                    assertThat(TestEvents.offsets(TestEvents.drain(c))).isEqualTo(written);
                    written.addAll(writer.append(List.of(TestEvents.withSeq(5), TestEvents.withSeq(6))).stream()
                            .map(Appended::offset).toList());
                    written.add(writer.append(TestEvents.withSeq(7)).offset());
                    List<Offset> more = new ArrayList<>();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); // hang guard
                    while (more.size() < 3 && System.nanoTime() < deadline) {
                        Event e = c.next(100, TimeUnit.MILLISECONDS);
                        if (e != null) more.add(e.offset());
                    }
                    assertThat(more).isEqualTo(written.subList(5, 8));
                }
                try (Cursor c = reader.cursorAfter(written.get(3))) {
                    assertThat(TestEvents.offsets(TestEvents.drain(c))).isEqualTo(written.subList(4, 8));
                }
                VerifyReport report = reader.verify();
                assertThat(report.healthy()).isTrue();
                assertThat(report.scanned()).isEqualTo(8);
                assertThat(report.stats().head()).isEqualTo(written.get(7));
            }
            // the writer is undisturbed by the reader closing
            Offset after = writer.append(TestEvents.withSeq(8)).offset();
            assertThat(TestEvents.offsets(TestEvents.readAll(writer))).hasSize(9).endsWith(after);
        }
    }

    @Test
    void aDirectoryWithoutALogIsRefused() {
        assertThatThrownBy(() -> EventLog.open(LogConfig.at(dir).withReadOnly(true)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no Tidings log");
    }
}

package io.tidings.server.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class ProgressTest {
    @Test
    void oneLineUpdatedInPlaceAtMostFiveTimesASecondAndErasedAtTheEnd() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        AtomicLong now = new AtomicLong(0);
        String last = "verify: 2,000,000 / 2,000,000 events (100%)  32,787 events/s  1:01";
        try (Progress p = new Progress("verify", 2_000_000, new PrintStream(bytes, true, StandardCharsets.UTF_8), now::get)) {
            now.set(100_000_000L);           // 0.1 s: too early to draw
            p.update(50_000);
            assertThat(bytes.size()).isZero();
            now.set(1_000_000_000L);         // 1 s
            p.update(500_000);
            assertThat(bytes.toString(StandardCharsets.UTF_8))
                    .isEqualTo("\rverify: 500,000 / 2,000,000 events (25%)  500,000 events/s  0:01");
            now.set(61_000_000_000L);        // 61 s
            p.update(2_000_000);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("\r" + last);
        assertThat(out).doesNotContain("\n");
        assertThat(out).endsWith("\r" + " ".repeat(last.length()) + "\r");
    }

    @Test
    void withoutATerminalNothingIsPrinted() {
        try (Progress p = new Progress("dump", 0, null, System::nanoTime)) {
            p.update(1); // no stream: a no-op
        }
        assertThat(new Progress("dump", 0, null, () -> 0).line(10, 2_000_000_000L)).isEqualTo("dump: 10 events  5 events/s  0:02");
    }
}

package io.tidings.server;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The frame's time field must stay byte for byte what {@link Instant#toString()} printed before. */
class IsoTimeTest {
    private static String iso(long millis) {
        return IsoTime.append(new StringBuilder(), millis).toString();
    }

    @Test
    void printsExactlyWhatInstantPrints() {
        long[] edges = {0, 1, 9, 10, 99, 100, 999, 1000, 1001, -1, -999, -1000, -1001, 1_795_000_000_000L,
                1_795_000_000_010L, 1_795_000_000_100L, 253_402_300_799_999L};
        for (long m : edges) assertThat(iso(m)).as("%d", m).isEqualTo(Instant.ofEpochMilli(m).toString());
        SplittableRandom random = new SplittableRandom(42);
        long t = 1_795_000_000_000L;
        for (int i = 0; i < 200_000; i++) {
            t += random.nextInt(3) == 0 ? random.nextLong(5_000) : random.nextInt(3); // mostly the same second, sometimes jumps
            long m = random.nextInt(50) == 0 ? random.nextLong(-100_000_000_000L, 4_000_000_000_000L) : t;
            assertThat(iso(m)).isEqualTo(Instant.ofEpochMilli(m).toString());
        }
    }
}

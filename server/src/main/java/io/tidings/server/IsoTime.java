package io.tidings.server;

import java.time.Instant;

/**
 * The {@code time} field of event frames: an epoch millisecond as {@link Instant#toString()} prints
 * it ({@code 2026-11-23T15:18:23.042Z}, no fraction when the millisecond is 0), without formatting a
 * date per frame. The date-and-seconds part is formatted once per second and kept; events arrive
 * in time order, so nearly every frame reuses it (a catch-up of a million events formats a few
 * hundred seconds instead of a million instants).
 *
 * <p>Thread safety: any thread; the cached second is one immutable object behind a volatile field,
 * so racing threads at worst both format the same second.
 */
public final class IsoTime {
    private record Second(long epochSecond, String text) {}

    private static volatile Second last = new Second(Long.MIN_VALUE, "");

    private IsoTime() {}

    /** Appends {@code epochMillis} as ISO-8601 UTC, exactly as {@code Instant.ofEpochMilli(epochMillis).toString()}. */
    public static StringBuilder append(StringBuilder b, long epochMillis) {
        long second = Math.floorDiv(epochMillis, 1000);
        int millis = (int) Math.floorMod(epochMillis, 1000);
        Second s = last;
        if (s.epochSecond != second) {
            String full = Instant.ofEpochSecond(second).toString(); // "…:SSZ"
            s = new Second(second, full.substring(0, full.length() - 1));
            last = s;
        }
        b.append(s.text);
        if (millis != 0) {
            b.append('.');
            if (millis < 100) b.append('0');
            if (millis < 10) b.append('0');
            b.append(millis);
        }
        return b.append('Z');
    }
}

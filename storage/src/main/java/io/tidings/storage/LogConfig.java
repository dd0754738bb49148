package io.tidings.storage;

import java.nio.file.Path;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Settings of one {@link EventLog}. Immutable; change a copy with the {@code with…} methods.
 *
 * @param dir                 the log's directory (created if missing)
 * @param durability          when an append counts as committed
 * @param roll                time covered by one file; used when the log is created, a reopened log
 *                            keeps the period it was created with
 * @param retention           how long events are kept
 * @param clock               wall clock in ms (injectable for tests)
 * @param dedupeWindowMillis  how long a producer id is remembered for idempotent retries
 * @param dedupeMaxIds        most producer ids remembered at once (bounds memory)
 * @param minFreeBytes        appends fail with {@link LogUnavailableException} once the disk has less free space
 * @param readOnly            open for reading only (offline tools; works while a server writes)
 */
public record LogConfig(Path dir, Durability durability, RollPeriod roll, Retention retention, LongSupplier clock,
                        long dedupeWindowMillis, int dedupeMaxIds, long minFreeBytes, boolean readOnly) {

    public static final long DEFAULT_DEDUPE_WINDOW_MILLIS = 5 * 60_000L;
    public static final int DEFAULT_DEDUPE_MAX_IDS = 100_000;
    public static final long DEFAULT_MIN_FREE_BYTES = 64L << 20;

    public LogConfig {
        Objects.requireNonNull(dir, "dir");
        Objects.requireNonNull(durability, "durability");
        Objects.requireNonNull(roll, "roll");
        Objects.requireNonNull(retention, "retention");
        Objects.requireNonNull(clock, "clock");
        if (dedupeWindowMillis < 0 || dedupeMaxIds < 0 || minFreeBytes < 0) {
            throw new IllegalArgumentException("log limits must be >= 0");
        }
    }

    /** Defaults: process-crash durability, hourly files, keep forever, 5 min dedupe window. */
    public static LogConfig at(Path dir) {
        return new LogConfig(dir, Durability.PROCESS_CRASH, RollPeriod.HOURLY, Retention.FOREVER,
                System::currentTimeMillis, DEFAULT_DEDUPE_WINDOW_MILLIS, DEFAULT_DEDUPE_MAX_IDS,
                DEFAULT_MIN_FREE_BYTES, false);
    }

    public LogConfig withDurability(Durability v) {
        return new LogConfig(dir, v, roll, retention, clock, dedupeWindowMillis, dedupeMaxIds, minFreeBytes, readOnly);
    }

    public LogConfig withRoll(RollPeriod v) {
        return new LogConfig(dir, durability, v, retention, clock, dedupeWindowMillis, dedupeMaxIds, minFreeBytes, readOnly);
    }

    public LogConfig withRetention(Retention v) {
        return new LogConfig(dir, durability, roll, v, clock, dedupeWindowMillis, dedupeMaxIds, minFreeBytes, readOnly);
    }

    public LogConfig withClock(LongSupplier v) {
        return new LogConfig(dir, durability, roll, retention, v, dedupeWindowMillis, dedupeMaxIds, minFreeBytes, readOnly);
    }

    public LogConfig withDedupe(long windowMillis, int maxIds) {
        return new LogConfig(dir, durability, roll, retention, clock, windowMillis, maxIds, minFreeBytes, readOnly);
    }

    public LogConfig withMinFreeBytes(long v) {
        return new LogConfig(dir, durability, roll, retention, clock, dedupeWindowMillis, dedupeMaxIds, v, readOnly);
    }

    public LogConfig withReadOnly(boolean v) {
        return new LogConfig(dir, durability, roll, retention, clock, dedupeWindowMillis, dedupeMaxIds, minFreeBytes, v);
    }
}

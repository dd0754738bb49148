package io.tidings.storage;

import java.util.List;

/**
 * One committed event as read back from the log.
 *
 * @param offset     where it sits in the log (carries the epoch)
 * @param timeMillis append time assigned by the log (ms since the Unix epoch; never decreases)
 * @param rooms      the rooms it targets, at least one; it is stored once whatever their number
 * @param type       the application's event type, e.g. {@code newIssues} or {@code update#tasks}
 * @param data       the producer's JSON bytes, exactly as given (never re-serialised); do not modify
 * @param producerId the producer's idempotency key, or {@code null}
 */
public record Event(Offset offset, long timeMillis, List<String> rooms, String type, byte[] data, String producerId) {
}

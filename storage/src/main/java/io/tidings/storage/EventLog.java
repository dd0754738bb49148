package io.tidings.storage;

import java.util.List;

/**
 * The durable, append-only log of events: the heart of Tidings. Knows nothing of HTTP or
 * WebSockets. The on-disk format, commit point and recovery rule are stated in
 * {@link ChronicleEventLog} and docs/storage.md.
 *
 * <p>Thread-safety: all methods may be called from any thread. Appends are serialised internally;
 * each {@link Cursor} belongs to one thread at a time.
 */
public interface EventLog extends AutoCloseable {

    /**
     * Opens (or creates) the log in {@code config.dir()}. One writing instance per directory at a
     * time, in this or another process; read-only instances may be opened beside it.
     *
     * @throws IllegalStateException if the directory is open for writing elsewhere, holds log files
     *                               without Tidings' properties file, or has another format
     */
    static EventLog open(LogConfig config) {
        return ChronicleEventLog.open(config);
    }

    /** The random id of this log, made when it was created. */
    String epoch();

    /**
     * Appends one event and returns once it is committed (see {@link Durability}).
     *
     * @throws LogUnavailableException if the log cannot commit (disk full, closed, read-only, I/O error)
     */
    default Appended append(NewEvent event) {
        return append(List.of(event)).get(0);
    }

    /**
     * Appends events in order, contiguously, and returns once all are committed. The batch is
     * checked whole (sizes, free space) before anything is written.
     */
    List<Appended> append(List<NewEvent> events);

    /**
     * {@link #append(List)} as a future: it completes when {@code append} would have returned, or
     * fails with what it would have thrown ({@link LogUnavailableException}, IllegalArgumentException).
     * The default appends on the calling thread and returns a completed future. An engine whose
     * commit is a network round trip (Kafka) returns before it, so a caller does not hold a thread
     * for it; such an engine may block the caller while too many appends are in flight.
     */
    default java.util.concurrent.CompletableFuture<List<Appended>> appendAsync(List<NewEvent> events) {
        try {
            return java.util.concurrent.CompletableFuture.completedFuture(append(events));
        } catch (RuntimeException e) {
            return java.util.concurrent.CompletableFuture.failedFuture(e);
        }
    }

    /** Offset of the last committed event, or {@link Offset#start} when nothing was ever appended. */
    Offset head();

    /** Offset of the first retained event, or {@link #head()} when the log holds none. */
    Offset firstAvailable();

    /**
     * Number of retained events after {@code from} up to and including {@code to} (offsets are not
     * dense, so lag is counted, not subtracted). 0 if {@code from} is not before {@code to}.
     */
    long countBetween(Offset from, Offset to);

    /** A cursor before the first retained event. */
    Cursor cursorAtStart();

    /** A cursor at the head: it returns only events committed from now on. */
    Cursor cursorAtEnd();

    /**
     * A cursor positioned just after {@code after} (exclusive): its first event is the one that
     * followed {@code after}. Fails rather than silently skipping anything.
     *
     * @throws GapException if the events after {@code after} are not all still in this log
     */
    Cursor cursorAfter(Offset after) throws GapException;

    /**
     * Checks what {@link #cursorAfter} would: that every event after {@code after} is still in this
     * log, without opening a cursor (a join checks its resume offset on the connection's thread,
     * where a reader's set-up costs too much; its catch-up opens the cursor on a worker).
     *
     * @throws GapException if the events after {@code after} are not all still in this log
     */
    default void check(Offset after) throws GapException {
        cursorAfter(after).close();
    }

    /** A cursor before the first event appended at or after {@code timeMillis}. */
    Cursor cursorAtTime(long timeMillis);

    /** Applies the retention policy now; returns the number of files deleted. */
    int enforceRetention();

    /** Extent of the log: cheap, no scan. */
    LogStats stats();

    /** Reads every record and reports count, extent and any damage. */
    default VerifyReport verify() {
        return verify(scanned -> {});
    }

    /**
     * {@link #verify()}, telling {@code progress} the number of records scanned so far every few
     * thousand records (on the calling thread; for a progress display).
     */
    VerifyReport verify(java.util.function.LongConsumer progress);

    /**
     * What this writer repaired when it opened the log: a torn tail of the newest file dropped and a
     * new epoch started (see {@link TailRepair}); {@code null} when the tail was intact or read-only.
     */
    TailRepair tailRepair();

    /** True while appends can be committed (open, not read-only, enough free disk). */
    boolean isWritable();

    @Override
    void close();
}

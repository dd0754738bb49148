package io.tidings.storage;

import java.util.concurrent.TimeUnit;

/**
 * A reader's position in the log. Reads committed events in offset order, never past the committed
 * head. While it is open, retention keeps every file it has not read past.
 *
 * <p>Not thread-safe: use a cursor from one thread at a time (handing it between threads through a
 * lock or an executor is fine). Close it when done, or it pins retention.
 */
public interface Cursor extends AutoCloseable {

    /** The next committed event, or {@code null} when the cursor has caught up with the head. */
    Event next();

    /**
     * The next committed event, waiting up to {@code timeout} for one to be committed (tail mode;
     * the waiting thread is parked, not spinning). {@code null} on timeout or when the log closes.
     */
    Event next(long timeout, TimeUnit unit) throws InterruptedException;

    /** The offset of the last event returned, or of the position the cursor was opened at. */
    Offset position();

    @Override
    void close();
}

package io.tidings.server.hub;

import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.EventLog;
import io.tidings.storage.GapException;
import io.tidings.storage.Offset;

/**
 * Where a catching-up session reads the events after a position: the hub's {@link RecentEvents}
 * while they hold it (shared events and frames, nothing opened), else a log cursor — opened at once
 * when the position is older than the ring, or as soon as the ring drops the next event (a reader
 * slower than the dispatcher's window reads on from the log where it was).
 *
 * <p>Not thread-safe: owned by one session's catch-up (like the {@link Cursor} inside it). Close it.
 */
final class ReplayCursor implements AutoCloseable {
    private final EventLog log;
    private final RecentEvents recent;
    private long seq;       // the next sequence to read from the ring, while reading it
    private long position;  // the index of the last event returned, or the start
    private Cursor cursor;  // the log, once the ring does not hold the position

    /** @throws GapException if the ring does not hold the position and the log no longer does either */
    ReplayCursor(EventLog log, RecentEvents recent, long after) throws GapException {
        this.log = log;
        this.recent = recent;
        this.position = after;
        this.seq = recent.seqAfter(after);
        if (seq < 0) openLog();
    }

    /** True while events come from memory (for the metric of where catch-ups read). */
    boolean fromMemory() {
        return cursor == null;
    }

    /** The next event after the position, or null when there is none yet; GapException if retention took it meanwhile. */
    Frames next() throws GapException {
        if (cursor == null) {
            Frames f = recent.get(seq);
            if (f == null) return null;
            if (f != RecentEvents.EVICTED) {
                seq++;
                position = f.event().offset().index();
                return f;
            }
            openLog();
        }
        Event e = cursor.next();
        if (e == null) return null;
        position = e.offset().index();
        return new Frames(e);
    }

    /**
     * True if {@link #next} returning null means the reader has everything there is to read: from the
     * ring, every event the dispatcher has offered (the next ones it will offer live); from the log,
     * the committed head (a reader behind it is waiting for the event to become visible).
     */
    boolean caughtUp() {
        return cursor == null || cursor.position().index() >= log.head().index();
    }

    private void openLog() throws GapException {
        cursor = log.cursorAfter(new Offset(log.epoch(), position));
    }

    @Override
    public void close() {
        if (cursor != null) cursor.close();
    }
}

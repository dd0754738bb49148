package io.tidings.kafka;

import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.Offset;
import java.util.concurrent.TimeUnit;

/**
 * A cursor after an offset Kafka has committed that this node's replica has not applied yet (a
 * client resuming here from what another node served it): reads on from the replica's head, skips
 * every event up to that offset, and stands at it until it has passed it.
 *
 * <p>Not thread-safe, like every {@link Cursor}.
 */
final class PastHeadCursor implements Cursor {
    private final Cursor fromHead;
    private final long skipThrough;
    private Offset position;

    /** {@code fromHead}: a cursor at the replica's head, opened before {@code after} was found past it. */
    PastHeadCursor(Cursor fromHead, Offset after) {
        this.fromHead = fromHead;
        this.skipThrough = after.index();
        this.position = after;
    }

    @Override
    public Event next() {
        Event e;
        do {
            e = fromHead.next();
        } while (e != null && e.offset().index() <= skipThrough);
        return passed(e);
    }

    @Override
    public Event next(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        Event e;
        do {
            e = fromHead.next(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } while (e != null && e.offset().index() <= skipThrough);
        return passed(e);
    }

    private Event passed(Event e) {
        if (e != null) position = e.offset();
        return e;
    }

    @Override
    public Offset position() {
        return position;
    }

    @Override
    public void close() {
        fromHead.close();
    }
}

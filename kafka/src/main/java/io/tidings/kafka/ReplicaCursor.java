package io.tidings.kafka;

import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.Offset;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A cursor on a node's read replica: reads the local Chronicle log and names each event by its
 * cluster offset, walking the {@link ReplicaIndex} one entry per event. Costs no Kafka connection.
 *
 * <p>Not thread-safe, like every {@link Cursor}.
 */
final class ReplicaCursor implements Cursor {
    /** The replicator writes an event's index entry right after the event: how long a reader waits for it. */
    private static final long ENTRY_WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);
    private final Cursor local;
    private final ReplicaIndex index;
    private long nextEntry;
    private Offset position;

    ReplicaCursor(Cursor local, ReplicaIndex index, long nextEntry, Offset position) {
        this.local = local;
        this.index = index;
        this.nextEntry = nextEntry;
        this.position = position;
    }

    @Override
    public Event next() {
        return translate(local.next());
    }

    @Override
    public Event next(long timeout, TimeUnit unit) throws InterruptedException {
        return translate(local.next(timeout, unit));
    }

    private Event translate(Event e) {
        if (e == null) return null;
        long deadline = System.nanoTime() + ENTRY_WAIT_NANOS;
        while (nextEntry >= index.size()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("replica index has no entry for " + e.offset());
            LockSupport.parkNanos(20_000);
        }
        long localIndex = index.localAt(nextEntry);
        if (localIndex != e.offset().index()) {
            throw new IllegalStateException("replica index out of step: entry " + nextEntry + " names " + localIndex
                    + ", the replica read " + e.offset());
        }
        position = new Offset(position.epoch(), index.clusterAt(nextEntry++));
        return new Event(position, e.timeMillis(), e.rooms(), e.type(), e.data(), e.producerId());
    }

    @Override
    public Offset position() {
        return position;
    }

    @Override
    public void close() {
        local.close();
    }
}

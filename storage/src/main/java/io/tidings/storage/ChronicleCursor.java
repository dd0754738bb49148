package io.tidings.storage;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.wire.DocumentContext;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * A {@link Cursor} over a Chronicle tailer. Not thread-safe (one thread at a time); its
 * {@code pinnedCycle} is read by retention from another thread, hence volatile.
 */
final class ChronicleCursor implements Cursor {
    private final ChronicleEventLog log;
    private final ExcerptTailer tailer;
    private final RecordCodec codec = new RecordCodec();
    private volatile int pinnedCycle;
    private Offset position;
    private boolean closed;

    ChronicleCursor(ChronicleEventLog log, ExcerptTailer tailer, int pinnedCycle, Offset position) {
        this.log = log;
        this.tailer = tailer;
        this.pinnedCycle = pinnedCycle;
        this.position = position;
    }

    ExcerptTailer tailer() {
        return tailer;
    }

    int pinnedCycle() {
        return pinnedCycle;
    }

    /** Positions the cursor just after the event at {@code index}; false if there is no such event. */
    boolean skipPast(long index) {
        if (!tailer.moveToIndex(index)) return false;
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent() || dc.index() != index) return false;
        }
        position = new Offset(position.epoch(), index);
        return true;
    }

    @Override
    public Event next() {
        if (closed) throw new IllegalStateException("cursor is closed");
        if (log.isClosed()) throw new LogUnavailableException("log is closed");
        long limit = log.committed();
        if (position.index() >= limit) return null;
        try (DocumentContext dc = tailer.readingDocument()) {
            if (!dc.isPresent()) return null;
            long index = dc.index();
            if (index > limit) {
                dc.rollbackOnClose();
                return null;
            }
            Bytes<?> bytes = dc.wire().bytes();
            int length = (int) bytes.readRemaining();
            byte[] record = codec.scratch(length);
            bytes.read(record, 0, length);
            Offset offset = new Offset(position.epoch(), index);
            position = offset;
            int cycle = log.cycleOf(index);
            if (cycle != pinnedCycle) pinnedCycle = cycle; // a volatile write only when the file changes
            return codec.decode(record, length, offset);
        }
    }

    @Override
    public Event next(long timeout, TimeUnit unit) throws InterruptedException {
        long deadline = System.nanoTime() + unit.toNanos(timeout);
        while (true) {
            Event e = next();
            if (e != null) return e;
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0 || log.isClosed()) return null;
            long seen = position.index();
            if (log.committed() > seen) {
                // committed but not yet visible through this tailer (a file just rolled): back off briefly
                LockSupport.parkNanos(Math.min(remaining, 100_000));
            } else {
                log.awaitCommitAfter(seen, remaining);
            }
            if (Thread.interrupted()) throw new InterruptedException();
        }
    }

    @Override
    public Offset position() {
        return position;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        log.release(this);
        tailer.close();
    }
}

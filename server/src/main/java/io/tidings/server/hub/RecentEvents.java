package io.tidings.server.hub;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The events the dispatcher offered last, with their encoded {@link Frames}, kept so that a session
 * that resumes or falls a little behind reads them from memory: no log reader to open, no record
 * to decode, no frame to encode again (the live fan-out already encoded it, or the first of many
 * resuming clients does, for all of them). A resume from further back reads the log as before.
 *
 * <p>Bounded by {@code maxEvents} and by {@code maxBytes} of event data plus encoded frames: the
 * dispatcher drops the oldest events when either is exceeded. Events are numbered by a sequence
 * (0, 1, 2 … in the order offered); {@link #seqAfter} maps a log index to the sequence of the first
 * event after it, if the ring still holds everything after that index.
 *
 * <p>Thread safety: one writer (the dispatcher); any number of readers. A slot is replaced by a new
 * entry object, and readers check the entry's sequence, so a reader never takes an evicted event
 * for the one it asked for.
 */
final class RecentEvents {
    /** A held event; {@code previous} is the index of the event before it (where "after" it starts). */
    private record Entry(long seq, long previous, Frames frames) {}

    /** {@link #get}'s answer when the sequence asked for has been dropped (read the log instead). */
    static final Frames EVICTED = new Frames(null);

    private final AtomicReferenceArray<Entry> slots;
    private final int mask;
    private final long maxBytes;
    private final AtomicLong bytes = new AtomicLong();
    private volatile long oldest = 0;  // sequence of the oldest event held (oldest > newest: none)
    private volatile long newest = -1; // sequence of the newest event held

    /** @param maxEvents rounded up to a power of two; 0 or {@code maxBytes} 0 keeps nothing */
    RecentEvents(int maxEvents, long maxBytes) {
        int capacity = maxEvents <= 0 || maxBytes <= 0 ? 0 : Integer.highestOneBit(Math.max(1, maxEvents - 1)) << 1;
        this.slots = new AtomicReferenceArray<>(Math.max(1, capacity));
        this.mask = capacity - 1;
        this.maxBytes = capacity == 0 ? 0 : maxBytes;
    }

    /** Dispatcher: {@code frames} is the event after index {@code previous}; drops the oldest beyond the bounds. */
    void add(Frames frames, long previous) {
        if (maxBytes == 0) return;
        long seq = newest + 1;
        if (seq - oldest > mask) evictOldest(); // its slot is the one we take
        frames.chargeTo(bytes);
        slots.set((int) (seq & mask), new Entry(seq, previous, frames));
        newest = seq; // publishes the entry
        while (bytes.get() > maxBytes && oldest < newest) evictOldest();
    }

    private void evictOldest() {
        long seq = oldest;
        int slot = (int) (seq & mask);
        Entry e = slots.get(slot);
        oldest = seq + 1; // readers stop trusting the slot before it is cleared or reused
        if (e != null && e.seq == seq) {
            slots.compareAndSet(slot, e, null); // what is dropped is garbage, not held until the slot comes round
            e.frames.discharge();
        }
    }

    /**
     * The sequence of the first held event after log index {@code index} ({@code newest + 1} if
     * every held event is at or before it: the reader is caught up with the dispatcher), or -1 if
     * the ring does not hold everything after {@code index} (too old, or nothing held).
     */
    long seqAfter(long index) {
        long lo = oldest, hi = newest;
        if (lo > hi) return -1;
        Entry first = entry(lo), last = entry(hi);
        if (first == null || last == null || index < first.previous) return -1;
        if (index >= last.frames.event().offset().index()) return hi + 1;
        while (lo < hi) { // the first held event with a larger index
            long mid = (lo + hi) >>> 1;
            Entry m = entry(mid);
            if (m == null) return -1; // dropped meanwhile: let the log answer
            if (m.frames.event().offset().index() > index) hi = mid;
            else lo = mid + 1;
        }
        return oldest <= lo ? lo : -1;
    }

    /** The event with sequence {@code seq}; null if the dispatcher has not offered it yet; {@link #EVICTED} if dropped. */
    Frames get(long seq) {
        if (seq > newest) return null;
        Entry e = entry(seq);
        return e == null ? EVICTED : e.frames;
    }

    private Entry entry(long seq) {
        if (seq < oldest) return null;
        Entry e = slots.get((int) (seq & mask));
        return e != null && e.seq == seq && seq >= oldest ? e : null;
    }

    /** Bytes held (event data and encoded frames). */
    long bytes() {
        return bytes.get();
    }

    /** Events held. */
    int size() {
        return (int) Math.max(0, newest - oldest + 1);
    }
}

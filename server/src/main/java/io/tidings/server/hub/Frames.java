package io.tidings.server.hub;

import io.tidings.storage.Event;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * One event and its encoded frames, shared by all its recipients: each distinct frame is encoded
 * once per event (keyed by what it depends on, e.g. protocol and room) and the same bytes are sent
 * to every session — live ones by the dispatcher, and catching-up ones that read the event from the
 * hub's {@link RecentEvents}.
 *
 * <p>Thread safety: thread-safe (the dispatcher and catch-up workers may encode the same event at once).
 */
public final class Frames {
    private final Event event;
    private final Map<Key, byte[]> cache = new HashMap<>(4);
    private long encodedBytes;
    private java.util.concurrent.atomic.AtomicLong charged; // the ring's byte count while this is in it, else null

    private record Key(String kind, Object variant) {}

    Frames(Event event) {
        this.event = event;
    }

    public Event event() {
        return event;
    }

    /**
     * The frame of protocol {@code kind} for {@code variant} (what else the bytes depend on: a room, an
     * identifier, a list of rooms), encoded by {@code encoder} the first time it is asked for. The key
     * is built from the parts, not concatenated: a fan-out asks once per recipient, and the parts'
     * hashes are already cached in them.
     */
    public synchronized byte[] get(String kind, Object variant, Function<Event, byte[]> encoder) {
        Key key = new Key(kind, variant);
        byte[] frame = cache.get(key);
        if (frame == null) {
            frame = encoder.apply(event);
            cache.put(key, frame);
            encodedBytes += frame.length;
            if (charged != null) charged.addAndGet(frame.length);
        }
        return frame;
    }

    /** From now on, {@code total} counts this event's data and frames (see {@link RecentEvents}). */
    synchronized void chargeTo(java.util.concurrent.atomic.AtomicLong total) {
        charged = total;
        total.addAndGet(event.data().length + encodedBytes);
    }

    /** Takes this event's bytes off the total it was charged to; frames encoded later are not counted. */
    synchronized void discharge() {
        if (charged == null) return;
        charged.addAndGet(-(event.data().length + encodedBytes));
        charged = null;
    }
}

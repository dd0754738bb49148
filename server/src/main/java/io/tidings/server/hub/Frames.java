package io.tidings.server.hub;

import io.tidings.storage.Event;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The encoded frames of one event, shared by all its recipients: each distinct frame is encoded
 * once per event (keyed by what it depends on, e.g. protocol and room) and the same bytes are sent
 * to every session. Used by one thread at a time (the dispatcher, or one session's catch-up).
 */
public final class Frames {
    private final Map<Object, byte[]> cache = new HashMap<>();
    private Event event;

    void reset(Event event) {
        this.event = event;
        cache.clear();
    }

    public Event event() {
        return event;
    }

    /** The frame for {@code key}, encoded by {@code encoder} the first time it is asked for. */
    public byte[] get(Object key, Function<Event, byte[]> encoder) {
        return cache.computeIfAbsent(key, k -> encoder.apply(event));
    }
}

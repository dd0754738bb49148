package io.tidings.storage;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * An event to append. The log assigns its offset and time.
 *
 * <p>The log checks only what its record format needs (sizes, non-empty names); whether
 * {@code data} is valid JSON and whether a room name is well formed is the caller's business.
 */
public record NewEvent(List<String> rooms, String type, byte[] data, String producerId) {

    /** Longest room, type or producer id in UTF-8 bytes (the record stores a 16-bit length). */
    public static final int MAX_NAME_BYTES = 65_535;
    /** Most rooms one event may target (the record stores a 16-bit count). */
    public static final int MAX_ROOMS = 65_535;

    public NewEvent {
        Objects.requireNonNull(rooms, "rooms");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(data, "data");
        rooms = List.copyOf(rooms);
        if (rooms.isEmpty()) throw new IllegalArgumentException("an event needs at least one room");
        if (rooms.size() > MAX_ROOMS) throw new IllegalArgumentException("too many rooms: " + rooms.size());
        for (String room : rooms) checkName("room", room);
        checkName("type", type);
        if (producerId != null) checkName("producer id", producerId);
    }

    public NewEvent(String room, String type, byte[] data) {
        this(List.of(room), type, data, null);
    }

    private static void checkName(String what, String value) {
        if (value.isEmpty()) throw new IllegalArgumentException(what + " is empty");
        if (value.length() > MAX_NAME_BYTES / 3 && value.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            throw new IllegalArgumentException(what + " is longer than " + MAX_NAME_BYTES + " bytes");
        }
    }
}

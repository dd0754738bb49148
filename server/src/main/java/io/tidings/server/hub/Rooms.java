package io.tidings.server.hub;

import java.util.List;

/**
 * Room names: paths of non-empty segments separated by {@code /}, such as {@code teamspaceA},
 * {@code teamspaceA/<modelId>} or {@code user/alice}. A room receives its own events and those of
 * every room below it.
 */
public final class Rooms {
    public static final int MAX_LENGTH = 256;

    private Rooms() {}

    /** Null when valid, else why not. */
    public static String problem(String room) {
        if (room == null || room.isEmpty()) return "room is empty";
        if (room.length() > MAX_LENGTH) return "room is longer than " + MAX_LENGTH + " characters";
        if (room.startsWith("/") || room.endsWith("/") || room.contains("//")) return "room has an empty segment: " + room;
        for (int i = 0; i < room.length(); i++) {
            char c = room.charAt(i);
            if (c <= ' ' || c == 0x7f) return "room contains whitespace or control characters";
        }
        return null;
    }

    /** True if {@code room} is {@code prefix} or lies below it. */
    public static boolean within(String room, String prefix) {
        return room.equals(prefix) || (room.startsWith(prefix) && room.charAt(prefix.length()) == '/');
    }

    /** True if any of the event's rooms is {@code room} or lies below it. */
    public static boolean anyWithin(List<String> eventRooms, String room) {
        for (String r : eventRooms) if (within(r, room)) return true;
        return false;
    }
}

package io.tidings.server.auth;

import io.tidings.server.hub.Rooms;

import java.util.ArrayList;
import java.util.List;

/**
 * Who a subscriber is and which rooms it may join: the rooms granted by its token (a grant covers
 * the room and every room below it) plus {@code user/<subject>}, which is always granted.
 *
 * @param expiresAtMillis when the credentials stop being valid (ms since the Unix epoch), or Long.MAX_VALUE
 */
public record Grants(String subject, List<String> rooms, long expiresAtMillis) {
    public Grants {
        List<String> all = new ArrayList<>(rooms);
        all.add("user/" + subject);
        rooms = List.copyOf(all);
    }

    public boolean allows(String room) {
        for (String granted : rooms) if (Rooms.within(room, granted)) return true;
        return false;
    }
}

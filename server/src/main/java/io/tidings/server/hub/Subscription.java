package io.tidings.server.hub;

/**
 * One room a session listens to. {@code key} names the subscription within its session (the room
 * for the native and Socket.IO protocols, the channel identifier for ActionCable).
 *
 * <p>Guarded by its session's lock.
 */
public final class Subscription {
    final Session session;
    final String key;
    final String room;
    /** Index of the last event delivered to (or considered for) this subscription. */
    long position;
    /** True from a join with a resume offset until the session has caught up ("live" is then announced). */
    boolean replaying;
    /** False once the session no longer holds it (left, replaced by a new join of its key, closed). */
    boolean current = true;

    Subscription(Session session, String key, String room, long position, boolean replaying) {
        this.session = session;
        this.key = key;
        this.room = room;
        this.position = position;
        this.replaying = replaying;
    }

    public String key() {
        return key;
    }

    public String room() {
        return room;
    }
}

package io.tidings.server.hub;

import java.util.List;

/**
 * A snapshot of one session for operators (the console's connections list). Immutable.
 *
 * @param id                the session's number, unique within this gateway process
 * @param rooms             the rooms it subscribes to
 * @param position          the lowest index delivered to (or considered for) any subscription; -1 without one
 * @param queuedBytes       bytes handed to the socket and not yet written
 */
public record SessionView(long id, String protocol, String subject, String address, long connectedAtMillis,
                          List<String> rooms, long position, long queuedBytes) {
    public SessionView {
        rooms = List.copyOf(rooms);
    }

    /** Events behind {@code headIndex}; 0 without a subscription. */
    public long lag(long headIndex) {
        return position < 0 ? 0 : Math.max(0, headIndex - position);
    }
}

package io.tidings.server.hub;

import io.tidings.server.IsoTime;
import io.tidings.server.http.Json;
import io.tidings.storage.EventLog;
import io.tidings.storage.NewEvent;

import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * Appends presence {@link Presence.Change}s of the rooms within the configured prefixes (setting
 * {@code presenceEventRooms}) to the log as events of type {@code presence} in that room:
 * {@code {"action":"join"|"leave","sub":"…","protocols":[…],"at":"<ISO time>"}}. Appends run on
 * one background thread behind a bounded queue (a full queue drops the change, logged), so the hub
 * never waits on the log.
 *
 * <p>Thread-safe.
 */
public final class PresenceEvents implements Presence.Listener, AutoCloseable {
    public static final String TYPE = "presence";
    static final int QUEUE = 10_000;
    private static final Logger LOG = Logger.getLogger(PresenceEvents.class.getName());

    private final EventLog log;
    private final List<String> prefixes;
    private final ThreadPoolExecutor appender;

    public PresenceEvents(EventLog log, List<String> prefixes) {
        this.log = log;
        this.prefixes = List.copyOf(prefixes);
        this.appender = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
            Thread t = new Thread(r, "tidings-presence-events");
            t.setDaemon(true);
            return t;
        }, (r, pool) -> LOG.warning("presence events: " + QUEUE + " changes queued, dropping one"));
    }

    /** True if changes of {@code room} are appended. */
    public boolean covers(String room) {
        for (String p : prefixes) if (Rooms.within(room, p)) return true;
        return false;
    }

    @Override
    public void changed(Presence.Change c) {
        if (!covers(c.room())) return;
        StringBuilder b = new StringBuilder("{\"action\":\"").append(c.joined() ? "join" : "leave")
                .append("\",\"sub\":").append(Json.quote(c.subject())).append(",\"protocols\":[");
        int i = 0;
        for (String p : c.protocols()) b.append(i++ == 0 ? "" : ",").append(Json.quote(p));
        IsoTime.append(b.append("],\"at\":\""), c.atMillis()).append("\"}");
        NewEvent event = new NewEvent(c.room(), TYPE, Json.utf8(b.toString()));
        appender.execute(() -> {
            try {
                log.append(List.of(event));
            } catch (RuntimeException e) {
                LOG.warning("presence event not appended (" + c.room() + ", " + c.subject() + "): " + e);
            }
        });
    }

    @Override
    public void close() {
        appender.shutdown();
        try {
            appender.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.tidings.server;

import io.tidings.server.http.Json;
import io.tidings.storage.Event;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.function.Predicate;

/**
 * The JSON shapes of a stored event, built around the producer's data bytes without re-serialising
 * them: the native WebSocket {@code event} frame and the NDJSON line of audit replay and the CLI.
 */
public final class EventJson {
    private EventJson() {}

    /**
     * {@code {"op":"event","room":…,"rooms":[…],"type":…,"offset":…,"time":…,"data":…}}: {@code rooms}
     * are the event's rooms the recipient receives it for (at least one), {@code room} the first of them.
     */
    public static byte[] nativeFrame(Event e, List<String> rooms) {
        StringBuilder b = new StringBuilder(128).append("{\"op\":\"event\",\"room\":").append(Json.quote(rooms.get(0)))
                .append(",\"rooms\":[");
        for (int i = 0; i < rooms.size(); i++) b.append(i == 0 ? "" : ",").append(Json.quote(rooms.get(i)));
        b.append("],\"type\":").append(Json.quote(e.type())).append(",\"offset\":\"").append(e.offset())
                .append("\",\"time\":\"");
        IsoTime.append(b, e.timeMillis()).append("\",\"data\":");
        return withData(b.toString(), e, "}");
    }

    /** {@code {"offset":…,"time":…,"rooms":[…],"type":…,"id":…,"data":…}} followed by a newline. */
    public static byte[] ndjsonLine(Event e) {
        return ndjsonLine(e, room -> true);
    }

    /** The same, listing only the rooms {@code shown} accepts (an API key limited to room prefixes). */
    public static byte[] ndjsonLine(Event e, Predicate<String> shown) {
        StringBuilder b = new StringBuilder(128).append("{\"offset\":\"").append(e.offset()).append("\",\"time\":\"");
        IsoTime.append(b, e.timeMillis()).append("\",\"rooms\":[");
        int n = 0;
        for (String room : e.rooms()) if (shown.test(room)) b.append(n++ == 0 ? "" : ",").append(Json.quote(room));
        b.append("],\"type\":").append(Json.quote(e.type()));
        if (e.producerId() != null) b.append(",\"id\":").append(Json.quote(e.producerId()));
        b.append(",\"data\":");
        return withData(b.toString(), e, "}\n");
    }

    /**
     * {@code head}, the event's data, {@code tail}: the one way data bytes are embedded in a frame.
     * The data is the producer's JSON as published, except that line breaks are turned into spaces:
     * in valid JSON a raw CR or LF can only be whitespace between tokens (inside strings they are
     * escaped), so the value is the same and every frame and NDJSON line stays one line (the
     * native protocol's batched messages and audit replay separate them with {@code '\n'}).
     */
    public static byte[] withData(String head, Event e, String tail) {
        byte[] h = head.getBytes(StandardCharsets.UTF_8);
        byte[] t = tail.getBytes(StandardCharsets.UTF_8);
        byte[] d = e.data();
        byte[] out = new byte[h.length + d.length + t.length];
        System.arraycopy(h, 0, out, 0, h.length);
        for (int i = 0, at = h.length; i < d.length; i++, at++) {
            byte b = d[i];
            out[at] = b == '\n' || b == '\r' ? (byte) ' ' : b;
        }
        System.arraycopy(t, 0, out, h.length + d.length, t.length);
        return out;
    }
}

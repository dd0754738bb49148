package io.tidings.server;

import io.tidings.server.http.Json;
import io.tidings.storage.Event;

import java.io.ByteArrayOutputStream;
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

    /** {@code head}, the event's raw data, {@code tail}: the one way data bytes are embedded in a frame. */
    public static byte[] withData(String head, Event e, String tail) {
        byte[] h = head.getBytes(StandardCharsets.UTF_8);
        byte[] t = tail.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(h.length + e.data().length + t.length);
        out.writeBytes(h);
        out.writeBytes(e.data());
        out.writeBytes(t);
        return out.toByteArray();
    }
}

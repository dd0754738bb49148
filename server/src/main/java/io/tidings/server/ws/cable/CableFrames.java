package io.tidings.server.ws.cable;

import io.tidings.server.EventJson;
import io.tidings.server.http.Json;
import io.tidings.storage.Event;

/**
 * The server frames of the ActionCable protocols, built around the client's identifier literal and
 * the producer's data bytes (neither is ever re-serialised).
 */
final class CableFrames {
    static final byte[] WELCOME = Json.utf8("{\"type\":\"welcome\"}");

    private CableFrames() {}

    /** {@code {"type":"ping","message":<unix seconds>}} */
    static byte[] ping(long unixSeconds) {
        return Json.utf8("{\"type\":\"ping\",\"message\":" + unixSeconds + "}");
    }

    /** {@code {"identifier":<literal>,"type":<type>}}: confirm/reject_subscription, confirm/reject_history. */
    static byte[] typed(String identifierJson, String type) {
        return Json.utf8("{\"identifier\":" + identifierJson + ",\"type\":\"" + type + "\"}");
    }

    /** {@code {"identifier":<literal>,"message":<data>}} */
    static byte[] message(Event e, String identifierJson) {
        return EventJson.withData("{\"identifier\":" + identifierJson + ",\"message\":", e, "}");
    }

    /**
     * The extended protocol's broadcast: the message plus its stream (the subscription's room), the
     * log's epoch and the event's offset index (an integer below 2^53, exact in JavaScript).
     */
    static byte[] extendedMessage(Event e, String identifierJson, String room) {
        return EventJson.withData("{\"identifier\":" + identifierJson + ",\"message\":", e,
                ",\"stream_id\":" + Json.quote(room) + ",\"epoch\":" + Json.quote(e.offset().epoch())
                        + ",\"offset\":" + e.offset().index() + "}");
    }

    /** AnyCable's answer to {@code presence}: {@code {"type":"info","total":n,"records":[{"id":<sub>,"info":<info>}…]}}. */
    /** A pushed presence change: {@code join} with the record's info, or {@code leave} when {@code info} is null. */
    static byte[] presenceChange(String identifierJson, String subject, String info) {
        return Json.utf8("{\"type\":\"presence\",\"identifier\":" + identifierJson + ",\"message\":{\"type\":"
                + (info != null ? "\"join\",\"id\":" + Json.quote(subject) + ",\"info\":" + info : "\"leave\",\"id\":" + Json.quote(subject)) + "}}");
    }

    static byte[] presenceInfo(String identifierJson, java.util.List<io.tidings.server.hub.Presence.Record> records) {
        StringBuilder b = new StringBuilder("{\"type\":\"presence\",\"identifier\":").append(identifierJson)
                .append(",\"message\":{\"type\":\"info\",\"total\":").append(records.size()).append(",\"records\":[");
        for (int i = 0; i < records.size(); i++) {
            b.append(i == 0 ? "" : ",").append("{\"id\":").append(Json.quote(records.get(i).subject()))
                    .append(",\"info\":").append(records.get(i).info()).append('}');
        }
        return Json.utf8(b.append("]}}").toString());
    }
}

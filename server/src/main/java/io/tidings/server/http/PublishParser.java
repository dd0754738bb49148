package io.tidings.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import io.tidings.server.hub.Rooms;
import io.tidings.storage.Appended;
import io.tidings.storage.NewEvent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses a POST /v1/events body: one event object, a JSON array of them, or NDJSON (objects
 * separated by newlines). Each event's {@code data} is kept as the producer's exact bytes. The whole
 * body is validated before anything is appended, so a rejected batch appends nothing. Answered
 * 200 with the offsets. Immutable and thread-safe.
 */
public final class PublishParser implements PublishFormat {
    public static final int MAX_TYPE_LENGTH = 128;
    public static final int MAX_ID_LENGTH = 256;

    private final int maxEventBytes;
    private final int maxBatchEvents;

    public PublishParser(int maxEventBytes, int maxBatchEvents) {
        this.maxEventBytes = maxEventBytes;
        this.maxBatchEvents = maxBatchEvents;
    }

    /**
     * The events, in order; {@code single} if the body was one bare object. The usual body, one
     * plain event, is read by {@link PlainEventReader}; any other goes through Jackson.
     */
    @Override
    public Batch parse(byte[] body) throws ApiError {
        NewEvent plain = maxBatchEvents < 1 ? null : PlainEventReader.read(body, maxEventBytes);
        return plain != null ? new Batch(List.of(plain), true) : parseWithJackson(body);
    }

    /** {@link #parse} without the plain reader: every body through Jackson (and its errors). */
    Batch parseWithJackson(byte[] body) throws ApiError {
        List<NewEvent> events = new ArrayList<>();
        int roots = 0;
        boolean array = false;
        try (JsonParser p = Json.MAPPER.getFactory().createParser(body)) {
            JsonToken t;
            while ((t = p.nextToken()) != null) {
                roots++;
                if (t == JsonToken.START_ARRAY) {
                    if (roots > 1) throw ApiError.badRequest("a JSON array must be the whole body");
                    array = true;
                    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
                        if (t == null) throw ApiError.badRequest("unterminated JSON array");
                        events.add(event(p, body, events.size()));
                        checkCount(events);
                    }
                } else if (t == JsonToken.START_OBJECT) {
                    if (array) throw ApiError.badRequest("a JSON array must be the whole body");
                    events.add(event(p, body, events.size()));
                    checkCount(events);
                } else {
                    throw ApiError.badRequest("expected an event object, an array of them, or NDJSON");
                }
            }
        } catch (JsonProcessingException e) {
            // a broken limit (e.g. nesting deeper than Jackson's 1000 levels) has no location
            String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
            throw ApiError.badRequest("malformed JSON" + where + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiError.badRequest("unreadable body: " + e.getMessage());
        }
        if (events.isEmpty()) throw ApiError.badRequest("no events in the body");
        return new Batch(events, !array && roots == 1);
    }

    @Override
    public int status() {
        return 200;
    }

    @Override
    public String answer(Batch batch, List<Appended> appended) {
        return answer(appended, batch.single());
    }

    /** {@code {"offsets":[…],"duplicates":[…]}}; a single-object body also gets {@code "offset"}. */
    public static String answer(List<Appended> appended, boolean single) {
        if (single && appended.size() == 1) { // the usual publish: one token, no lists to build
            Appended a = appended.get(0);
            String offset = a.offset().toString();
            return "{\"offset\":\"" + offset + "\",\"duplicate\":" + a.duplicate() + ",\"offsets\":[\"" + offset
                    + "\"],\"duplicates\":[" + (a.duplicate() ? "0" : "") + "]}";
        }
        StringBuilder b = new StringBuilder(32 + appended.size() * 32);
        if (single) b.append("{\"offset\":\"").append(appended.get(0).offset()).append("\",\"duplicate\":")
                .append(appended.get(0).duplicate()).append(',');
        else b.append('{');
        b.append("\"offsets\":[");
        StringBuilder dups = new StringBuilder();
        for (int i = 0; i < appended.size(); i++) {
            Appended a = appended.get(i);
            b.append(i == 0 ? "\"" : ",\"").append(a.offset()).append('"');
            if (a.duplicate()) dups.append(dups.length() == 0 ? "" : ",").append(i);
        }
        return b.append("],\"duplicates\":[").append(dups).append("]}").toString();
    }


    private void checkCount(List<NewEvent> events) throws ApiError {
        if (events.size() > maxBatchEvents) {
            throw new ApiError(413, "too_large", "more than " + maxBatchEvents + " events in one request");
        }
    }

    private NewEvent event(JsonParser p, byte[] body, int n) throws IOException, ApiError {
        if (p.currentToken() != JsonToken.START_OBJECT) throw ApiError.badRequest(where(n) + "is not a JSON object");
        List<String> rooms = null;
        String type = null, id = null;
        byte[] data = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "room" -> {
                    if (rooms != null) throw ApiError.badRequest(where(n) + "give either room or rooms");
                    rooms = List.of(room(p, v, n));
                }
                case "rooms" -> {
                    if (rooms != null) throw ApiError.badRequest(where(n) + "give either room or rooms");
                    if (v != JsonToken.START_ARRAY) throw ApiError.badRequest(where(n) + "rooms must be an array of strings");
                    List<String> list = new ArrayList<>();
                    for (JsonToken r = p.nextToken(); r != JsonToken.END_ARRAY; r = p.nextToken()) list.add(room(p, r, n));
                    if (list.isEmpty()) throw ApiError.badRequest(where(n) + "rooms is empty");
                    rooms = List.copyOf(new java.util.LinkedHashSet<>(list));
                }
                case "type" -> {
                    type = string(p, v, n, "type");
                    if (type.isEmpty() || type.length() > MAX_TYPE_LENGTH || hasControlCharacter(type)) {
                        throw ApiError.badRequest(where(n) + "type must be 1-" + MAX_TYPE_LENGTH + " printable characters");
                    }
                }
                case "id" -> {
                    id = string(p, v, n, "id");
                    if (id.isEmpty() || id.length() > MAX_ID_LENGTH) {
                        throw ApiError.badRequest(where(n) + "id must be 1-" + MAX_ID_LENGTH + " characters");
                    }
                }
                case "data" -> {
                    long start = p.currentTokenLocation().getByteOffset();
                    if (v.isStructStart()) p.skipChildren();
                    else p.finishToken();
                    long end = p.currentLocation().getByteOffset();
                    if (end - start > maxEventBytes) {
                        throw new ApiError(413, "too_large", where(n) + "data is " + (end - start)
                                + " bytes; the limit is " + maxEventBytes);
                    }
                    data = Arrays.copyOfRange(body, (int) start, (int) end);
                }
                default -> throw ApiError.badRequest(where(n) + "unknown field '" + field + "'");
            }
        }
        if (rooms == null) throw ApiError.badRequest(where(n) + "room is required");
        if (type == null) throw ApiError.badRequest(where(n) + "type is required");
        if (data == null) throw ApiError.badRequest(where(n) + "data is required");
        return new NewEvent(rooms, type, data, id);
    }

    private static String room(JsonParser p, JsonToken v, int n) throws IOException, ApiError {
        String room = string(p, v, n, "room");
        String problem = Rooms.problem(room);
        if (problem != null) throw ApiError.badRequest(where(n) + problem);
        return room;
    }

    private static String string(JsonParser p, JsonToken v, int n, String what) throws IOException, ApiError {
        if (v != JsonToken.VALUE_STRING) throw ApiError.badRequest(where(n) + what + " must be a string");
        return p.getText();
    }

    private static boolean hasControlCharacter(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < ' ') return true;
        return false;
    }

    private static String where(int n) {
        return "event " + n + ": ";
    }
}

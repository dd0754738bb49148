package io.tidings.server.http;

import io.tidings.server.EventJson;
import io.tidings.server.auth.ApiKeys;
import io.tidings.server.hub.Rooms;
import io.tidings.server.metrics.Metrics;
import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.EventLog;
import io.tidings.storage.GapException;
import io.tidings.storage.Offset;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Deque;
import java.util.Map;

/**
 * {@code GET /v1/events?room=R&after=OFFSET|from=ISO&to=ISO&type=T&limit=N}: audit replay as NDJSON.
 * Streams from a log cursor straight to the response, so memory stays bounded whatever the range.
 * A room includes its sub-rooms. {@code after} older than retention answers 410 with the first
 * available offset rather than a silently shortened history. A key limited to room prefixes reads
 * only within them: a {@code room} outside is refused (403); without {@code room} it gets the
 * events with at least one permitted room, and sees only those rooms of each event.
 */
public final class ReplayHandler implements HttpHandler {
    private final EventLog log;
    private final ApiAuth auth;
    private final Metrics metrics;

    public ReplayHandler(EventLog log, ApiAuth auth, Metrics metrics) {
        this.log = log;
        this.auth = auth;
        this.metrics = metrics;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws IOException {
        if (exchange.isInIoThread()) {
            exchange.dispatch(this);
            return;
        }
        Cursor cursor;
        String room, type;
        long to, limit;
        ApiKeys.ApiKey key;
        try {
            key = auth.require(exchange, ApiKeys.Scope.AUDIT);
            Map<String, Deque<String>> q = exchange.getQueryParameters();
            room = param(q, "room");
            if (room != null && Rooms.problem(room) != null) throw ApiError.badRequest(Rooms.problem(room));
            if (room != null && !key.allowsRoom(room)) {
                metrics.apiKeyRefused(key.name(), "audit");
                throw new ApiError(403, "forbidden", "key '" + key.name() + "' may not read room " + room);
            }
            metrics.apiKeyUsed(key.name(), "audit");
            type = param(q, "type");
            String after = param(q, "after"), from = param(q, "from");
            if (after != null && from != null) throw ApiError.badRequest("give after or from, not both");
            to = param(q, "to") == null ? Long.MAX_VALUE : time(param(q, "to"), "to");
            limit = param(q, "limit") == null ? Long.MAX_VALUE : number(param(q, "limit"));
            if (after != null) {
                Offset offset;
                try {
                    offset = Offset.parse(after);
                } catch (IllegalArgumentException e) {
                    throw ApiError.badRequest("after: " + e.getMessage());
                }
                try {
                    cursor = log.cursorAfter(offset);
                } catch (GapException e) {
                    throw new ApiError(410, "gap", "events after " + after + " are not in the log ("
                            + e.gap().reason().name().toLowerCase() + "); first available offset is " + e.gap().firstAvailable());
                }
            } else if (from != null) {
                cursor = log.cursorAtTime(time(from, "from"));
            } else {
                cursor = log.cursorAtStart();
            }
        } catch (ApiError e) {
            e.send(exchange);
            return;
        }
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/x-ndjson");
        exchange.startBlocking();
        try (cursor; OutputStream out = exchange.getOutputStream()) {
            long sent = 0;
            for (Event e = cursor.next(); e != null && sent < limit && e.timeMillis() < to; e = cursor.next()) {
                if (room != null && !Rooms.anyWithin(e.rooms(), room)) continue;
                if (!key.allowsAny(e.rooms())) continue;
                if (type != null && !type.equals(e.type())) continue;
                out.write(key.restricted() ? EventJson.ndjsonLine(e, key::allowsRoom) : EventJson.ndjsonLine(e));
                sent++;
            }
        }
    }

    static String param(Map<String, Deque<String>> q, String name) {
        Deque<String> v = q.get(name);
        return v == null || v.isEmpty() || v.getFirst().isEmpty() ? null : v.getFirst();
    }

    private static long time(String iso, String name) throws ApiError {
        try {
            return Instant.parse(iso).toEpochMilli();
        } catch (DateTimeParseException e) {
            throw ApiError.badRequest(name + " must be an ISO-8601 instant such as 2026-11-23T10:00:00Z");
        }
    }

    static long number(String s) throws ApiError {
        try {
            long n = Long.parseLong(s);
            if (n < 0) throw new NumberFormatException();
            return n;
        } catch (NumberFormatException e) {
            throw ApiError.badRequest("limit must be a non-negative integer");
        }
    }
}

package io.tidings.server.http;

import io.tidings.server.IsoTime;
import io.tidings.server.auth.ApiKeys;
import io.tidings.server.hub.Presence;
import io.tidings.server.hub.Rooms;
import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /v1/presence?room=R[&count=1][&limit=N][&after=SUB]}: who is subscribed to room
 * {@code R} on this node right now, per subject (connections, protocols, since), in subject order,
 * paged by {@code after} (the previous page's {@code next}); {@code count=1} gives only the counts.
 * An audit or publish key; a key limited to room prefixes may only ask for rooms within them (403).
 *
 * <p>Thread-safe (stateless; {@link Presence} is thread-safe).
 */
public final class PresenceHandler implements HttpHandler {
    static final int DEFAULT_LIMIT = 100;
    static final int MAX_LIMIT = 1000;

    private final Presence presence;
    private final ApiAuth auth;
    private final Metrics metrics;

    public PresenceHandler(Presence presence, ApiAuth auth, Metrics metrics) {
        this.presence = presence;
        this.auth = auth;
        this.metrics = metrics;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        try {
            ApiKeys.ApiKey key = auth.require(exchange, ApiKeys.Scope.AUDIT, ApiKeys.Scope.PUBLISH);
            Map<String, Deque<String>> q = exchange.getQueryParameters();
            String room = ReplayHandler.param(q, "room");
            if (room == null) throw ApiError.badRequest("room is required");
            if (Rooms.problem(room) != null) throw ApiError.badRequest(Rooms.problem(room));
            if (!key.allowsRoom(room)) {
                metrics.presenceQuery("api", "forbidden");
                metrics.apiKeyRefused(key.name(), "presence");
                throw new ApiError(403, "forbidden", "key '" + key.name() + "' may not read room " + room);
            }
            String limitParam = ReplayHandler.param(q, "limit");
            long limit = limitParam == null ? DEFAULT_LIMIT : ReplayHandler.number(limitParam);
            if (limit < 1 || limit > MAX_LIMIT) throw ApiError.badRequest("limit must be 1-" + MAX_LIMIT);
            boolean countOnly = "1".equals(ReplayHandler.param(q, "count")) || "true".equals(ReplayHandler.param(q, "count"));
            metrics.presenceQuery("api", "ok");
            Presence.Count count = presence.count(room);
            StringBuilder b = new StringBuilder("{\"room\":").append(Json.quote(room))
                    .append(",\"subjects\":").append(count.subjects()).append(",\"connections\":").append(count.connections());
            if (!countOnly) {
                List<Presence.Member> page = presence.members(room, ReplayHandler.param(q, "after"), (int) limit + 1);
                boolean more = page.size() > limit;
                if (more) page = page.subList(0, (int) limit);
                b.append(",\"members\":[");
                for (int i = 0; i < page.size(); i++) member(b.append(i == 0 ? "" : ","), page.get(i));
                b.append("],\"next\":").append(more ? Json.quote(page.get(page.size() - 1).subject()) : "null");
            }
            exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
            exchange.getResponseSender().send(b.append('}').toString());
        } catch (ApiError e) {
            e.send(exchange);
        }
    }

    /** {@code {"sub":…,"connections":n,"protocols":[…],"since":"<ISO>"}}; also the native protocol's member shape. */
    public static StringBuilder member(StringBuilder b, Presence.Member m) {
        b.append("{\"sub\":").append(Json.quote(m.subject())).append(",\"connections\":").append(m.connections()).append(",\"protocols\":[");
        int i = 0;
        for (String p : m.protocols()) b.append(i++ == 0 ? "" : ",").append(Json.quote(p));
        return IsoTime.append(b.append("],\"since\":\""), m.sinceMillis()).append("\"}");
    }
}

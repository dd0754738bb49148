package io.tidings.server.sse;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.JoinDecision;
import io.tidings.server.auth.Principal;
import io.tidings.server.http.ApiError;
import io.tidings.server.hub.Hub;
import io.tidings.server.hub.Rooms;
import io.tidings.server.ws.UpgradeGate;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;
import io.undertow.util.Methods;
import io.undertow.util.SameThreadExecutor;

import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * {@code GET /v1/sse?room=<room>[&room=…][&after=<offset>]}: server-sent events for browsers and
 * tools that want a plain HTTP stream (docs/protocol.md, "Server-sent events"). Behind an
 * {@link UpgradeGate#forStream} gate, which admitted and authenticated the request as it does a
 * WebSocket upgrade (same credentials: {@code Authorization: Bearer}, the {@code Authorization}
 * cookie, {@code ?token=}). Everything that can be refused is refused before the stream starts,
 * with an HTTP status and a JSON error (an {@code EventSource} does not reconnect after one):
 * 401 without accepted credentials, 400 for a bad request, 403 for a room the token may not join,
 * 503 when the authorization webhook could not answer. Then an {@link SseSession} streams.
 *
 * <p>Thread safety: stateless per request; requests arrive on Undertow's I/O threads.
 */
public final class SseEndpoint implements HttpHandler {
    public static final String PATH = "/v1/sse";
    /** The metric label of SSE streams. */
    public static final String PROTOCOL = SseSession.PROTOCOL;
    private static final HttpString LAST_EVENT_ID = new HttpString("Last-Event-ID");
    private static final HttpString ACCEL_BUFFERING = new HttpString("X-Accel-Buffering");

    private final Hub hub;
    private final Authenticator auth;
    private final int maxRooms;
    private final long heartbeatMs;

    public SseEndpoint(Hub hub, Authenticator auth, int maxRooms, long heartbeatMs) {
        this.hub = hub;
        this.auth = auth;
        this.maxRooms = maxRooms;
        this.heartbeatMs = heartbeatMs;
        hub.metrics().protocol(PROTOCOL, false);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) {
        if (!exchange.getRequestMethod().equals(Methods.GET)) {
            exchange.getResponseHeaders().put(Headers.ALLOW, "GET");
            new ApiError(405, "method_not_allowed", "GET " + PATH + "?room=…").send(exchange);
            return;
        }
        UpgradeGate.Upgrade up = UpgradeGate.admitted(exchange);
        Principal principal = up.principal();
        if (principal == null) {
            AuthException e = up.failure() != null ? up.failure() : new AuthException(AuthException.Reason.MISSING, "missing token");
            (e.retryable() ? new ApiError(503, "auth_unavailable", e.getMessage()) : new ApiError(401, "unauthorized", e.getMessage())).send(exchange);
            return;
        }
        List<String> rooms;
        try {
            rooms = rooms(exchange.getQueryParameters().get("room"));
        } catch (ApiError e) {
            e.send(exchange);
            return;
        }
        String resume = exchange.getRequestHeaders().getFirst(LAST_EVENT_ID); // what a reconnecting EventSource sends
        if (resume == null || resume.isEmpty()) {
            Deque<String> after = exchange.getQueryParameters().get("after");
            resume = after == null || after.isEmpty() || after.getFirst().isEmpty() ? null : after.getFirst();
        }
        List<CompletableFuture<JoinDecision>> decisions = new ArrayList<>(rooms.size());
        for (String room : rooms) decisions.add(auth.mayJoin(principal, room));
        String from = resume;
        // kept open past this call; answered on the I/O thread once every room is decided (the webhook may take a while)
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> CompletableFuture.allOf(decisions.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> exchange.getIoThread().execute(() -> decided(exchange, principal, rooms, decisions, from))));
    }

    private void decided(HttpServerExchange exchange, Principal principal, List<String> rooms,
                         List<CompletableFuture<JoinDecision>> decisions, String resume) {
        if (principal.expired(System.currentTimeMillis())) {
            new ApiError(401, "unauthorized", "token expired").send(exchange);
            return;
        }
        for (int i = 0; i < rooms.size(); i++) {
            JoinDecision d = JoinDecision.orUnavailable(decisions.get(i).getNow(null));
            if (!d.allowed()) {
                hub.metrics().join(PROTOCOL, d.label());
                new ApiError(d.outcome() == JoinDecision.Outcome.UNAVAILABLE ? 503 : 403, d.code(),
                        "room " + rooms.get(i) + ": " + d.message()).send(exchange);
                return;
            }
        }
        exchange.setStatusCode(200);
        exchange.setPersistent(false); // the response ends the connection: a stream is not followed by another request
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "text/event-stream; charset=utf-8")
                .put(Headers.CACHE_CONTROL, "no-cache")
                .put(ACCEL_BUFFERING, "no"); // nginx: do not buffer the stream
        SseSession session = new SseSession(exchange, principal, heartbeatMs);
        hub.open(session);
        session.closeAt(principal.closeAtMillis());
        session.start(rooms, resume);
    }

    /** The {@code room} parameters, each checked, duplicates dropped. */
    private List<String> rooms(Deque<String> values) throws ApiError {
        if (values == null || values.isEmpty()) throw ApiError.badRequest("at least one room parameter is required: " + PATH + "?room=<room>");
        LinkedHashSet<String> rooms = new LinkedHashSet<>();
        for (String room : values) {
            String problem = Rooms.problem(room);
            if (problem != null) throw ApiError.badRequest(problem);
            rooms.add(room);
        }
        if (rooms.size() > maxRooms) throw new ApiError(400, "too_many_rooms", "at most " + maxRooms + " rooms per stream");
        return List.copyOf(rooms);
    }
}

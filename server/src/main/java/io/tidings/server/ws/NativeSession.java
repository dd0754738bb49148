package io.tidings.server.ws;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.EventJson;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.JoinDecision;
import io.tidings.server.auth.Principal;
import io.tidings.server.http.Json;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Frames;
import io.tidings.server.hub.JoinResult;
import io.tidings.server.hub.Rooms;
import io.tidings.server.hub.Subscription;
import io.tidings.storage.Offset;
import io.undertow.websockets.core.WebSocketChannel;

import java.util.ArrayList;
import io.tidings.server.metrics.Metrics;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The native protocol on {@code /v1/ws} (every frame is documented in docs/protocol.md): JSON
 * objects with an {@code op}; {@code join} (live, or resuming {@code after} an offset), {@code leave},
 * {@code presence} (who else is in a joined room), {@code ping}. Errors answer with an {@code error} frame and keep the connection.
 *
 * <p>A join is authorized by the {@link Authenticator}; when that needs the webhook, the join is
 * pending until the answer arrives (a {@code leave} of the room, or a newer join of it, cancels it).
 *
 * <p>Thread safety: commands and authorization answers run on the connection's I/O thread;
 * {@code pending} is only used there.
 */
final class NativeSession extends WebSocketSession {
    private final Principal principal;
    private final Authenticator auth;
    private final int maxRooms;
    /** Joins waiting for an authorization answer: room → the join's number. I/O thread only. */
    private final Map<String, Long> pending = new HashMap<>();
    private long joins;

    NativeSession(WebSocketChannel channel, WebSocketSettings settings, Principal principal, Authenticator auth, boolean batched) {
        super(channel, settings, batched);
        this.principal = principal;
        this.auth = auth;
        this.maxRooms = settings.maxRoomsPerConnection();
    }

    void welcome() {
        Offset head = hub().log().head();
        sendNow(NativeFrames.welcome(head, principal.subject()));
        startReceiving();
    }

    @Override
    protected void receive(String text) {
        JsonNode frame;
        try {
            frame = Json.MAPPER.readTree(text);
        } catch (Exception e) {
            error("bad_request", "malformed JSON", null);
            return;
        }
        if (frame == null || !frame.isObject() || !frame.path("op").isTextual()) {
            error("bad_request", "frames are JSON objects with a string op", null);
            return;
        }
        switch (frame.get("op").asText()) {
            case "join" -> join(frame);
            case "leave" -> leave(frame);
            case "ping" -> sendNow("{\"op\":\"pong\"}");
            case "presence" -> presence(frame);
            default -> error("unknown_op", "unknown op '" + truncate(frame.get("op").asText()) + "'; expected join, leave, presence or ping", null);
        }
    }

    private void join(JsonNode frame) {
        String room = room(frame);
        if (room == null) return;
        if (principal.expired(System.currentTimeMillis())) {
            close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
            return;
        }
        boolean member = subscriptions().stream().anyMatch(s -> s.room().equals(room)) || pending.containsKey(room);
        if (!member && subscriptions().size() + pending.size() >= maxRooms) {
            error("too_many_rooms", "at most " + maxRooms + " rooms per connection", room);
            return;
        }
        if (!pending.containsKey(room) && pending.size() >= Authenticator.MAX_PENDING_JOINS) {
            error("too_many_requests", "at most " + Authenticator.MAX_PENDING_JOINS + " joins may wait for authorization at once", room);
            return;
        }
        long number = ++joins;
        pending.put(room, number);
        whenDone(auth.mayJoin(principal, room), (answer, failure) -> {
            JoinDecision decision = JoinDecision.orUnavailable(answer);
            if (!pending.remove(room, number)) return; // left, or joined again, meanwhile
            if (principal.expired(System.currentTimeMillis())) {
                close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
                return;
            }
            if (!decision.allowed()) {
                hub().metrics().join(protocol(), decision.label());
                error(decision.code(), decision.message(), room);
                return;
            }
            subscribe(room, frame);
        });
    }

    private void subscribe(String room, JsonNode frame) {
        JsonNode afterNode = frame.get("after");
        Offset after = null;
        String malformed = null;
        if (afterNode != null && !afterNode.isNull()) {
            try {
                if (!afterNode.isTextual()) throw new IllegalArgumentException("after must be an offset string");
                after = Offset.parse(afterNode.asText());
            } catch (IllegalArgumentException e) {
                malformed = e.getMessage();
            }
        }
        String why = malformed;
        join(room, room, after, result -> {
            List<byte[]> out = new ArrayList<>(2);
            out.add(Json.utf8(NativeFrames.joined(room)));
            if (why != null) out.add(Json.utf8(NativeFrames.gap(room, hub().log().firstAvailable(), "malformed")));
            else if (result.status() == JoinResult.Status.GAP) out.add(Json.utf8(NativeFrames.gap(room, result.gap())));
            return out;
        });
    }

    private void leave(JsonNode frame) {
        String room = room(frame);
        if (room == null) return;
        boolean wasPending = pending.remove(room) != null;
        if (!leave(room) && !wasPending) {
            error("not_joined", "not in room " + room, room);
            return;
        }
        sendNow("{\"op\":\"left\",\"room\":" + Json.quote(room) + "}");
    }

    /** Who is in a room this connection has joined (the join was its authorization): the first {@link #PRESENCE_MEMBERS} subjects. */
    private void presence(JsonNode frame) {
        String room = room(frame);
        if (room == null) return;
        if (subscriptions().stream().noneMatch(s -> s.room().equals(room))) {
            hub().metrics().presenceQuery(Metrics.NATIVE, "not_found");
            error("not_joined", "not in room " + room, room);
            return;
        }
        hub().metrics().presenceQuery(Metrics.NATIVE, "ok");
        io.tidings.server.hub.Presence p = hub().presence();
        io.tidings.server.hub.Presence.Count count = p.count(room);
        List<io.tidings.server.hub.Presence.Member> members = p.members(room, null, PRESENCE_MEMBERS + 1);
        StringBuilder b = new StringBuilder("{\"op\":\"presence\",\"room\":").append(Json.quote(room))
                .append(",\"subjects\":").append(count.subjects()).append(",\"connections\":").append(count.connections()).append(",\"members\":[");
        for (int i = 0; i < Math.min(PRESENCE_MEMBERS, members.size()); i++) {
            io.tidings.server.http.PresenceHandler.member(b.append(i == 0 ? "" : ","), members.get(i));
        }
        sendNow(b.append("],\"more\":").append(members.size() > PRESENCE_MEMBERS).append('}').toString());
    }

    /** Most members a native {@code presence} answer lists (the HTTP API pages through the rest). */
    static final int PRESENCE_MEMBERS = 100;

    private String room(JsonNode frame) {
        JsonNode r = frame.get("room");
        if (r == null || !r.isTextual()) {
            error("bad_request", "room must be a string", null);
            return null;
        }
        String problem = Rooms.problem(r.asText());
        if (problem != null) {
            error("bad_request", problem, null);
            return null;
        }
        return r.asText();
    }

    private void error(String code, String message, String room) {
        sendNow("{\"op\":\"error\",\"code\":" + Json.quote(code) + ",\"message\":" + Json.quote(message)
                + (room == null ? "" : ",\"room\":" + Json.quote(room)) + "}");
    }

    private static String truncate(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }

    @Override
    protected void encode(Frames frames, List<Subscription> due, List<byte[]> out) {
        List<String> rooms = coveredRoomsOf(frames.event());
        out.add(frames.get("native", rooms, ev -> EventJson.nativeFrame(ev, rooms)));
    }

    @Override
    protected byte[] liveFrame(Subscription subscription) {
        return Json.utf8(NativeFrames.live(subscription.room()));
    }

    @Override
    public String protocol() {
        return "native";
    }

    @Override
    protected int closeCode(CloseReason.Kind kind) {
        return NativeCloseCodes.of(kind);
    }

    @Override
    public String subject() {
        return principal.subject();
    }
}

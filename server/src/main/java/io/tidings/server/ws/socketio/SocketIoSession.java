package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.EventJson;
import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.Credentials;
import io.tidings.server.auth.JoinDecision;
import io.tidings.server.auth.Principal;
import io.tidings.server.http.Json;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Frames;
import io.tidings.server.hub.JoinResult;
import io.tidings.server.hub.Rooms;
import io.tidings.server.hub.Subscription;
import io.tidings.server.ws.NativeCloseCodes;
import io.tidings.server.ws.WebSocketSession;
import io.tidings.server.ws.WebSocketSettings;
import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.EventLog;
import io.tidings.storage.GapException;
import io.tidings.storage.Offset;
import io.undertow.websockets.core.WebSocketChannel;
import org.xnio.XnioExecutor;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One Socket.IO client: Engine.IO v4 over a WebSocket, with Socket.IO v5 on the main namespace
 * (frames in docs/protocol.md, "Socket.IO").
 *
 * <h2>States</h2>
 * <ul>
 *   <li>{@code AWAITING_CONNECT}: the open packet was sent; the client must CONNECT to {@code /}
 *       within the connect timeout. The {@link Authenticator} checks the CONNECT's {@code auth.token},
 *       else the upgrade's credentials (possibly asking the webhook: the CONNECT is then answered when
 *       the answer arrives). Refused credentials get CONNECT_ERROR and the state stays.</li>
 *   <li>{@code CONNECTED}: the session (sid, pid, rooms) is either fresh or restored from the
 *       {@link RecoveryStore}; join/leave events change its rooms, and every change is recorded.
 *       A DISCONNECT from the client forgets the session and returns to {@code AWAITING_CONNECT}.</li>
 * </ul>
 * Anything the reference server treats as a protocol violation closes the connection; the session
 * then stays recoverable, as it does after any other lost connection.
 *
 * <h2>Recovery</h2>
 * Each room remembers the offset it was joined at. A reconnecting client sends {@code {pid, offset}};
 * each room is rejoined from the later of the two, so every event the client has not seen is
 * replayed from the log, once, in log order, after the CONNECT reply. If any of those positions is
 * no longer in the log, or the pid is unknown or expired, or the credentials' subject is not the
 * session's, or a room is no longer granted, the client gets a fresh session instead (all or nothing).
 *
 * <h2>Authorization over time</h2>
 * Every join is decided by the {@link Authenticator} (grants, else the webhook; at most
 * {@link Authenticator#MAX_PENDING_JOINS} joins wait for it at once). A refusal is a
 * {@code credentialError} event with a {@code code}. Once the credentials have expired a join closes
 * the connection, and the hub closes it {@code credentialsGraceMs} after the expiry anyway; either
 * way the client first gets {@code credentialError} with code {@code token_expired}, then close 4001,
 * and reconnects (its {@code auth} callback can supply a renewed token; the session recovers).
 *
 * <p>Thread safety: packets, timers and authentication answers run on the connection's I/O thread,
 * which alone changes {@code state}, {@code principal}, {@code rooms} and {@code pending}; event frames are encoded by the hub's threads from
 * immutable data only. The rooms are joined under the session lock so no event slips between them.
 * The session lock may be held when {@link RecoveryStore} is called (a close callback can run inside
 * a send), never the other way round.
 */
final class SocketIoSession extends WebSocketSession {
    private enum State { AWAITING_CONNECT, CONNECTED }

    private static final byte[] PING = {'2'};
    /** How long a restore keeps its replay start positions pinned against retention. */
    private static final long PIN_AFTER_RESTORE_MS = 10_000;

    private final SocketIoSettings settings;
    private final RecoveryStore store;
    private final Authenticator auth;
    private final Credentials upgradeCredentials;
    private final String engineId;

    private volatile State state = State.AWAITING_CONNECT;
    private volatile String pid;
    private String sid;
    private volatile Principal principal; // volatile: the console reads the subject from other threads
    /** A CONNECT is waiting for authentication (or for a restore's authorization). I/O thread only. */
    private boolean connecting;
    /** The session's rooms in join order, each with the offset it was joined at. I/O thread only. */
    private final Map<String, Offset> rooms = new LinkedHashMap<>();
    /** Joins waiting for an authorization answer: room → the join's number. I/O thread only. */
    private final Map<String, Long> pending = new HashMap<>();
    private long joins;

    private XnioExecutor.Key connectTimer;
    private XnioExecutor.Key pingTimer;
    private XnioExecutor.Key pongDeadline;

    /** @param upgradeCredentials what the upgrade request presented (a CONNECT's {@code auth.token} takes precedence) */
    SocketIoSession(WebSocketChannel channel, SocketIoSettings settings, RecoveryStore store,
                    Authenticator auth, Credentials upgradeCredentials, String engineId) {
        super(channel, new WebSocketSettings(settings.maxPayloadBytes(), settings.pingIntervalMs(),
                settings.pingIntervalMs() + settings.pingTimeoutMs(), settings.maxRoomsPerConnection()));
        this.settings = settings;
        this.store = store;
        this.auth = auth;
        this.upgradeCredentials = upgradeCredentials;
        this.engineId = engineId;
    }

    /** Sends the Engine.IO open packet, starts the connect timeout and the heartbeat, starts receiving. */
    void open() {
        sendText("0{\"sid\":\"" + engineId + "\",\"upgrades\":[],\"pingInterval\":" + settings.pingIntervalMs()
                + ",\"pingTimeout\":" + settings.pingTimeoutMs() + ",\"maxPayload\":" + settings.maxPayloadBytes() + "}");
        channel.addCloseTask(ch -> onClosed());
        connectTimer = after(settings.connectTimeoutMs(), () -> {
            if (state == State.AWAITING_CONNECT && pid == null) {
                close(new CloseReason(CloseReason.Kind.IDLE, "no CONNECT within the connect timeout"));
            }
        });
        schedulePing();
        startReceiving();
    }

    public String protocol() {
        return SocketIoEndpoint.METRIC_LABEL;
    }

    // ---- Engine.IO -----------------------------------------------------------------------------

    @Override
    protected void receive(String text) {
        if (text.isEmpty()) {
            protocolError("empty Engine.IO packet");
            return;
        }
        switch (text.charAt(0)) {
            case '1' -> close(new CloseReason(CloseReason.Kind.GOING_AWAY, "client sent close"));
            case '2' -> protocolError("invalid heartbeat direction");
            case '3' -> pong();
            case '4' -> message(text.substring(1));
            case '5', '6' -> { } // upgrade / noop: nothing to do on a WebSocket-only server
            default -> protocolError("unknown Engine.IO packet type");
        }
    }

    private void schedulePing() {
        pingTimer = after(settings.pingIntervalMs(), () -> {
            pingTimer = null;
            send(PING);
            pongDeadline = after(settings.pingTimeoutMs(), this::pongOverdue);
        });
    }

    /**
     * No pong within the ping timeout. A client still busy with the frames queued before the ping
     * (or being served from the log) may not have read the ping yet: its deadline moves on — a client
     * that makes no progress at all is cut by the slow-client timeout instead (4008, resumable). An
     * idle connection that does not answer is dead.
     */
    private void pongOverdue() {
        if (queuedBytes() > 0 || isCatchingUp()) {
            pongDeadline = after(settings.pingTimeoutMs(), this::pongOverdue);
            return;
        }
        close(new CloseReason(CloseReason.Kind.IDLE, "ping timeout"));
    }

    private void pong() {
        if (pongDeadline == null) return; // unsolicited pong: ignored, like the reference server
        pongDeadline.remove();
        pongDeadline = null;
        schedulePing();
    }

    private XnioExecutor.Key after(long ms, Runnable task) {
        return channel.getIoThread().executeAfter(() -> {
            if (!isClosing()) task.run();
        }, ms, TimeUnit.MILLISECONDS);
    }

    /** Engine.IO's own heartbeat replaces the generic idle check and WebSocket pings. */
    @Override
    protected void tick(long nowNanos) {}

    private void onClosed() {
        for (XnioExecutor.Key k : new XnioExecutor.Key[]{connectTimer, pingTimer, pongDeadline}) {
            if (k != null) k.remove();
        }
        String p = pid;
        if (state == State.CONNECTED && p != null) store.release(p, this);
    }

    // ---- Socket.IO -----------------------------------------------------------------------------

    private void message(String payload) {
        SocketIoPacket p;
        try {
            p = SocketIoPacket.parse(payload);
        } catch (SocketIoPacket.Malformed e) {
            protocolError(e.getMessage());
            return;
        }
        boolean connectedHere = state == State.CONNECTED && p.namespace().equals("/");
        if (p.type() == SocketIoPacket.Type.CONNECT && !connectedHere) {
            connect(p);
        } else if (connectedHere && p.type() == SocketIoPacket.Type.EVENT) {
            event(p);
        } else if (connectedHere && p.type() == SocketIoPacket.Type.ACK) {
            // we never ask for acks: nothing waits for this one (the reference ignores unknown ids too)
        } else if (connectedHere && p.type() == SocketIoPacket.Type.DISCONNECT) {
            disconnect();
        } else {
            protocolError("invalid state: " + p.type() + " for namespace " + p.namespace());
        }
    }

    private void connect(SocketIoPacket p) {
        if (!p.namespace().equals("/")) {
            sendText("44" + p.namespace() + ",{\"message\":\"Invalid namespace\"}");
            return;
        }
        if (connecting) {
            protocolError("invalid state: CONNECT while the previous CONNECT is being authenticated");
            return;
        }
        JsonNode data = p.data() == null ? Json.MAPPER.createObjectNode() : p.data();
        JsonNode t = data.get("token");
        if (t != null && !t.isNull() && !t.isTextual()) {
            refuseConnect("auth.token must be a string", "unauthorized");
            return;
        }
        connecting = true;
        whenDone(auth.authenticate(upgradeCredentials.withConnectToken(t != null && t.isTextual() ? t.asText() : null)),
                (who, failure) -> {
                    if (failure != null) {
                        connecting = false;
                        AuthException e = Authenticator.cause(failure);
                        refuseConnect(e.getMessage(), e.retryable() ? "auth_unavailable" : "unauthorized");
                        return;
                    }
                    authenticated(who, data);
                });
    }

    private void refuseConnect(String message, String code) {
        sendText("44{\"message\":" + Json.quote(message) + ",\"data\":{\"code\":\"" + code + "\"}}");
    }

    /** The CONNECT's credentials were accepted: recover the session it names, or start a fresh one. */
    private void authenticated(Principal who, JsonNode data) {
        principal = who;
        closeAt(who.closeAtMillis());
        if (connectTimer != null) {
            connectTimer.remove();
            connectTimer = null;
        }
        JsonNode wantPid = data.get("pid"), wantOffset = data.get("offset");
        if (wantPid == null || !wantPid.isTextual()) {
            connecting = false;
            fresh();
            return;
        }
        String offset = wantOffset != null && wantOffset.isTextual() ? wantOffset.asText() : null;
        whenDone(store.find(wantPid.asText()), (rec, failure) -> recover(who, rec, offset));
    }

    /** Recovers session {@code rec} (null: unknown or expired) for {@code who}, or starts a fresh one. */
    private void recover(Principal who, RecoveryStore.Record rec, String offset) {
        if (rec == null || !rec.subject().equals(who.subject())) {
            hub().metrics().resume(protocol(), "gap");
            connecting = false;
            fresh();
            return;
        }
        whenDone(allAllowed(rec.rooms().keySet()), (allowed, failure) -> {
            connecting = false;
            boolean recovered = Boolean.TRUE.equals(allowed) && restore(rec, offset);
            hub().metrics().resume(protocol(), recovered ? "recovered" : "gap");
            if (!recovered) fresh();
        });
    }

    /** True if the principal may still join every one of {@code rooms} (asking the webhook where needed). */
    private CompletableFuture<Boolean> allAllowed(Collection<String> rooms) {
        List<CompletableFuture<JoinDecision>> answers = new ArrayList<>(rooms.size());
        for (String room : rooms) answers.add(auth.mayJoin(principal, room));
        return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
                .thenApply(done -> answers.stream().allMatch(a -> a.join().allowed()));
    }

    private void fresh() {
        String newPid = SocketIoEndpoint.newId(16);
        sid = SocketIoEndpoint.newId(15);
        rooms.clear();
        store.create(new RecoveryStore.Record(newPid, sid, principal.subject(), Map.of(), true, 0), this);
        pid = newPid;
        state = State.CONNECTED;
        send(connectFrame());
    }

    /**
     * Restores session {@code rec} (its subject and rooms already authorized) if everything it missed
     * is still in the log; false (and nothing sent) if the client must get a fresh session instead.
     *
     * @param offsetText the offset of the last event the client received, or null if it received none
     */
    private boolean restore(RecoveryStore.Record rec, String offsetText) {
        String wantPid = rec.pid();
        EventLog log = hub().log();
        Offset seen = null;
        if (offsetText != null) {
            try {
                seen = Offset.parse(offsetText);
            } catch (IllegalArgumentException e) {
                return false;
            }
        }
        // Each room replays from the later of: where it was joined, the last event the client saw.
        Map<String, Offset> from = new LinkedHashMap<>();
        for (Map.Entry<String, Offset> r : rec.rooms().entrySet()) {
            Offset joined = r.getValue();
            if (!joined.epoch().equals(log.epoch()) || (seen != null && !seen.epoch().equals(log.epoch()))) {
                store.discard(wantPid, null); // another log: this history is gone
                return false;
            }
            from.put(r.getKey(), seen == null || seen.index() < joined.index() ? joined : seen);
        }
        // Hold a cursor at every start position: retention cannot delete what we are about to replay,
        // neither before the joins nor until the catch-up worker has opened its own cursor. Not needed
        // where the hub's recent events hold everything after the start: the catch-up reads them from
        // memory and opens no cursor (opening 2,000 here was most of a reconnect storm's I/O time).
        List<Cursor> pins = new ArrayList<>();
        try {
            Set<Offset> starts = new LinkedHashSet<>(from.values());
            for (Offset start : starts) if (!hub().holdsEventsAfter(start)) pins.add(log.cursorAfter(start));
        } catch (GapException e) {
            closeAll(pins);
            store.discard(wantPid, null);
            return false;
        }
        try {
            RecoveryStore.Taken taken = store.take(wantPid, this);
            if (taken == null) return false;
            if (taken.displaced() instanceof SocketIoSession previous) {
                // A connection the client has abandoned (half-open) and the server not yet noticed.
                previous.close(new CloseReason(CloseReason.Kind.GOING_AWAY, "session resumed on a newer connection"));
            }
            pid = taken.record().pid();
            sid = taken.record().sid();
            rooms.clear();
            rooms.putAll(rec.rooms());
            state = State.CONNECTED; // from here on, a closed connection releases the session
            boolean complete = true;
            synchronized (this) {
                // Nothing is delivered while we hold the lock, so CONNECT, sent last, still precedes every event.
                for (Map.Entry<String, Offset> r : from.entrySet()) {
                    JoinResult result = join(r.getKey(), r.getKey(), r.getValue(), x -> List.of());
                    if (result == null) return true; // closed meanwhile
                    complete &= result.status() != JoinResult.Status.GAP; // cannot happen while pinned
                }
                if (complete) {
                    send(connectFrame());
                } else {
                    for (String room : from.keySet()) leave(room);
                }
            }
            if (!complete) { // never a partial replay: forget this session, start a fresh one
                store.discard(pid, this);
                pid = null;
                return false;
            }
            return true;
        } finally {
            // Closed on this I/O thread, where they were opened (cursors are single-threaded).
            channel.getIoThread().executeAfter(() -> closeAll(pins), PIN_AFTER_RESTORE_MS, TimeUnit.MILLISECONDS);
        }
    }

    private static void closeAll(List<Cursor> cursors) {
        for (Cursor c : cursors) {
            try {
                c.close();
            } catch (RuntimeException ignored) {
                // the log may have closed meanwhile (shutdown)
            }
        }
    }

    private byte[] connectFrame() {
        return Json.utf8("40{\"sid\":\"" + sid + "\",\"pid\":\"" + pid + "\"}");
    }

    private void disconnect() {
        synchronized (this) {
            for (String room : rooms.keySet()) leave(room);
        }
        rooms.clear();
        pending.clear(); // their answers find nothing to do
        String p = pid;
        state = State.AWAITING_CONNECT;
        pid = null;
        sid = null;
        store.discard(p, this);
    }

    private void event(SocketIoPacket p) {
        switch (p.eventName()) {
            case "join" -> onJoin(p);
            case "leave" -> onLeave(p);
            default -> ack(p, "{\"ok\":false,\"message\":" + Json.quote("unknown event '" + truncate(p.eventName()) + "'; expected join or leave") + "}");
        }
    }

    private void onJoin(SocketIoPacket p) {
        String room;
        try {
            room = RoomContract.room(p.firstArgument());
        } catch (IllegalArgumentException e) {
            String message = "invalid join: " + e.getMessage();
            sendText("42[\"credentialError\",{\"message\":" + Json.quote(message) + ",\"code\":\"bad_request\"}]");
            ack(p, refused(null, message));
            return;
        }
        if (principal.expired(System.currentTimeMillis())) {
            close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
            return;
        }
        boolean member = rooms.containsKey(room) || pending.containsKey(room);
        if (!member && rooms.size() + pending.size() >= settings.maxRoomsPerConnection()) {
            refuseJoin(p, room, "too_many_rooms", "at most " + settings.maxRoomsPerConnection() + " rooms per connection");
            return;
        }
        if (!pending.containsKey(room) && pending.size() >= Authenticator.MAX_PENDING_JOINS) {
            refuseJoin(p, room, "too_many_requests",
                    "at most " + Authenticator.MAX_PENDING_JOINS + " joins may wait for authorization at once");
            return;
        }
        long number = ++joins;
        String session = pid;
        pending.put(room, number);
        whenDone(auth.mayJoin(principal, room), (answer, failure) -> {
            JoinDecision decision = JoinDecision.orUnavailable(answer);
            if (!Objects.equals(pid, session)) return; // DISCONNECTed meanwhile: that socket is gone
            if (!pending.remove(room, number)) {
                // a newer join of the room decides the subscription, a leave cancelled it: just answer this one
                ack(p, !pending.containsKey(room) ? refused(room, "left before the join was authorized")
                        : decision.allowed() ? ok(room) : refused(room, decision.message()));
                return;
            }
            if (principal.expired(System.currentTimeMillis())) {
                close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
                return;
            }
            if (!decision.allowed()) {
                hub().metrics().join(protocol(), decision.label());
                refuseJoin(p, room, decision.code(), decision.message());
                return;
            }
            subscribe(p, room);
        });
    }

    private void subscribe(SocketIoPacket p, String room) {
        if (rooms.containsKey(room)) {
            ack(p, ok(room));
            return;
        }
        Offset at;
        synchronized (this) {
            // Joined at the head as read under the lock: the subscription's exact start, which a
            // recovery without any client offset replays from.
            at = hub().log().head();
            if (join(room, room, at, x -> List.of()) == null) return;
        }
        rooms.put(room, at);
        // acknowledged once the session record holding the room is written: a recovery includes it
        CompletableFuture<Void> recorded = store.rooms(pid, this, rooms);
        if (p.ackId() >= 0) whenDone(recorded, (written, failure) -> ack(p, ok(room)));
    }

    /** {@code credentialError} naming the room, with a code (docs/protocol.md), and a refusing ack. */
    private void refuseJoin(SocketIoPacket p, String room, String code, String message) {
        sendText("42[\"credentialError\",{\"message\":" + Json.quote(message) + ",\"code\":" + Json.quote(code)
                + ",\"room\":" + Json.quote(room) + "," + RoomContract.describe(room) + "}]");
        ack(p, refused(room, message));
    }

    private void onLeave(SocketIoPacket p) {
        String room;
        try {
            room = RoomContract.room(p.firstArgument());
        } catch (IllegalArgumentException e) {
            ack(p, refused(null, "invalid leave: " + e.getMessage()));
            return;
        }
        boolean wasPending = pending.remove(room) != null;
        if (rooms.remove(room) == null) {
            ack(p, wasPending ? ok(room) : refused(room, "not in room " + room));
            return;
        }
        leave(room);
        store.rooms(pid, this, rooms);
        ack(p, ok(room));
    }

    private static String ok(String room) {
        return "{\"ok\":true,\"room\":" + Json.quote(room) + "}";
    }

    private static String refused(String room, String message) {
        return "{\"ok\":false," + (room == null ? "" : "\"room\":" + Json.quote(room) + ",") + "\"message\":" + Json.quote(message) + "}";
    }

    private void ack(SocketIoPacket p, String json) {
        if (p.ackId() >= 0) send(ackFrame(p.ackId(), json));
    }

    private static byte[] ackFrame(long id, String json) {
        return Json.utf8("43" + id + "[" + json + "]");
    }

    private void protocolError(String why) {
        close(new CloseReason(CloseReason.Kind.PROTOCOL_ERROR, why));
    }

    private void sendText(String text) {
        send(Json.utf8(text));
    }

    private static String truncate(String s) {
        return s.length() > 64 ? s.substring(0, 64) + "…" : s;
    }

    // ---- delivery (hub) ------------------------------------------------------------------------

    /**
     * {@code 42["<name>",<data>,"<offset>"]}: one frame per event per client, named after the first
     * of the event's rooms that the client's rooms cover, shared by every client it is due to.
     */
    @Override
    protected void encode(Frames frames, List<Subscription> due, List<byte[]> out) {
        Event e = frames.event();
        String room = matchedRoom(e, due);
        out.add(frames.get("socketio", room, ev -> EventJson.withData(
                "42[" + Json.quote(RoomContract.eventName(room, ev.type())) + ",", ev, ",\"" + ev.offset() + "\"]")));
    }

    private static String matchedRoom(Event e, List<Subscription> due) {
        for (String r : e.rooms()) for (Subscription s : due) if (Rooms.within(r, s.room())) return r;
        return e.rooms().get(0);
    }

    /** Socket.IO has no "live" announcement: replayed and live events look the same. */
    @Override
    protected byte[] liveFrame(Subscription subscription) {
        return null;
    }

    @Override
    protected int closeCode(CloseReason.Kind kind) {
        return NativeCloseCodes.of(kind);
    }

    /** Expired credentials: {@code credentialError} with code {@code token_expired} first, then close 4001. */
    @Override
    protected void close(CloseReason reason) {
        if (!isClosing() && reason.kind() == CloseReason.Kind.EXPIRED) {
            sendText("42[\"credentialError\",{\"message\":" + Json.quote(reason.message()) + ",\"code\":\"token_expired\"}]");
        }
        super.close(reason);
    }

    @Override
    public String subject() {
        return principal == null ? "" : principal.subject();
    }
}

package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.JoinDecision;
import io.tidings.server.auth.Principal;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Frames;
import io.tidings.server.hub.JoinResult;
import io.tidings.server.hub.Subscription;
import io.tidings.server.http.Json;
import io.tidings.server.ws.NativeCloseCodes;
import io.tidings.server.ws.WebSocketSession;
import io.tidings.storage.Cursor;
import io.tidings.storage.EventLog;
import io.tidings.storage.GapException;
import io.tidings.storage.Offset;
import io.undertow.websockets.core.WebSocketChannel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * One ActionCable connection ({@code actioncable-v1-json}, or AnyCable's extended
 * {@code actioncable-v1-ext-json}); every frame is documented in docs/protocol.md, "ActionCable".
 *
 * <p>Each ActionCable subscription is a hub subscription keyed by its identifier. Their states:
 * <ul>
 *   <li><b>awaiting history</b> (extended, restored sessions only): known from the old session, not
 *       yet joined; the client's {@code history} command says where to resume, then it streams.</li>
 *   <li><b>streaming</b>: joined in the hub; replaying from a history position, then live. A history
 *       request is answered with {@code confirm_history} when the hub reports the subscription live
 *       (after the replayed messages), or {@code reject_history} at once if the position cannot be
 *       served (the subscription then streams live from the head).</li>
 * </ul>
 * Commands other than subscribe, unsubscribe and history ({@code message}, {@code whisper},
 * {@code pong}, unknown ones) are ignored, as Rails ignores actions a channel does not define:
 * Tidings channels only stream.
 *
 * <p>Subscriptions are authorized by the {@link Authenticator}; one that needs the webhook's answer is
 * pending until it arrives (a duplicate subscribe waits for the same answer; unsubscribe cancels).
 *
 * <p>Thread safety: commands and authorization answers arrive on the connection's I/O thread one at a
 * time ({@code pendingSubscribes} is only used there); the maps below
 * are guarded by the session lock ({@code this}, shared with {@link io.tidings.server.hub.Session}),
 * which the hub also holds when it calls {@link #encode} and {@link #liveFrame}.
 */
final class CableSession extends WebSocketSession {
    static final String METRIC_LABEL = "actioncable";
    static final String PROTOCOL = "actioncable-v1-json";
    static final String EXTENDED_PROTOCOL = "actioncable-v1-ext-json";

    private static final Logger LOG = Logger.getLogger(CableSession.class.getName());

    /** Where a history request starts: replay after {@code after} (null: live), or rejected. */
    private record HistoryStart(Offset after, boolean rejected) {
        static final HistoryStart NONE = new HistoryStart(null, false);
        static final HistoryStart REJECTED = new HistoryStart(null, true);
    }

    private final Principal principal;
    private final Authenticator auth;
    private final CableSettings settings;
    private final RestorableSessions restorable;
    private final boolean extended;
    private final String sid;
    private final int maxSubscriptions;
    private final long socketPingIntervalNanos;
    private volatile long lastSocketPingNanos = System.nanoTime();
    private volatile boolean takenOver;
    /** When this session's subscriptions were last put in the cluster's session table. */
    private volatile long lastPutMillis = System.currentTimeMillis();

    // guarded by this
    private final Map<String, CableSubscription> streaming = new LinkedHashMap<>();
    private final Map<String, CableSubscription> awaitingHistory = new LinkedHashMap<>();
    private final Map<String, Subscription> historyPending = new HashMap<>();
    private boolean snapshotTaken;
    /** Subscribes waiting for an authorization answer: identifier → the subscribe's number. I/O thread only. */
    private final Map<String, Long> pendingSubscribes = new HashMap<>();
    private long subscribes;

    CableSession(WebSocketChannel channel, Principal principal, Authenticator auth, CableSettings settings,
                 RestorableSessions restorable, boolean extended) {
        super(channel, settings.socket());
        this.principal = principal;
        this.auth = auth;
        this.settings = settings;
        this.restorable = restorable;
        this.extended = extended;
        this.sid = extended ? RestorableSessions.newSid() : null;
        this.maxSubscriptions = settings.socket().maxRoomsPerConnection();
        this.socketPingIntervalNanos = settings.socketPingIntervalMs() * 1_000_000L;
    }

    /**
     * Sends the welcome (restoring session {@code restoreSid} if it can: in cluster mode once the
     * session table answered) and starts receiving commands.
     */
    void welcome(String restoreSid) {
        if (!extended || restoreSid == null) welcome(null, null);
        else whenDone(restorable.take(restoreSid, principal.subject()), (old, failure) -> welcome(restoreSid, old));
    }

    private void welcome(String restoreSid, RestorableSessions.Snapshot old) {
        StringBuilder w = new StringBuilder("{\"type\":\"welcome\"");
        if (extended) {
            w.append(",\"sid\":").append(Json.quote(sid));
            if (restoreSid != null) hub().metrics().resume(METRIC_LABEL, old != null ? "recovered" : "gap");
            if (old != null) {
                w.append(",\"restored\":true,\"restored_ids\":[");
                int n = 0;
                synchronized (this) {
                    for (CableSubscription s : old.subscriptions()) {
                        // only what is authorized without asking the webhook again (granted or cached)
                        JoinDecision d = auth.decideNow(principal, s.room());
                        if (d == null || !d.allowed() || awaitingHistory.size() >= maxSubscriptions) continue;
                        awaitingHistory.put(s.key(), s);
                        w.append(n++ == 0 ? "" : ",").append(s.identifierJson());
                    }
                }
                w.append(']');
            }
            restorable.started(sid, this);
            if (old != null) subscriptionsChanged();
        }
        send(Json.utf8(w.append('}').toString()));
        startReceiving();
        if (extended) channel.addCloseTask(ch -> offIoThread(this::ended));
    }

    // ---- commands ---------------------------------------------------------------------------

    @Override
    protected void receive(String text) {
        CableCommand c = CableCommand.parse(text);
        if (c == null || c.command() == null) {
            LOG.fine(() -> "ignoring a frame that is not an ActionCable command from " + remoteAddress());
            return;
        }
        switch (c.command()) {
            case "subscribe" -> subscribe(c);
            case "unsubscribe" -> unsubscribe(c);
            case "history" -> {
                if (extended) history(c);
            }
            case "join", "leave", "presence" -> {
                if (extended) presence(c);
            }
            default -> { } // message, whisper, pong, anything else: nothing to do for a streaming-only gateway
        }
    }

    private void subscribe(CableCommand c) {
        String key = c.identifier(), literal = c.identifierJson();
        if (key == null) return; // nothing to answer to
        if (expired()) return;
        boolean wantsHistory = extended && c.history() != null;
        synchronized (this) {
            awaitingHistory.remove(key); // the client subscribes anew rather than resuming it
            if (streaming.containsKey(key)) {
                // Duplicate (clients resend until answered): answer again, keep streaming as is.
                send(CableFrames.typed(literal, "confirm_subscription"));
                if (wantsHistory && !historyPending.containsKey(key)) send(CableFrames.typed(literal, "confirm_history"));
                return;
            }
            if (pendingSubscribes.containsKey(key)) return; // answered when the authorization arrives
            if (streaming.size() + awaitingHistory.size() + pendingSubscribes.size() >= maxSubscriptions
                    || pendingSubscribes.size() >= Authenticator.MAX_PENDING_JOINS) {
                send(CableFrames.typed(literal, "reject_subscription"));
                return;
            }
        }
        ChannelRoutes.Route route = settings.channels().route(key, principal.subject());
        if (route.rejected()) {
            hub().metrics().join(METRIC_LABEL, "forbidden");
            LOG.fine(() -> "rejecting subscription " + key + " of " + principal.subject() + ": " + route.rejection());
            send(CableFrames.typed(literal, "reject_subscription"));
            return;
        }
        String room = route.room();
        long number = ++subscribes;
        pendingSubscribes.put(key, number);
        whenDone(auth.mayJoin(principal, room), (answer, failure) -> {
            if (!pendingSubscribes.remove(key, number)) return; // unsubscribed meanwhile
            if (expired()) return;
            JoinDecision decision = JoinDecision.orUnavailable(answer);
            if (!decision.allowed()) {
                hub().metrics().join(METRIC_LABEL, decision.label());
                LOG.fine(() -> "rejecting subscription " + key + " of " + principal.subject() + ": " + decision.message());
                send(CableFrames.typed(literal, "reject_subscription"));
                return;
            }
            streamRoom(c, key, literal, room, wantsHistory);
        });
    }

    private void streamRoom(CableCommand c, String key, String literal, String room, boolean wantsHistory) {
        HistoryStart start = wantsHistory ? historyStart(c.history(), room) : HistoryStart.NONE;
        join(key, room, start.after(), result -> {
            streaming.put(key, new CableSubscription(key, literal, room));
            List<byte[]> out = new ArrayList<>(2);
            out.add(CableFrames.typed(literal, "confirm_subscription"));
            if (wantsHistory) historyOutcome(start, result, key, literal, out);
            return out;
        });
        subscriptionsChanged();
        // @anycable/core repeats a presence join inside its subscribe after a reconnect
        if (extended && c.presence() != null && c.presence().has("info")) hub().presence().share(room, this, c.presence().get("info").toString());
    }

    /**
     * AnyCable presence: {@code join} shares {@code presence.info} for the subscription's room under
     * the token's subject (the client's own {@code presence.id} is not trusted), {@code leave} stops
     * sharing, {@code presence} answers the room's presence set. Join and leave have no answer (as
     * in AnyCable); a command for an identifier that is not streaming answers a presence error.
     */
    private void presence(CableCommand c) {
        if (c.identifierJson() == null) return;
        CableSubscription sub;
        synchronized (this) {
            sub = streaming.get(c.identifier());
        }
        io.tidings.server.hub.Presence presence = hub().presence();
        boolean known = sub != null && switch (c.command()) {
            case "join" -> presence.share(sub.room(), this, c.presence() != null && c.presence().has("info")
                    ? c.presence().get("info").toString() : "null");
            case "leave" -> presence.share(sub.room(), this, null);
            default -> true;
        };
        if (!c.command().equals("presence")) return;
        hub().metrics().presenceQuery(METRIC_LABEL, known ? "ok" : "not_found");
        send(known ? CableFrames.presenceInfo(c.identifierJson(), presence.shared(sub.room()))
                : Json.utf8("{\"type\":\"presence\",\"identifier\":" + c.identifierJson() + ",\"message\":{\"type\":\"error\"}}"));
    }

    /**
     * AnyCable pushes a room's presence changes to its subscribers ({@code join} with the record,
     * {@code leave}); the client's presence cache ({@code channel.presence.info()}) follows them.
     */
    @Override
    protected void presenceChanged(io.tidings.server.hub.Presence.SharedChange change) {
        if (!extended) return;
        synchronized (this) {
            for (CableSubscription sub : streaming.values()) {
                if (sub.room().equals(change.room())) send(CableFrames.presenceChange(sub.identifierJson(), change.subject(), change.info()));
            }
        }
    }

    private void history(CableCommand c) {
        String key = c.identifier(), literal = c.identifierJson();
        if (key == null) return;
        if (expired()) return;
        CableSubscription known;
        synchronized (this) {
            known = awaitingHistory.remove(key);
            if (known == null) known = streaming.get(key);
        }
        if (known == null) {
            send(CableFrames.typed(literal, "reject_history"));
            return;
        }
        String room = known.room();
        HistoryStart start = c.history() == null ? HistoryStart.NONE : historyStart(c.history(), room);
        join(key, room, start.after(), result -> {
            streaming.put(key, new CableSubscription(key, literal, room));
            List<byte[]> out = new ArrayList<>(1);
            historyOutcome(start, result, key, literal, out);
            return out;
        });
    }

    private void unsubscribe(CableCommand c) {
        String key = c.identifier();
        if (key == null) return;
        leave(key);
        pendingSubscribes.remove(key);
        synchronized (this) {
            streaming.remove(key);
            awaitingHistory.remove(key);
            historyPending.remove(key);
        }
        subscriptionsChanged();
    }

    /** Cluster mode: puts this session's subscriptions in the session table, where any node can restore them. */
    private void subscriptionsChanged() {
        if (!extended) return;
        RestorableSessions.Snapshot s;
        synchronized (this) {
            if (snapshotTaken) return;
            s = snapshot();
        }
        lastPutMillis = s.endedAtMillis();
        restorable.changed(sid, this, s);
    }

    @Override
    protected void tick(long nowNanos) {
        super.tick(nowNanos);
        if (extended && restorable.refreshDue(lastPutMillis, System.currentTimeMillis())) subscriptionsChanged();
    }

    /** Under the lock (inside a join's reply). */
    private void historyOutcome(HistoryStart start, JoinResult result, String key, String literal, List<byte[]> out) {
        if (start.rejected() || result.status() == JoinResult.Status.GAP) {
            historyPending.remove(key);
            out.add(CableFrames.typed(literal, "reject_history"));
        } else {
            historyPending.put(key, result.subscription()); // confirmed by liveFrame once caught up
        }
    }

    /**
     * Where to resume a subscription to {@code room}: after the client's position for the stream
     * (same epoch required), else from its {@code since} time (unix seconds), else live.
     */
    private HistoryStart historyStart(JsonNode history, String room) {
        EventLog log = hub().log();
        JsonNode position = history.path("streams").path(room);
        if (!position.isMissingNode() && !position.isNull()) {
            JsonNode epoch = position.path("epoch"), offset = position.path("offset");
            if (!epoch.isTextual() || !offset.isIntegralNumber() || !offset.canConvertToLong() || offset.asLong() < 0) {
                return HistoryStart.REJECTED;
            }
            if (!epoch.asText().equals(log.epoch())) return HistoryStart.REJECTED; // another log: positions mean nothing here
            return new HistoryStart(new Offset(log.epoch(), offset.asLong()), false);
        }
        JsonNode since = history.get("since");
        if (since != null && since.isNumber()) {
            long seconds = Math.max(0, since.asLong());
            long millis = seconds > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : seconds * 1000;
            Offset at;
            try (Cursor cursor = log.cursorAtTime(millis)) {
                at = cursor.position();
            }
            // Everything retained is newer than 'since': complete only if retention never deleted anything.
            if (at.index() < log.firstAvailable().index() && retentionDeletedEvents(log)) return HistoryStart.REJECTED;
            return new HistoryStart(at, false);
        }
        return HistoryStart.NONE;
    }

    private static boolean retentionDeletedEvents(EventLog log) {
        try {
            log.cursorAfter(Offset.start(log.epoch())).close();
            return false;
        } catch (GapException e) {
            return true;
        }
    }

    private boolean expired() {
        if (!principal.expired(System.currentTimeMillis())) return false;
        close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
        return true;
    }

    // ---- delivery ---------------------------------------------------------------------------

    @Override
    protected void encode(Frames frames, List<Subscription> due, List<byte[]> out) {
        for (Subscription s : due) {
            CableSubscription c = streaming.get(s.key());
            if (c == null) continue;
            String literal = c.identifierJson();
            if (extended) {
                String room = s.room();
                out.add(frames.get("cable-ext", java.util.List.of(room, literal), e -> CableFrames.extendedMessage(e, literal, room)));
            } else {
                out.add(frames.get("cable", literal, e -> CableFrames.message(e, literal)));
            }
        }
    }

    @Override
    protected byte[] liveFrame(Subscription subscription) {
        String key = subscription.key();
        if (historyPending.get(key) != subscription) return null;
        historyPending.remove(key);
        CableSubscription c = streaming.get(key);
        return c == null ? null : CableFrames.typed(c.identifierJson(), "confirm_history");
    }

    @Override
    protected void heartbeat() {
        send(CableFrames.ping(System.currentTimeMillis() / 1000));
        long now = System.nanoTime();
        if (now - lastSocketPingNanos >= socketPingIntervalNanos) {
            lastSocketPingNanos = now;
            super.heartbeat(); // a WebSocket ping: the client's automatic pong keeps the idle timeout at bay
        }
    }

    @Override
    public String protocol() {
        return METRIC_LABEL;
    }

    @Override
    protected int closeCode(CloseReason.Kind kind) {
        return NativeCloseCodes.of(kind); // ActionCable clients ignore close codes; operators see the same ones as native
    }

    @Override
    protected void close(CloseReason reason) {
        if (!isClosing()) {
            byte[] frame = switch (reason.kind()) {
                case UNAUTHORIZED -> settings.disconnectFrames().unauthorized();
                case EXPIRED -> settings.disconnectFrames().expired();
                case GOING_AWAY -> takenOver ? null : settings.disconnectFrames().serverRestart();
                default -> null;
            };
            if (frame != null) send(frame);
        }
        super.close(reason);
    }

    // ---- session restore (extended protocol) ------------------------------------------------

    /** The connection closed: keep the subscriptions for a restore, unless a new connection took them. */
    /**
     * Runs a close task's work on a worker thread. Undertow runs close tasks on the I/O thread while
     * holding the channel's monitor; {@link #ended()} takes the session lock, and a sender holds the
     * session lock while it waits for that monitor: done on the I/O thread, that deadlocked the
     * dispatcher (no live event for anyone) and the I/O thread as soon as an extended-protocol client
     * dropped mid-stream (ClientsDroppingDuringFanOutTest). Inline only once the server is stopping.
     */
    private void offIoThread(Runnable task) {
        try {
            channel.getWorker().execute(task);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            task.run();
        }
    }

    private void ended() {
        synchronized (this) {
            if (snapshotTaken) return;
            snapshotTaken = true;
            restorable.ended(sid, this, snapshot());
        }
    }

    /**
     * A new connection restores this session while this connection is still open: hand over the
     * subscriptions and close. Null if the session already ended or was taken.
     */
    RestorableSessions.Snapshot retire() {
        RestorableSessions.Snapshot s;
        synchronized (this) {
            if (snapshotTaken) return null;
            snapshotTaken = true;
            s = snapshot();
        }
        takenOver = true;
        close(new CloseReason(CloseReason.Kind.GOING_AWAY, "session restored on a new connection"));
        return s;
    }

    /** Caller holds the lock. */
    private RestorableSessions.Snapshot snapshot() {
        List<CableSubscription> subs = new ArrayList<>(streaming.values());
        subs.addAll(awaitingHistory.values());
        return new RestorableSessions.Snapshot(principal.subject(), List.copyOf(subs), System.currentTimeMillis());
    }

    @Override
    public String toString() {
        return "CableSession[" + principal.subject() + (extended ? ", sid " + sid : "") + ", " + remoteAddress() + "]";
    }

    @Override
    public String subject() {
        return principal.subject();
    }
}

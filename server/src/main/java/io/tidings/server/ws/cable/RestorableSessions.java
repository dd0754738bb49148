package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.http.Json;
import io.tidings.storage.SessionTable;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;

/**
 * Session restore for the extended protocol ({@code actioncable-v1-ext-json}): every such session
 * gets a random {@code sid} in its welcome; when its connection ends, its subscriptions are kept
 * here for {@code cableSessionTtlMs}, so a client reconnecting with {@code ?sid=} (or the header
 * {@code X-ANYCABLE-RESTORE-SID}) gets them back without subscribing again.
 *
 * <p>What is kept is only which subscriptions existed, never a delivery position: what the client
 * actually received is known only to the client, which sends it back in its {@code history}
 * command right after a restored welcome. Kept in memory: after a gateway restart no session is
 * restorable, the client subscribes again with its positions in the subscribe command, and gets
 * the same events (see docs/protocol.md, "ActionCable").
 *
 * <p>A session is restored only for the same token subject, and at most once. If the old
 * connection is still open (the server has not noticed it is gone), the new one takes it over.
 * Memory is bounded by {@code maxEnded}; the oldest ended sessions are dropped first.
 *
 * <h2>Cluster mode: the sessions in a {@link SessionTable}</h2>
 * With the cluster's table, every session's subscriptions are put under {@code cable/<sid>}
 * (JSON: {@code {"v":1,"sub":…,"subs":[{"key","identifier","room"},…],"at":<ms>}}) whenever they
 * change, again every third of the TTL while the connection lasts ({@link #refresh}), and when it
 * ends; they expire a TTL after the last put. So a client restores its session on any node, also
 * after its node was killed. Taking a session removes its record; the node whose connection still
 * holds it sees that removal and closes the connection. Two nodes taking one sid at the same moment
 * could both restore it (the table has no compare-and-set); the client only ever uses one.
 * Memory: the table holds every unexpired session of the cluster; {@code maxEnded} does not apply.
 *
 * <p>Thread-safe: live sessions are a concurrent map; ended ones are guarded by {@code this}.
 */
final class RestorableSessions {
    private static final Logger LOG = Logger.getLogger(RestorableSessions.class.getName());
    static final String KEY_PREFIX = "cable/";
    /** The subscriptions of an ended session. */
    record Snapshot(String subject, List<CableSubscription> subscriptions, long endedAtMillis) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final long ttlMillis;
    private final int maxEnded;
    private final Map<String, CableSession> live = new ConcurrentHashMap<>();
    private final LinkedHashMap<String, Snapshot> ended = new LinkedHashMap<>(); // oldest first
    /** The cluster's table, or null: ended sessions are kept in {@code ended}, in memory. */
    private final SessionTable table;

    RestorableSessions(long ttlMillis, int maxEnded, SessionTable table) {
        this.ttlMillis = ttlMillis;
        this.maxEnded = maxEnded;
        this.table = table;
        if (table != null) table.onForeignChange(this::changedElsewhere);
    }

    private boolean enabled() {
        return ttlMillis > 0 && maxEnded > 0;
    }

    /** Another node wrote or took session {@code key}: a connection here that holds it hands it over. */
    private void changedElsewhere(String key, byte[] value) {
        if (!key.startsWith(KEY_PREFIX)) return;
        CableSession here = live.get(key.substring(KEY_PREFIX.length()));
        if (here != null && here.retire() != null) live.remove(key.substring(KEY_PREFIX.length()), here);
    }

    /** Cluster mode: the subscriptions of live session {@code sid} changed (or are due a refresh): put them. */
    void changed(String sid, CableSession session, Snapshot snapshot) {
        if (table != null && enabled() && live.get(sid) == session) put(sid, snapshot);
    }

    /** True when a live session should put its subscriptions again ({@link #changed}) to keep them from expiring. */
    boolean refreshDue(long lastPutMillis, long nowMillis) {
        return table != null && nowMillis - lastPutMillis > ttlMillis / 3;
    }

    private void put(String sid, Snapshot snapshot) {
        table.put(KEY_PREFIX + sid, encode(snapshot), ttlMillis).whenComplete((ok, failure) -> {
            if (failure != null) LOG.warning("cannot put cable session " + sid + " in the session table: " + failure.getMessage());
        });
    }

    /** A new session id: 128 random bits, URL-safe. */
    static String newSid() {
        byte[] b = new byte[16];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    void started(String sid, CableSession session) {
        live.put(sid, session);
    }

    /** The connection of {@code sid} ended: keep its subscriptions for the TTL. */
    void ended(String sid, CableSession session, Snapshot snapshot) {
        boolean held = live.remove(sid, session);
        if (!enabled()) return;
        if (table != null) {
            if (held) put(sid, snapshot); // else another node took it: never write it back
            return;
        }
        synchronized (this) {
            ended.remove(sid);
            ended.put(sid, snapshot);
            evict(System.currentTimeMillis());
        }
    }

    /**
     * The subscriptions of session {@code sid} if it belongs to {@code subject} and may still be
     * restored, taking it (a session is restored once); null otherwise. In cluster mode the answer may
     * come from the table (asynchronously); a table that cannot answer gives null.
     */
    CompletableFuture<Snapshot> take(String sid, String subject) {
        if (!enabled()) return CompletableFuture.completedFuture(null);
        if (table == null) return CompletableFuture.completedFuture(takeHere(sid, subject));
        CableSession old = live.get(sid);
        if (old != null) { // held on this node: hand it over directly
            if (!old.subject().equals(subject)) return CompletableFuture.completedFuture(null);
            Snapshot s = old.retire();
            live.remove(sid, old);
            if (s != null) {
                table.remove(KEY_PREFIX + sid);
                return CompletableFuture.completedFuture(s);
            } // it ended meanwhile: ended() put it in the table
        }
        return table.get(KEY_PREFIX + sid).handle((bytes, failure) -> {
            if (failure != null) {
                LOG.warning("cable session " + sid + " not looked up: " + failure.getMessage());
                return null;
            }
            Snapshot s = bytes == null ? null : decodeOrNull(sid, bytes);
            if (s == null || !s.subject().equals(subject)) return null;
            table.remove(KEY_PREFIX + sid);
            return s;
        });
    }

    private Snapshot takeHere(String sid, String subject) {
        synchronized (this) {
            long now = System.currentTimeMillis();
            evict(now);
            Snapshot s = ended.get(sid);
            if (s != null) {
                if (!s.subject().equals(subject)) return null;
                ended.remove(sid);
                return now - s.endedAtMillis() <= ttlMillis ? s : null;
            }
        }
        CableSession old = live.get(sid);
        if (old == null || !old.subject().equals(subject)) return null;
        Snapshot s = old.retire();
        if (s != null) {
            live.remove(sid, old);
            return s;
        }
        synchronized (this) { // it ended meanwhile: retire() returned only after ended() stored the snapshot
            s = ended.get(sid);
            if (s == null || !s.subject().equals(subject)) return null;
            ended.remove(sid);
            return s;
        }
    }

    static byte[] encode(Snapshot s) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("v", 1).put("sub", s.subject());
        ArrayNode subs = o.putArray("subs");
        for (CableSubscription c : s.subscriptions()) {
            subs.addObject().put("key", c.key()).put("identifier", c.identifierJson()).put("room", c.room());
        }
        o.put("at", s.endedAtMillis());
        return Json.utf8(o.toString());
    }

    static Snapshot decode(byte[] bytes) throws IOException {
        JsonNode o = Json.MAPPER.readTree(bytes);
        if (o == null || o.path("v").asInt() != 1 || !o.path("sub").isTextual() || !o.path("subs").isArray()) {
            throw new IOException("not a version 1 cable session record");
        }
        List<CableSubscription> subs = new ArrayList<>();
        for (JsonNode c : o.get("subs")) {
            if (!c.path("key").isTextual() || !c.path("identifier").isTextual() || !c.path("room").isTextual()) {
                throw new IOException("malformed subscription " + c);
            }
            subs.add(new CableSubscription(c.get("key").asText(), c.get("identifier").asText(), c.get("room").asText()));
        }
        return new Snapshot(o.get("sub").asText(), List.copyOf(subs), o.path("at").asLong());
    }

    private static Snapshot decodeOrNull(String sid, byte[] bytes) {
        try {
            return decode(bytes);
        } catch (IOException | RuntimeException e) {
            LOG.warning("ignoring an unreadable cable session record " + sid + ": " + e.getMessage());
            return null;
        }
    }

    synchronized int endedCount() {
        return ended.size();
    }

    private void evict(long now) {
        Iterator<Snapshot> it = ended.values().iterator();
        while (it.hasNext()) {
            Snapshot s = it.next();
            if (now - s.endedAtMillis() <= ttlMillis && ended.size() <= maxEnded) break;
            it.remove();
        }
    }
}

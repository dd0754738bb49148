package io.tidings.server.ws.cable;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

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
 * <p>Thread-safe: live sessions are a concurrent map; ended ones are guarded by {@code this}.
 */
final class RestorableSessions {
    /** The subscriptions of an ended session. */
    record Snapshot(String subject, List<CableSubscription> subscriptions, long endedAtMillis) {
    }

    private static final SecureRandom RANDOM = new SecureRandom();

    private final long ttlMillis;
    private final int maxEnded;
    private final Map<String, CableSession> live = new ConcurrentHashMap<>();
    private final LinkedHashMap<String, Snapshot> ended = new LinkedHashMap<>(); // oldest first

    RestorableSessions(long ttlMillis, int maxEnded) {
        this.ttlMillis = ttlMillis;
        this.maxEnded = maxEnded;
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
        live.remove(sid, session);
        if (ttlMillis <= 0 || maxEnded <= 0) return;
        synchronized (this) {
            ended.remove(sid);
            ended.put(sid, snapshot);
            evict(System.currentTimeMillis());
        }
    }

    /**
     * The subscriptions of session {@code sid} if it belongs to {@code subject} and may still be
     * restored, taking it (a session is restored once); null otherwise.
     */
    Snapshot take(String sid, String subject) {
        if (ttlMillis <= 0 || maxEnded <= 0) return null;
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

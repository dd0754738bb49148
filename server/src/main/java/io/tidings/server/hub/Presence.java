package io.tidings.server.hub;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who is subscribed to each room on this node, per subject: how many connections (sessions; two
 * subscriptions of one connection to the room count once), over which protocols, since when. The
 * hub updates it as subscriptions are indexed and unindexed, so every protocol is covered and
 * nothing is kept for a room without subscribers (bounded by the subscriptions).
 *
 * <p>Join/leave {@link Change}s are coalesced per subject: the first connection joins, the last
 * one's going leaves, and a leave is held back {@code leaveDelayMs} (see {@link #sweep}) so that a
 * reconnect within it (a page reload, a client's resubscribe) produces no leave/join pair. Queries
 * show only connected subjects.
 *
 * <p>Thread-safe: each room's state is guarded by its own lock; the listener is called outside
 * every lock but may be called from the hub's threads, so it must not block.
 */
public final class Presence {
    /** One subject present in a room. */
    public record Member(String subject, int connections, Set<String> protocols, long sinceMillis) {
    }

    /** A coalesced join or leave. */
    public record Change(String room, String subject, boolean joined, Set<String> protocols, long atMillis) {
    }

    public interface Listener {
        /** Must not block (called on the hub's threads). */
        void changed(Change change);
    }

    /**
     * A change of a room's shared set (AnyCable's presence records): {@code subject} shares
     * {@code info} (JSON) now, or, with {@code info} null, no longer (it left, or its last
     * connection went).
     */
    public record SharedChange(String room, String subject, String info) {
    }

    /** Subjects (and connections) of a room. */
    public record Count(int subjects, int connections) {
    }

    private static final class Entry {
        /** Subscriptions to the room per session: a session is one connection. */
        final Map<Session, Integer> sessions = new IdentityHashMap<>();
        long since;
        /** While no session is left: when the leave is due (it is announced by {@link #sweep}). */
        long leaveAt = -1;
        /** Whether a join was announced and no leave yet. */
        boolean announced;
        Set<String> lastProtocols = Set.of();
        /** What the subject shared on joining explicitly (AnyCable's presence {@code join}: JSON), or null. */
        String info;

        Set<String> protocols() {
            Set<String> p = new TreeSet<>();
            for (Session s : sessions.keySet()) p.add(s.protocol());
            return p;
        }
    }

    private final Map<String, Map<String, Entry>> byRoom = new ConcurrentHashMap<>();
    private final long leaveDelayMs;
    private final Listener listener;
    private volatile java.util.function.Consumer<SharedChange> sharedListener = c -> {};

    public Presence(long leaveDelayMs, Listener listener) {
        this.leaveDelayMs = leaveDelayMs;
        this.listener = listener;
    }

    /**
     * Who hears of {@link SharedChange}s (the hub, which tells the room's subscribers). Called
     * outside every presence lock, but possibly under a session's lock (a subscription's removal):
     * it must not block nor take another session's lock.
     */
    void onShared(java.util.function.Consumer<SharedChange> listener) {
        this.sharedListener = listener;
    }

    /** Without join/leave notifications. */
    public Presence() {
        this(0, c -> {});
    }

    void added(Subscription s) {
        String subject = s.session.subject();
        long now = System.currentTimeMillis();
        Change join = null;
        while (true) {
            Map<String, Entry> room = byRoom.computeIfAbsent(s.room, r -> new TreeMap<>());
            synchronized (room) {
                if (byRoom.get(s.room) != room) continue; // emptied and dropped by a sweep meanwhile
                Entry e = room.computeIfAbsent(subject, k -> new Entry());
                if (e.sessions.isEmpty()) {
                    if (e.leaveAt < 0) e.since = now; // else: back within the leave delay, the same stay
                    e.leaveAt = -1;
                }
                e.sessions.merge(s.session, 1, Integer::sum);
                e.lastProtocols = e.protocols();
                if (!e.announced) {
                    e.announced = true;
                    join = new Change(s.room, subject, true, e.lastProtocols, now);
                }
                break;
            }
        }
        if (join != null) listener.changed(join);
    }

    void removed(Subscription s) {
        Map<String, Entry> room = byRoom.get(s.room);
        if (room == null) return;
        List<Change> leaves = new ArrayList<>(1);
        SharedChange unshared = null;
        synchronized (room) {
            Entry e = room.get(s.session.subject());
            if (e == null) return;
            Integer n = e.sessions.get(s.session);
            if (n == null) return;
            if (n > 1) e.sessions.put(s.session, n - 1);
            else e.sessions.remove(s.session);
            if (e.sessions.isEmpty()) {
                if (e.info != null) unshared = new SharedChange(s.room, s.session.subject(), null);
                e.info = null;
                e.leaveAt = System.currentTimeMillis() + leaveDelayMs;
                if (leaveDelayMs <= 0) expire(s.room, room, e.leaveAt, leaves);
            } else {
                e.lastProtocols = e.protocols();
            }
        }
        for (Change c : leaves) listener.changed(c);
        if (unshared != null) sharedListener.accept(unshared);
    }

    /** Announces every pending leave now (on shutdown, once the sessions are closed). */
    public void leaveAll() {
        sweep(Long.MAX_VALUE);
    }

    /** Announces the leaves that are due; the hub calls it every second. */
    void sweep(long nowMillis) {
        for (Map.Entry<String, Map<String, Entry>> r : byRoom.entrySet()) {
            List<Change> leaves = new ArrayList<>();
            synchronized (r.getValue()) {
                expire(r.getKey(), r.getValue(), nowMillis, leaves);
            }
            leaves.sort(java.util.Comparator.comparingLong(Change::atMillis)); // in the order they went
            for (Change c : leaves) listener.changed(c);
        }
    }

    /** Under the room's lock: drops the subjects gone since before {@code nowMillis}. */
    private void expire(String name, Map<String, Entry> room, long nowMillis, List<Change> leaves) {
        room.entrySet().removeIf(x -> {
            Entry e = x.getValue();
            if (!e.sessions.isEmpty() || e.leaveAt < 0 || e.leaveAt > nowMillis) return false;
            if (e.announced) leaves.add(new Change(name, x.getKey(), false, e.lastProtocols, e.leaveAt - leaveDelayMs));
            return true;
        });
        if (room.isEmpty()) byRoom.remove(name, room);
    }

    /**
     * Connected subjects of {@code room} (exactly that room, not the rooms below it) in subject
     * order, after {@code afterSubject} (null = from the first), at most {@code limit}.
     */
    public List<Member> members(String room, String afterSubject, int limit) {
        Map<String, Entry> r = byRoom.get(room);
        List<Member> out = new ArrayList<>();
        if (r == null) return out;
        synchronized (r) {
            Map<String, Entry> from = afterSubject == null ? r : ((TreeMap<String, Entry>) r).tailMap(afterSubject, false);
            for (Map.Entry<String, Entry> x : from.entrySet()) {
                Entry e = x.getValue();
                if (e.sessions.isEmpty()) continue;
                if (out.size() == limit) break;
                out.add(new Member(x.getKey(), e.sessions.size(), java.util.Collections.unmodifiableSet(e.protocols()), e.since));
            }
        }
        return out;
    }

    /** A subject that joined the room's presence set explicitly, with what it shared (JSON). */
    public record Record(String subject, String info) {
    }

    /**
     * Sets (or with null clears) what {@code session}'s subject shares in {@code room}; false if the
     * session is not subscribed to it. The last join of any of the subject's connections wins.
     */
    public boolean share(String room, Session session, String infoJson) {
        Map<String, Entry> r = byRoom.get(room);
        if (r == null) return false;
        boolean changed;
        synchronized (r) {
            Entry e = r.get(session.subject());
            if (e == null || !e.sessions.containsKey(session)) return false;
            changed = !java.util.Objects.equals(e.info, infoJson);
            e.info = infoJson;
        }
        if (changed) sharedListener.accept(new SharedChange(room, session.subject(), infoJson));
        return true;
    }

    /** The connected subjects of {@code room} that share something, in subject order. */
    public List<Record> shared(String room) {
        Map<String, Entry> r = byRoom.get(room);
        List<Record> out = new ArrayList<>();
        if (r == null) return out;
        synchronized (r) {
            for (Map.Entry<String, Entry> x : r.entrySet()) {
                if (!x.getValue().sessions.isEmpty() && x.getValue().info != null) out.add(new Record(x.getKey(), x.getValue().info));
            }
        }
        return out;
    }

    public Count count(String room) {
        Map<String, Entry> r = byRoom.get(room);
        if (r == null) return new Count(0, 0);
        int subjects = 0, connections = 0;
        synchronized (r) {
            for (Entry e : r.values()) {
                if (e.sessions.isEmpty()) continue;
                subjects++;
                connections += e.sessions.size();
            }
        }
        return new Count(subjects, connections);
    }
}

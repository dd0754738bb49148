package io.tidings.server.hub;

import io.tidings.storage.Cursor;
import io.tidings.storage.Event;
import io.tidings.storage.EventLog;
import io.tidings.storage.LogUnavailableException;
import io.tidings.server.metrics.Metrics;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Connects the log to the sessions. One dispatcher thread tails the log and offers each committed
 * event to the live sessions subscribed to one of its rooms (or a room above it); sessions that
 * fell behind or are replaying catch up on the catch-up pool, from the recent events the dispatcher
 * keeps in memory ({@link RecentEvents}) or from the log. A ticker closes slow
 * and idle clients and those whose credentials expired, and drives heartbeats.
 *
 * <p>Thread safety: thread-safe. The room index is a concurrent map; sessions guard themselves.
 */
public final class Hub implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Hub.class.getName());
    /**
     * Most events kept in memory for catch-ups, besides {@link HubSettings#recentEventsBytes()}: each
     * also costs ~300 bytes of objects, so tiny events are bounded by this (~5 MiB) rather than by bytes.
     */
    static final int RECENT_EVENTS_MAX = 1 << 14;

    private final EventLog log;
    private final HubSettings settings;
    private final Metrics metrics;
    private final Map<String, Set<Subscription>> byRoom = new ConcurrentHashMap<>();
    private final Presence presence;
    private final Set<Session> sessions = ConcurrentHashMap.newKeySet();
    private final ExecutorService catchUp;
    private final ScheduledExecutorService ticker;
    private final Thread dispatcher;
    private final RecentEvents recent;
    private volatile long dispatched;
    private volatile long fanningOut;
    private volatile boolean running = true;

    private final AtomicLong lagged = new AtomicLong();
    private final AtomicLong replayed = new AtomicLong();
    private final AtomicInteger catchingUp = new AtomicInteger();

    public Hub(EventLog log, HubSettings settings, Metrics metrics) {
        this(log, settings, metrics, new Presence());
    }

    /** @param presence who is subscribed where; the hub keeps it up to date */
    public Hub(EventLog log, HubSettings settings, Metrics metrics, Presence presence) {
        this.presence = presence;
        presence.onShared(this::sharedChanged);
        this.log = log;
        this.settings = settings;
        this.metrics = metrics;
        this.recent = new RecentEvents(RECENT_EVENTS_MAX, settings.recentEventsBytes());
        metrics.bindRecentEvents(recent::size, recent::bytes);
        metrics.bindSessions(() -> byRoom.values().stream().mapToInt(Set::size).sum(), catchingUp::get);
        AtomicInteger n = new AtomicInteger();
        this.catchUp = Executors.newFixedThreadPool(Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
            Thread t = new Thread(r, "tidings-catch-up-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tidings-ticker");
            t.setDaemon(true);
            return t;
        });
        Cursor live = log.cursorAtEnd();
        this.dispatched = live.position().index();
        this.fanningOut = dispatched;
        this.dispatcher = new Thread(() -> dispatch(live), "tidings-dispatcher");
        this.dispatcher.setDaemon(true);
        this.dispatcher.start();
        this.ticker.scheduleWithFixedDelay(this::tick, 1, 1, TimeUnit.SECONDS);
    }

    public EventLog log() {
        return log;
    }

    public Metrics metrics() {
        return metrics;
    }

    HubSettings settings() {
        return settings;
    }

    ExecutorService catchUpExecutor() {
        return catchUp;
    }

    /** True if the recent events in memory hold every event after {@code after} (a catch-up from it opens no log reader). */
    public boolean holdsEventsAfter(io.tidings.storage.Offset after) {
        return after.epoch().equals(log.epoch()) && recent.seqAfter(after.index()) >= 0;
    }

    /** A reader of the events after log index {@code after}: from memory while the recent events hold them, else the log. */
    ReplayCursor replayAfter(long after) throws io.tidings.storage.GapException {
        ReplayCursor c = new ReplayCursor(log, recent, after);
        metrics.catchUpRead(c.fromMemory() ? "memory" : "log");
        return c;
    }

    /** Index of the last event the dispatcher has offered to every live session. */
    long dispatched() {
        return dispatched;
    }

    /** Index of the newest event whose fan-out has started (it may still be in progress). */
    long fanningOut() {
        return fanningOut;
    }

    public void open(Session session) {
        session.attach(this);
        sessions.add(session);
        metrics.connectionOpened(session.protocol());
    }

    /** Forgets a session whose socket is closed. Idempotent. Takes the session's lock. */
    public void remove(Session session) {
        if (sessions.remove(session)) {
            session.detach();
            metrics.connectionClosed(session.protocol());
        }
    }

    /**
     * Forgets a session from a socket callback, without blocking: the session is out of
     * {@link #sessions()} at once and detached on the pool. The WebSocket library runs close tasks
     * while holding the channel's lock; taking the session's lock there could deadlock with a
     * thread that sends to that channel under the session's lock.
     */
    public void removeClosed(Session session) {
        if (!sessions.remove(session)) return;
        metrics.connectionClosed(session.protocol());
        try {
            catchUp.execute(session::detach);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the hub is closed: nothing will be delivered to the session any more
        }
    }

    public int sessionCount() {
        return sessions.size();
    }

    public Set<Session> sessions() {
        return Set.copyOf(sessions);
    }

    /**
     * Adds inside the map's atomic compute: adding to the set returned by computeIfAbsent raced
     * with {@link #unindex} removing that (empty) set, and the subscription was lost from the index.
     */
    void index(Subscription s) {
        byRoom.compute(s.room, (r, set) -> {
            Set<Subscription> subs = set != null ? set : ConcurrentHashMap.newKeySet();
            subs.add(s);
            return subs;
        });
        presence.added(s);
    }

    public Presence presence() {
        return presence;
    }

    /**
     * Tells the sessions subscribed to the change's room (exactly that room), on the ticker thread:
     * in the order of the changes, and never under the lock of the session whose subscription went.
     */
    private void sharedChanged(Presence.SharedChange change) {
        try {
            ticker.execute(() -> {
                Set<Subscription> subs = byRoom.get(change.room());
                if (subs == null) return;
                Set<Session> told = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
                for (Subscription s : subs) {
                    if (!told.add(s.session)) continue;
                    try {
                        s.session.presenceChanged(change);
                    } catch (RuntimeException e) {
                        report(e);
                    }
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the hub is closed
        }
    }

    void unindex(Subscription s) {
        boolean[] removed = new boolean[1];
        byRoom.computeIfPresent(s.room, (r, set) -> {
            removed[0] = set.remove(s);
            return set.isEmpty() ? null : set;
        });
        if (removed[0]) presence.removed(s);
    }

    private void dispatch(Cursor live) {
        try (live) {
            while (running) {
                Event e;
                try {
                    e = live.next(250, TimeUnit.MILLISECONDS);
                } catch (InterruptedException ie) {
                    return;
                } catch (LogUnavailableException closed) {
                    return;
                }
                if (e == null) continue;
                fanningOut = e.offset().index();
                Frames frames = new Frames(e);
                recent.add(frames, dispatched); // before the fan-out: a session the fan-out misses finds it there
                try {
                    fanOut(frames);
                } catch (RuntimeException ex) {
                    report(ex);
                }
                dispatched = e.offset().index();
            }
        } catch (RuntimeException e) {
            if (running) report(e); // otherwise the log closed under us during shutdown
        }
    }

    private void fanOut(Frames frames) {
        Event e = frames.event();
        Map<Session, List<Subscription>> targets = null; // made for the first subscriber: most events of a busy log may have none
        for (String room : e.rooms()) {
            for (int end = room.length(); end > 0; end = room.lastIndexOf('/', end - 1)) {
                Set<Subscription> subs = byRoom.get(end == room.length() ? room : room.substring(0, end));
                if (subs == null) continue;
                for (Subscription s : subs) {
                    if (targets == null) targets = new IdentityHashMap<>();
                    targets.computeIfAbsent(s.session, k -> new ArrayList<>(1)).add(s);
                }
            }
        }
        if (targets == null) return; // made only when a subscriber is added: never empty
        long previous = dispatched;
        for (Map.Entry<Session, List<Subscription>> t : targets.entrySet()) {
            t.getKey().offerLive(frames, t.getValue(), previous);
        }
    }

    private void tick() {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        presence.sweep(nowMillis);
        for (Session s : sessions) {
            try {
                if (s.credentialsExpired(nowMillis)) {
                    metrics.expiredDisconnect(s.protocol());
                    s.close(new CloseReason(CloseReason.Kind.EXPIRED, "token expired"));
                } else if (s.isStalled(now)) {
                    metrics.slowClientDisconnect(s.protocol());
                    s.close(new CloseReason(CloseReason.Kind.SLOW_CONSUMER, "slow consumer: reconnect and resume from your last offset"));
                } else {
                    s.tick(now);
                    s.sampleLag(now);
                }
            } catch (RuntimeException e) {
                report(e);
            }
        }
    }

    void lagged() {
        lagged.incrementAndGet();
        metrics.lagged();
    }

    void catchUpStarted() {
        catchingUp.incrementAndGet();
    }

    void catchUpEnded() {
        catchingUp.decrementAndGet();
    }

    /** Sessions currently reading from the log instead of being pushed to. */
    public int catchingUpCount() {
        return catchingUp.get();
    }

    void replayed() {
        replayed.incrementAndGet();
        metrics.replayed(1);
    }

    /** Times a live session fell behind and was switched to reading from the log. */
    public long laggedCount() {
        return lagged.get();
    }

    public long replayedCount() {
        return replayed.get();
    }

    void report(Throwable t) {
        LOG.log(Level.WARNING, "unexpected error in the hub", t);
    }

    /** Closes every session with {@code reason}, then stops the dispatcher. */
    public void shutdown(CloseReason reason) {
        for (Session s : sessions) s.close(reason);
        close();
    }

    @Override
    public void close() {
        running = false;
        ticker.shutdownNow();
        dispatcher.interrupt();
        try {
            dispatcher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        catchUp.shutdownNow();
    }
}

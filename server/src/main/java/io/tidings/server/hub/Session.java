package io.tidings.server.hub;

import io.tidings.storage.Event;
import io.tidings.storage.GapException;
import io.tidings.storage.LogUnavailableException;
import io.tidings.storage.Offset;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * One client connection, seen by the hub as a cursor over the log. A protocol adapter subclasses it
 * to encode frames and to talk to the socket.
 *
 * <h2>Delivery states</h2>
 * <ul>
 *   <li>{@code LIVE}: the hub's dispatcher pushes each matching event (encoded once, shared bytes).</li>
 *   <li>{@code CATCHING_UP}: the session reads the log through its own cursor at the client's pace
 *       (after a join with a resume offset, or when its outbound queue reached
 *       {@link HubSettings#outboundBufferBytes()}). When the cursor reaches the committed head, it
 *       turns {@code LIVE} again, atomically with respect to the dispatcher.</li>
 *   <li>{@code CLOSED}.</li>
 * </ul>
 * Each subscription keeps the index of the last event delivered to it; an event is delivered only
 * if its index is greater, which makes the replay-to-live handoff exactly-once.
 *
 * <p>Thread safety: state is guarded by {@code this}. The dispatcher, the catch-up worker and the
 * protocol's I/O thread lock it briefly; the catch-up worker reads the log outside the lock. Sends
 * happen under the lock, so frames reach the socket in order. Lock order: this session, then the
 * socket's own locks. Socket callbacks ({@link #sent(int)}, and a closed socket's removal via
 * {@link Hub#removeClosed}) therefore never take this lock: the WebSocket library runs them while
 * holding the channel's lock, which a send under this lock may be waiting for. The queue size is
 * an atomic for that reason.
 */
public abstract class Session {
    private enum Mode { LIVE, CATCHING_UP, CLOSED }

    private static final long NO_REWIND = -1;
    private static final long NOT_YET_VISIBLE_BACKOFF_NANOS = 100_000;

    private Hub hub;
    private final Map<String, Subscription> subscriptions = new LinkedHashMap<>();
    private volatile Mode mode = Mode.LIVE; // written under the lock; read without it by sent()
    private ReplayCursor cursor;      // owned by the catch-up worker
    private final ArrayDeque<Frames> backlog = new ArrayDeque<>(); // read from the cursor, not yet delivered; owned by the catch-up worker
    private long rewindTo = NO_REWIND;
    private boolean catchUpScheduled;
    private final AtomicLong queuedBytes = new AtomicLong(); // decremented by socket callbacks without the lock
    private final AtomicBoolean wakeUpPending = new AtomicBoolean();
    private long peakQueuedBytes;
    private volatile long stalledSinceNanos; // when the queue last went from empty to non-empty, or last drained a frame
    private long lastDeliveredTimeMillis;
    private volatile long closeAtMillis = Long.MAX_VALUE;
    private static final AtomicLong IDS = new AtomicLong();
    private final long id = IDS.incrementAndGet();
    private final long connectedAtMillis = System.currentTimeMillis();

    void attach(Hub hub) {
        this.hub = hub;
    }

    protected final Hub hub() {
        return hub;
    }

    // ---- protocol adapter hooks -------------------------------------------------------------

    /** Frames for {@code event} to the subscriptions it is due to (at least one). */
    protected abstract void encode(Frames frames, List<Subscription> due, List<byte[]> out);

    /** The frame announcing that a replaying subscription is now live, or {@code null}. */
    protected abstract byte[] liveFrame(Subscription subscription);

    /** Hands a frame to the socket; must call {@link #sent(int)} once it has been written (or failed). */
    protected abstract void transmit(byte[] frame);

    /** Closes the socket with a protocol-specific code and reason; must end in {@link Hub#remove}. */
    protected abstract void close(CloseReason reason);

    /** The protocol's metric label: native, socketio, actioncable. */
    public abstract String protocol();

    /** The authenticated subject, or "" before authentication. */
    public String subject() {
        return "";
    }

    /** The client's address as the socket sees it, or "" if unknown. */
    public String remoteAddress() {
        return "";
    }

    /** What an operator sees of this session (docs/protocol.md, "Console"): a consistent snapshot. */
    public final synchronized SessionView view() {
        List<String> rooms = new java.util.ArrayList<>(subscriptions.size());
        long position = Long.MAX_VALUE;
        for (Subscription s : subscriptions.values()) {
            rooms.add(s.room);
            position = Math.min(position, s.position);
        }
        return new SessionView(id, protocol(), subject(), remoteAddress(), connectedAtMillis, rooms,
                rooms.isEmpty() ? -1 : position, queuedBytes.get());
    }

    /** An operator closes this session (the console's disconnect): the protocol's close for {@code reason}. Any thread. */
    public final void disconnect(CloseReason reason) {
        close(reason);
    }

    /**
     * The shared presence set of a room this session is subscribed to changed (AnyCable's presence
     * records); protocols that push presence override it. On the hub's ticker thread.
     */
    protected void presenceChanged(Presence.SharedChange change) {}

    /** Called about once a second by the hub: heartbeats, idle checks. */
    protected void tick(long nowNanos) {}

    /**
     * The hub's ticker closes this session with {@link CloseReason.Kind#EXPIRED} once the wall clock
     * passes {@code atMillis} (the credentials' expiry plus the grace period, see
     * {@code Principal.closeAtMillis()}); Long.MAX_VALUE = never. Set it when the session is
     * authenticated, again when it re-authenticates. Any thread.
     */
    public final void closeAt(long atMillis) {
        closeAtMillis = atMillis;
    }

    /** True once the time set with {@link #closeAt} has passed. */
    final boolean credentialsExpired(long nowMillis) {
        return nowMillis >= closeAtMillis;
    }

    // ---- used by protocol adapters ----------------------------------------------------------

    /** Sends a control frame (welcome, joined, error …) in order with events. */
    public final synchronized void send(byte[] frame) {
        if (mode == Mode.CLOSED) return;
        if (queuedBytes.get() > 2 * hub.settings().outboundBufferBytes()) {
            // replies pile up unread (e.g. a client flooding requests without reading): bounded, so cut it off
            close(new CloseReason(CloseReason.Kind.SLOW_CONSUMER, "slow consumer: replies are not being read"));
            return;
        }
        enqueue(frame);
    }

    /**
     * Subscribes {@code key} to {@code room}: live from the head, or replaying everything after
     * {@code after}. {@code reply} gives the frames that announce the outcome; they are sent before
     * any event of the subscription.
     */
    public final JoinResult join(String key, String room, Offset after, Function<JoinResult, List<byte[]>> reply) {
        Offset head = hub.log().head();
        io.tidings.storage.Gap gap = null;
        if (after != null) {
            try {
                hub.log().check(after); // everything after it is still here (no reader opened on this thread)
            } catch (GapException e) {
                gap = e.gap();
            }
        }
        synchronized (this) {
            if (mode == Mode.CLOSED) return null;
            Subscription old = subscriptions.remove(key);
            if (old != null) {
                old.current = false;
                hub.unindex(old);
            }
            // A resume always goes through the catch-up, even from the head: an event committed
            // between reading the head and indexing the subscription would otherwise be missed.
            boolean replay = after != null && gap == null;
            long position = replay ? after.index() : head.index();
            Subscription sub = new Subscription(this, key, room, position, replay);
            subscriptions.put(key, sub);
            JoinResult result = new JoinResult(gap != null ? JoinResult.Status.GAP
                    : replay ? JoinResult.Status.REPLAYING : JoinResult.Status.LIVE, sub, gap);
            // Index before answering: once the client reads "live" it may publish at once, and the
            // dispatcher must find the subscription. (It cannot deliver before the answer: offerLive
            // waits for this lock.)
            hub.index(sub);
            for (byte[] frame : reply.apply(result)) enqueue(frame);
            if (!replay) {
                byte[] live = liveFrame(sub);
                if (live != null) enqueue(live);
            }
            hub.metrics().join(protocol(), result.status() == JoinResult.Status.REPLAYING ? "replay"
                    : result.status().name().toLowerCase());
            // A live join is safe to leave to the dispatcher only if no event after its position had
            // started fanning out before it was indexed; otherwise (and while catching up, whose
            // cursor may be past the position) read the log from the position.
            if (replay || mode == Mode.CATCHING_UP || hub.fanningOut() > position) rewind(position, sub);
            return result;
        }
    }

    /** Unsubscribes {@code key}; false if there was no such subscription. */
    public final synchronized boolean leave(String key) {
        Subscription sub = subscriptions.remove(key);
        if (sub == null) return false;
        sub.current = false;
        hub.unindex(sub);
        return true;
    }

    /**
     * True if {@code room} is one of this session's joined rooms or lies below one. For encoders,
     * which run under the session's lock.
     */
    protected final boolean covers(String room) {
        for (Subscription s : subscriptions.values()) if (Rooms.within(room, s.room)) return true;
        return false;
    }

    /**
     * The event's rooms that lie within a room this session has joined, in the event's order (never
     * empty for a due event: a due subscription covers one of them). Protocols that send the event's
     * {@code rooms} send these, so a client that keeps one resume offset per room advances every
     * room the event counts for, although a multi-room event is sent once, and recognises an event
     * it already has (docs/protocol.md). For encoders, which run under the session's lock.
     */
    protected final List<String> coveredRoomsOf(Event e) {
        List<String> rooms = new ArrayList<>(e.rooms().size());
        for (String r : e.rooms()) if (covers(r)) rooms.add(r);
        if (rooms.isEmpty()) rooms.add(e.rooms().get(0)); // not reached
        return rooms;
    }

    public final synchronized List<Subscription> subscriptions() {
        return List.copyOf(subscriptions.values());
    }

    public final synchronized boolean isCatchingUp() {
        return mode == Mode.CATCHING_UP;
    }

    public final long queuedBytes() {
        return queuedBytes.get();
    }

    /** The most bytes ever queued to this client at once (the outbound memory bound, observed). */
    public final synchronized long peakQueuedBytes() {
        return peakQueuedBytes;
    }

    // ---- delivery (hub) ------------------------------------------------------------------------

    /** Dispatcher: {@code event} matches {@code subs} of this session; {@code previous} is the index before it. */
    final synchronized void offerLive(Frames frames, List<Subscription> subs, long previous) {
        if (mode != Mode.LIVE) return;
        List<Subscription> due = due(frames.event(), subs);
        if (due.isEmpty()) return;
        List<byte[]> out = new ArrayList<>(1);
        encode(frames, due, out);
        long size = 0;
        for (byte[] f : out) size += f.length;
        long queued = queuedBytes.get();
        if (queued > 0 && queued + size > hub.settings().outboundBufferBytes()) {
            // The client is not keeping up: stop queueing and serve it from the log at its own pace.
            for (Subscription s : subscriptions.values()) s.position = Math.max(s.position, previous);
            hub.lagged();
            rewind(previous, null);
            return;
        }
        for (Subscription s : due) s.position = frames.event().offset().index();
        for (byte[] f : out) enqueue(f);
        lastDeliveredTimeMillis = frames.event().timeMillis();
        hub.metrics().delivered(protocol(), out.size(), size);
        hub.metrics().deliveryLatency(lastDeliveredTimeMillis);
    }

    private List<Subscription> due(Event event, List<Subscription> subs) {
        long index = event.offset().index();
        List<Subscription> due = new ArrayList<>(subs.size());
        for (Subscription s : subs) {
            if (s.position < index && s.current) due.add(s); // a field, not a lookup: once per recipient
        }
        return due;
    }

    /**
     * Switches to (or restarts) catching up from just after {@code index} (or earlier, if a
     * subscription is behind it). Caller holds the lock. A live session has considered every event
     * the dispatcher finished, so its live subscriptions move up to that point first — except
     * {@code joining}, which was not indexed when those events fanned out.
     */
    private void rewind(long index, Subscription joining) {
        if (mode == Mode.LIVE) {
            long dispatched = hub.dispatched();
            for (Subscription s : subscriptions.values()) {
                if (!s.replaying && s != joining) s.position = Math.max(s.position, dispatched);
            }
            mode = Mode.CATCHING_UP;
            hub.catchUpStarted();
        }
        long from = index;
        for (Subscription s : subscriptions.values()) from = Math.min(from, s.position);
        rewindTo = rewindTo == NO_REWIND ? from : Math.min(rewindTo, from);
        scheduleCatchUp();
    }

    private void scheduleCatchUp() {
        if (!catchUpScheduled && mode == Mode.CATCHING_UP && queuedBytes.get() < hub.settings().outboundBufferBytes()) {
            catchUpScheduled = true;
            hub.catchUpExecutor().execute(this::catchUp);
        }
    }

    /**
     * Catch-up worker: reads the log outside the lock, delivers under it, turns live at the head.
     * Events are handed to the socket one at a time while the queue has room, so the queue never
     * exceeds {@link HubSettings#outboundBufferBytes()} by more than one frame; events read but not
     * yet delivered wait in {@code backlog} for the next round, and a round reads only about as many
     * bytes as the queue has room for (so the backlog stays under the same bound plus one event).
     */
    private void catchUp() {
        boolean notYetVisible = false;
        try {
            while (true) {
                long rewind;
                synchronized (this) {
                    if (mode != Mode.CATCHING_UP || queuedBytes.get() >= hub.settings().outboundBufferBytes()) {
                        catchUpScheduled = false;
                        if (mode == Mode.CLOSED) closeCursor();
                        return;
                    }
                    rewind = rewindTo;
                    rewindTo = NO_REWIND;
                }
                if (rewind != NO_REWIND) {
                    closeCursor();
                    backlog.clear(); // read from the old position: re-read in order from the new one
                    cursor = hub.replayAfter(rewind);
                } else if (notYetVisible) {
                    LockSupport.parkNanos(NOT_YET_VISIBLE_BACKOFF_NANOS);
                }
                notYetVisible = false;
                if (backlog.isEmpty()) {
                    // The backlog is memory too: read about what the queue has room for (at least one event),
                    // so a slow client holds at most ~2 × outboundBufferBytes, whatever the size of events.
                    long room = hub.settings().outboundBufferBytes() - queuedBytes.get();
                    long read = 0;
                    while (backlog.size() < hub.settings().catchUpBatchEvents() && (backlog.isEmpty() || read < room)) {
                        Frames f = cursor.next();
                        if (f == null) break;
                        backlog.add(f);
                        read += f.event().data().length;
                    }
                }
                synchronized (this) {
                    if (mode != Mode.CATCHING_UP || rewindTo != NO_REWIND) continue;
                    if (!backlog.isEmpty()) {
                        while (!backlog.isEmpty() && queuedBytes.get() < hub.settings().outboundBufferBytes()) {
                            deliverFromLog(backlog.poll());
                        }
                        continue;
                    }
                    Frames f = cursor.next(); // under the lock: nothing can be committed-and-dispatched unseen
                    if (f != null) {
                        backlog.add(f);
                        continue;
                    }
                    if (!cursor.caughtUp()) {
                        // committed but not yet visible to this reader (a file just rolled): not caught up
                        notYetVisible = true;
                        continue;
                    }
                    mode = Mode.LIVE;
                    closeCursor();
                    catchUpScheduled = false;
                    for (Subscription s : subscriptions.values()) {
                        if (s.replaying) {
                            s.replaying = false;
                            byte[] live = liveFrame(s);
                            if (live != null) enqueue(live);
                        }
                    }
                    hub.catchUpEnded();
                    return;
                }
            }
        } catch (GapException e) {
            close(new CloseReason(CloseReason.Kind.RESUME, "history after the resume point is gone; rejoin to get a gap answer"));
        } catch (LogUnavailableException | IllegalStateException e) {
            close(new CloseReason(CloseReason.Kind.GOING_AWAY, "log unavailable"));
        } catch (RuntimeException e) {
            hub.report(e);
            close(new CloseReason(CloseReason.Kind.INTERNAL, "internal error"));
        }
    }

    private void deliverFromLog(Frames frames) {
        Event e = frames.event();
        List<Subscription> matching = new ArrayList<>(2);
        for (Subscription s : subscriptions.values()) {
            if (Rooms.anyWithin(e.rooms(), s.room)) matching.add(s);
        }
        List<Subscription> due = due(e, matching);
        if (due.isEmpty()) return;
        List<byte[]> out = new ArrayList<>(1);
        encode(frames, due, out);
        long size = 0;
        for (Subscription s : due) s.position = e.offset().index();
        for (byte[] f : out) {
            enqueue(f);
            size += f.length;
        }
        lastDeliveredTimeMillis = e.timeMillis();
        hub.metrics().delivered(protocol(), out.size(), size);
        hub.replayed();
    }

    private void closeCursor() {
        backlog.clear();
        if (cursor != null) {
            cursor.close();
            cursor = null;
        }
    }

    // ---- outbound queue accounting ----------------------------------------------------------

    private void enqueue(byte[] frame) {
        if (queuedBytes.get() == 0) stalledSinceNanos = System.nanoTime();
        peakQueuedBytes = Math.max(peakQueuedBytes, queuedBytes.addAndGet(frame.length));
        transmit(frame);
    }

    /** Socket callback: {@code bytes} of a transmitted frame have left (or failed to leave) the queue. */
    protected final void sent(int bytes) {
        long queued = queuedBytes.addAndGet(-bytes);
        stalledSinceNanos = System.nanoTime();
        if (mode == Mode.CATCHING_UP && queued <= hub.settings().outboundBufferBytes() / 2 && wakeUpPending.compareAndSet(false, true)) {
            // Not here: this runs inside the socket's lock (see the class comment). The pool takes ours.
            try {
                hub.catchUpExecutor().execute(() -> {
                    wakeUpPending.set(false);
                    synchronized (this) {
                        scheduleCatchUp();
                    }
                });
            } catch (RejectedExecutionException e) {
                wakeUpPending.set(false); // the hub is shutting down
            }
        }
    }

    /** Ticker: records how far behind the head a catching-up session is. */
    final void sampleLag(long nowNanos) {
        long position, delivered;
        synchronized (this) {
            if (mode != Mode.CATCHING_UP) return;
            position = Long.MAX_VALUE;
            for (Subscription s : subscriptions.values()) position = Math.min(position, s.position);
            delivered = lastDeliveredTimeMillis;
        }
        if (position == Long.MAX_VALUE) return;
        io.tidings.storage.EventLog log = hub.log();
        long behind = log.countBetween(new Offset(log.epoch(), position), log.head());
        hub.metrics().lag(behind, delivered == 0 ? 0 : Math.max(0, System.currentTimeMillis() - delivered) / 1000.0);
    }

    /** True if frames have been waiting without any progress for longer than the slow-client timeout. */
    final boolean isStalled(long nowNanos) {
        return queuedBytes.get() > 0 && nowNanos - stalledSinceNanos > hub.settings().slowClientTimeoutMs() * 1_000_000L;
    }

    /** Marks the session closed and drops its subscriptions; the hub calls this once the socket is gone. */
    final void detach() {
        synchronized (this) {
            if (mode == Mode.CLOSED) return;
            if (mode == Mode.CATCHING_UP) hub.catchUpEnded();
            mode = Mode.CLOSED;
            for (Subscription s : subscriptions.values()) {
                s.current = false;
                hub.unindex(s);
            }
            subscriptions.clear();
            if (!catchUpScheduled) closeCursor();
        }
    }
}

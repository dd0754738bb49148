package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.tidings.server.http.Json;
import io.tidings.storage.Offset;
import io.tidings.storage.SessionTable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The Socket.IO sessions that can be recovered, kept in memory and, one small file per session, in
 * {@code <dataDir>/socketio-sessions/}, so that a session outlives its connection and a gateway
 * restart. The events themselves are not stored here: they are in the log, and a session only
 * remembers where each of its rooms was joined.
 *
 * <h2>File format (version 1)</h2>
 * {@code <pid>.json}, UTF-8 JSON:
 * <pre>{"v":1,"pid":"…","sid":"…","sub":"&lt;token subject&gt;",
 *  "rooms":{"&lt;room&gt;":"&lt;offset it was joined at&gt;",…},"connected":true|false,"lastSeenMs":&lt;ms since the Unix epoch&gt;}</pre>
 * Rooms are in join order. {@code connected} is true while a connection holds the session;
 * {@code lastSeenMs} is when the last connection ended.
 *
 * <h2>Commit point and recovery rule</h2>
 * A record is written whole to {@code <pid>.tmp} and renamed over {@code <pid>.json} (atomic on
 * POSIX file systems); it counts once the rename returned. It is written when a session is created,
 * joins or leaves a room, is taken by a reconnecting client, and when its connection ends — not by
 * the caller (a connection's I/O thread must never wait for a disk) but by one writer thread, which
 * writes the latest state of each changed session: a burst of joins costs one or a few writes, not
 * one each. {@link #rooms} tells when the record holding a room change has been written (a join is
 * acknowledged then); a process killed before that loses only that change. With
 * {@link io.tidings.storage.Durability#POWER_LOSS} the file and the directory are also fsynced,
 * otherwise a record survives a process crash but not a power loss. On open: {@code *.tmp} files
 * are leftovers of interrupted writes and are deleted; unreadable records are deleted (their client
 * gets a fresh session, never a wrong one); a record still marked {@code connected} was held when the
 * gateway stopped without a clean shutdown, so its client is treated as last seen at open time.
 * Records of sessions disconnected for longer than the TTL are deleted on open and by {@link #sweep()}.
 *
 * <h2>Cluster mode: the records in a {@link SessionTable}</h2>
 * With a table (the cluster's, shared by every node), records are not files: the same JSON is put
 * under {@code socketio/<pid>} with the TTL, and a change counts once the table committed it (a join
 * is acknowledged then). {@link #find} asks the table, so a session created on another node is found
 * here. Held sessions are put again by {@link #sweep()} before their TTL runs out, so a session whose
 * node died stays recoverable for a TTL from its last refresh. When another node takes or forgets a
 * session this node holds, the local entry is dropped without a write and its connection closed
 * ({@code displaced}), so the two nodes never both write it on.
 *
 * <p>Thread safety: thread-safe. Each session's record is changed, and written or deleted by the
 * writer thread, under its entry's lock, so the files of one session change in order; different
 * sessions do not contend. No other lock is taken under an entry's lock.
 */
final class RecoveryStore implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(RecoveryStore.class.getName());
    static final int VERSION = 1;
    /** Ids this store makes: 16 or more base64url characters. Anything else is never a file name. */
    static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{16,64}");

    /** One session as stored. Immutable. */
    record Record(String pid, String sid, String subject, Map<String, Offset> rooms, boolean connected, long lastSeenMs) {
        Record {
            rooms = Collections.unmodifiableMap(new LinkedHashMap<>(rooms));
        }

        Record with(Map<String, Offset> newRooms, boolean nowConnected, long seenMs) {
            return new Record(pid, sid, subject, newRooms, nowConnected, seenMs);
        }
    }

    private static final class Entry {
        Record record;
        Object owner;      // the connection holding the session, or null
        boolean removed;
        boolean queued;    // waiting for the writer
        List<CompletableFuture<Void>> waiting; // told when the next write is done, or null
    }

    /** Tells the writer to stop. */
    private static final Entry STOP = new Entry();

    private final Path dir;
    private final long ttlMs;
    private final boolean fsync;
    private final LongSupplier clock;
    /** The cluster's table, or null: records are files in {@code dir}. */
    private final SessionTable table;
    /** Closes a connection whose session another node took. */
    private final Consumer<Object> displaced;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** Sessions whose file must be written or deleted; each at most once (Entry.queued). */
    private final BlockingQueue<Entry> changed = new LinkedBlockingQueue<>();
    private final Thread writer;
    private volatile boolean closed;

    private RecoveryStore(Path dir, long ttlMs, boolean fsync, LongSupplier clock, SessionTable table, Consumer<Object> displaced) {
        this.dir = dir;
        this.ttlMs = ttlMs;
        this.fsync = fsync;
        this.clock = clock;
        this.table = table;
        this.displaced = displaced;
        this.writer = new Thread(this::writeChanges, "tidings-socketio-sessions");
        writer.setDaemon(true);
    }

    /** Opens (or creates) the store in {@code dir}, applying the recovery rule above. */
    static RecoveryStore open(Path dir, long ttlMs, boolean fsync, LongSupplier clock) {
        RecoveryStore store = new RecoveryStore(dir, ttlMs, fsync, clock, null, owner -> {});
        try {
            Files.createDirectories(dir);
            store.load();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open Socket.IO session store " + dir, e);
        }
        store.writer.start();
        return store;
    }

    /**
     * Opens the store on the cluster's {@code table}; {@code displaced} closes a connection of this
     * node whose session another node took.
     */
    static RecoveryStore open(SessionTable table, long ttlMs, LongSupplier clock, Consumer<Object> displaced) {
        RecoveryStore store = new RecoveryStore(null, ttlMs, false, clock, table, displaced);
        table.onForeignChange(store::changedElsewhere);
        store.writer.start();
        return store;
    }

    static final String KEY_PREFIX = "socketio/";

    /** Another node wrote or removed session {@code key}: if this node has it, forget it here (no write). */
    private void changedElsewhere(String key, byte[] value) {
        if (!key.startsWith(KEY_PREFIX)) return;
        Entry e = entries.get(key.substring(KEY_PREFIX.length()));
        if (e == null) return;
        Object owner;
        synchronized (e) {
            if (e.removed) return;
            owner = e.owner;
            e.removed = true;
            e.owner = null;
            entries.remove(e.record.pid(), e);
            done(e);
        }
        if (owner != null) displaced.accept(owner);
    }

    private void load() throws IOException {
        long now = clock.getAsLong();
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.toList();
        }
        int expired = 0, damaged = 0;
        for (Path f : files) {
            String name = f.getFileName().toString();
            if (name.endsWith(".tmp")) {
                Files.deleteIfExists(f);
                continue;
            }
            if (!name.endsWith(".json")) continue;
            Record r;
            try {
                r = decode(Files.readAllBytes(f));
                if (!name.equals(r.pid() + ".json")) throw new IllegalArgumentException("pid does not match the file name");
            } catch (IOException | RuntimeException e) {
                damaged++;
                LOG.warning("deleting unreadable Socket.IO session record " + f + ": " + e.getMessage());
                Files.deleteIfExists(f);
                continue;
            }
            if (r.connected()) {
                r = r.with(r.rooms(), false, now); // held when the gateway stopped uncleanly: seen until now
                write(r);
            }
            if (r.lastSeenMs() + ttlMs < now) {
                expired++;
                Files.deleteIfExists(f);
                continue;
            }
            Entry e = new Entry();
            e.record = r;
            entries.put(r.pid(), e);
        }
        if (expired + damaged > 0 || !entries.isEmpty()) {
            LOG.info("Socket.IO sessions: " + entries.size() + " recoverable, " + expired + " expired, " + damaged + " unreadable");
        }
    }

    /**
     * The recoverable session {@code pid}, or null if unknown or expired (an expired one is deleted).
     * With a table, completes once the table answered (null if it could not: the client gets a fresh session).
     */
    CompletableFuture<Record> find(String pid) {
        if (pid == null || !ID.matcher(pid).matches()) return CompletableFuture.completedFuture(null);
        if (table == null) return CompletableFuture.completedFuture(findHere(pid));
        return table.get(KEY_PREFIX + pid).handle((bytes, failure) -> {
            if (failure != null) {
                LOG.warning("Socket.IO session " + pid + " not looked up: " + failure.getMessage());
                return null;
            }
            Record here = findHere(pid); // after the table's answer: an entry still here is the latest
            if (here != null || bytes == null) return here;
            try {
                Record r = decode(bytes);
                if (!r.pid().equals(pid)) return null;
                Entry e = new Entry();
                e.record = r.with(r.rooms(), false, r.lastSeenMs());
                Entry raced = entries.putIfAbsent(pid, e);
                return raced == null ? e.record : findHere(pid);
            } catch (IOException | RuntimeException damaged) {
                LOG.warning("ignoring an unreadable Socket.IO session record " + pid + ": " + damaged.getMessage());
                return null;
            }
        });
    }

    private Record findHere(String pid) {
        Entry e = entries.get(pid);
        if (e == null) return null;
        synchronized (e) {
            if (e.removed) return null;
            if (e.owner == null && e.record.lastSeenMs() + ttlMs < clock.getAsLong()) {
                remove(e);
                return null;
            }
            return e.record;
        }
    }

    /** Stores a new session held by {@code owner}. */
    void create(Record record, Object owner) {
        Entry e = new Entry();
        e.record = record.with(record.rooms(), true, clock.getAsLong());
        e.owner = owner;
        synchronized (e) {
            entries.put(record.pid(), e);
            persist(e);
        }
    }

    /** What {@link #take} found: the session, and the connection that held it until now (or null). */
    record Taken(Record record, Object displaced) {}

    /**
     * Hands session {@code pid} to {@code owner}. The connection that held it before, if any, is
     * returned for the caller to close (outside any lock). Null if the session is gone.
     */
    Taken take(String pid, Object owner) {
        Entry e = entries.get(pid);
        if (e == null) return null;
        synchronized (e) {
            if (e.removed) return null;
            Object previous = e.owner;
            e.owner = owner;
            e.record = e.record.with(e.record.rooms(), true, clock.getAsLong());
            persist(e);
            return new Taken(e.record, previous == owner ? null : previous);
        }
    }

    /**
     * Records the rooms of session {@code pid}, if {@code owner} still holds it. Completes when the
     * record with these rooms is on disk (or could not be written: logged), at once if nothing is written.
     */
    CompletableFuture<Void> rooms(String pid, Object owner, Map<String, Offset> rooms) {
        Entry e = entries.get(pid);
        if (e == null) return CompletableFuture.completedFuture(null);
        synchronized (e) {
            if (e.removed || e.owner != owner) return CompletableFuture.completedFuture(null);
            e.record = e.record.with(rooms, true, clock.getAsLong());
            CompletableFuture<Void> written = new CompletableFuture<>();
            if (e.waiting == null) e.waiting = new ArrayList<>();
            e.waiting.add(written);
            persist(e);
            return written;
        }
    }

    /** The connection of {@code owner} ended: the session stays recoverable for the TTL from now. */
    void release(String pid, Object owner) {
        Entry e = entries.get(pid);
        if (e == null) return;
        synchronized (e) {
            if (e.removed || e.owner != owner) return;
            e.owner = null;
            e.record = e.record.with(e.record.rooms(), false, clock.getAsLong());
            persist(e);
        }
    }

    /**
     * Forgets session {@code pid} (the client disconnected on purpose, or its history is gone), if
     * {@code owner} holds it or, with {@code owner == null}, if no connection does.
     */
    void discard(String pid, Object owner) {
        Entry e = entries.get(pid);
        if (e == null) return;
        synchronized (e) {
            if (e.removed || e.owner != owner) return;
            remove(e);
        }
    }

    /**
     * Deletes sessions disconnected for longer than the TTL; returns how many. With a table, also puts
     * again each held session last written more than a third of the TTL ago.
     */
    int sweep() {
        long now = clock.getAsLong();
        int n = 0;
        for (Iterator<Entry> it = entries.values().iterator(); it.hasNext(); ) {
            Entry e = it.next();
            synchronized (e) {
                if (e.removed) continue;
                if (e.owner == null && e.record.lastSeenMs() + ttlMs < now) {
                    if (table != null) { // the table expires it by itself: just forget it here
                        e.removed = true;
                        entries.remove(e.record.pid(), e);
                    } else {
                        remove(e);
                    }
                    n++;
                } else if (table != null && e.owner != null && e.record.lastSeenMs() + ttlMs / 3 < now) {
                    e.record = e.record.with(e.record.rooms(), true, now);
                    persist(e);
                }
            }
        }
        return n;
    }

    int size() {
        return entries.size();
    }

    long ttlMs() {
        return ttlMs;
    }

    /** Caller holds e's lock. The file is deleted by the writer. */
    private void remove(Entry e) {
        e.removed = true;
        entries.remove(e.record.pid(), e);
        persist(e);
    }

    /** Caller holds e's lock: has the writer write (or delete) e's file. */
    private void persist(Entry e) {
        if (closed) { // a late close callback of a stopped gateway must not overwrite its successor's records
            done(e);
            return;
        }
        if (!e.queued) {
            e.queued = true;
            changed.add(e);
        }
    }

    /** The writer thread: writes the latest state of each changed session until told to stop. */
    private void writeChanges() {
        try {
            for (Entry e = changed.take(); e != STOP; e = changed.take()) writeChange(e);
        } catch (InterruptedException stop) {
            Thread.currentThread().interrupt();
        }
    }

    /** A failed write is logged: the session works, it just may not survive a restart. */
    private void writeChange(Entry e) {
        synchronized (e) {
            e.queued = false;
            if (e.record == null) { // a flush marker
                done(e);
                return;
            }
            if (table != null) {
                putInTable(e);
                return;
            }
            try {
                if (e.removed) Files.deleteIfExists(dir.resolve(e.record.pid() + ".json"));
                else write(e.record);
            } catch (IOException ex) {
                LOG.log(Level.WARNING, "cannot " + (e.removed ? "delete" : "write") + " Socket.IO session record " + e.record.pid(), ex);
            }
            done(e);
        }
    }

    /** Caller holds e's lock: the write goes to the table; its waiters are told when it committed. */
    private void putInTable(Entry e) {
        String pid = e.record.pid();
        CompletableFuture<Void> committed = e.removed ? table.remove(KEY_PREFIX + pid) : table.put(KEY_PREFIX + pid, encode(e.record), ttlMs);
        List<CompletableFuture<Void>> waiting = e.waiting;
        e.waiting = null;
        committed.whenComplete((ok, failure) -> {
            if (failure != null) LOG.warning("cannot " + (e.removed ? "remove" : "put") + " Socket.IO session " + pid + " in the session table: " + failure.getMessage());
            if (waiting != null) for (CompletableFuture<Void> w : waiting) w.complete(null);
        });
    }

    /** Caller holds e's lock. */
    private static void done(Entry e) {
        if (e.waiting == null) return;
        for (CompletableFuture<Void> w : e.waiting) w.complete(null);
        e.waiting = null;
    }

    /** Waits until every change made so far is on disk (or the store is closed: {@link #close} wrote them). */
    void flush() {
        Entry marker = new Entry(); // no record: the writer only completes it
        CompletableFuture<Void> reached = new CompletableFuture<>();
        marker.waiting = new ArrayList<>(List.of(reached)); // not shared yet
        changed.add(marker);
        if (closed && changed.remove(marker)) return; // the writer has stopped, or is about to
        reached.join();
    }

    private void write(Record r) throws IOException {
        Path tmp = dir.resolve(r.pid() + ".tmp");
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(encode(r));
            while (b.hasRemaining()) ch.write(b);
            if (fsync) ch.force(true);
        }
        Files.move(tmp, dir.resolve(r.pid() + ".json"), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        if (fsync) {
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true);
            } catch (IOException ignored) {
                // some file systems cannot fsync a directory
            }
        }
    }

    static byte[] encode(Record r) {
        ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("v", VERSION).put("pid", r.pid()).put("sid", r.sid()).put("sub", r.subject());
        ObjectNode rooms = o.putObject("rooms");
        r.rooms().forEach((room, at) -> rooms.put(room, at.toString()));
        o.put("connected", r.connected()).put("lastSeenMs", r.lastSeenMs());
        try {
            return Json.MAPPER.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Record decode(byte[] bytes) throws IOException {
        JsonNode o = Json.MAPPER.readTree(bytes);
        if (o == null || !o.isObject()) throw new IllegalArgumentException("not a JSON object");
        if (o.path("v").asInt() != VERSION) throw new IllegalArgumentException("unsupported version " + o.path("v"));
        String pid = text(o, "pid"), sid = text(o, "sid"), sub = text(o, "sub");
        if (!ID.matcher(pid).matches()) throw new IllegalArgumentException("malformed pid");
        Map<String, Offset> rooms = new LinkedHashMap<>();
        JsonNode r = o.get("rooms");
        if (r == null || !r.isObject()) throw new IllegalArgumentException("rooms missing");
        for (Iterator<Map.Entry<String, JsonNode>> it = r.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            rooms.put(f.getKey(), Offset.parse(f.getValue().asText()));
        }
        JsonNode connected = o.get("connected"), seen = o.get("lastSeenMs");
        if (connected == null || !connected.isBoolean() || seen == null || !seen.canConvertToLong()) {
            throw new IllegalArgumentException("connected/lastSeenMs missing");
        }
        return new Record(pid, sid, sub, rooms, connected.asBoolean(), seen.asLong());
    }

    private static String text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual() || v.asText().isEmpty()) throw new IllegalArgumentException(field + " missing");
        return v.asText();
    }

    /** Marks every held session as disconnected now, writes what is pending, then stops writing. */
    @Override
    public void close() {
        for (Entry e : entries.values()) {
            synchronized (e) {
                if (!e.removed && e.owner != null) {
                    e.owner = null;
                    e.record = e.record.with(e.record.rooms(), false, clock.getAsLong());
                    persist(e);
                }
            }
        }
        closed = true;
        changed.add(STOP);
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (Entry late; (late = changed.poll()) != null; ) { // queued while closing: not written, but nobody waits forever
            synchronized (late) {
                done(late);
            }
        }
    }
}

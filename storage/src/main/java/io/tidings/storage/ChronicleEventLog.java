package io.tidings.storage;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.bytes.SyncMode;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.queue.impl.single.TableStoreWriteLock;
import net.openhft.chronicle.threads.Pauser;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableSet;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;

/**
 * The {@link EventLog} on Chronicle Queue. This comment is the one place that states the format.
 *
 * <h2>Directory</h2>
 * <pre>
 *   tidings-log.properties  format=1, epoch=&lt;12 chars [0-9a-z]&gt;, roll=HOURLY|DAILY|…, created=…
 *                           (written once at creation; format is checked on every open)
 *   tidings-log.lock        empty; the writing instance holds an OS lock on it (one writer per log)
 *   retention-floor         decimal index of the last event deleted by retention (absent: none deleted)
 *   head-mark               8 bytes big-endian: index of the last committed event (mapped, set per commit)
 *   tail-repairs            one line per torn tail repaired on open ({@link TailRecovery})
 *   *.cq4-&lt;millis&gt;.damaged  a torn newest file as it was before its repair (hard link); deleted
 *                           by retention with the roll file it was taken from
 *   *.cq4                   Chronicle Queue roll files, one per roll period, named by its start (UTC)
 *   *.cq4t                  Chronicle's own table stores (directory listing, locks)
 * </pre>
 *
 * <h2>Record</h2>
 * One Chronicle document per event; the document body is, big-endian:
 * <pre>
 *   u8   record version (1)
 *   i64  append time, ms since the Unix epoch (assigned under the append lock, never decreasing)
 *   u16  producer id length (0 = none), then its UTF-8 bytes
 *   u16  type length, then UTF-8 bytes
 *   u16  room count, then per room: u16 length, UTF-8 bytes
 *   i32  data length, then the producer's JSON bytes verbatim
 *   i32  CRC32C of every preceding byte of the record
 * </pre>
 *
 * <h2>Offset</h2>
 * The event's Chronicle index: {@code (cycle << sequenceBits) | sequence within the cycle}. It
 * strictly increases in append order (with jumps where a file rolls). Clients see it with the
 * epoch as {@link Offset}. The cycle comes from the log's clock made monotonic: never earlier than
 * the newest file or any time used before, so a wall clock stepped back cannot lower offsets.
 *
 * <h2>Commit point and recovery</h2>
 * An event is committed when its document is closed (Chronicle then marks the header complete) and,
 * with {@link Durability#POWER_LOSS}, after the {@code msync} that covers it. Only then does
 * {@link #head()} move past it, readers see it, and {@link #append} return. Cursors never read past
 * {@link #head()}; a read-only instance cannot see the writer's head and reads every complete
 * document (in power-loss mode possibly one not yet msynced). A process killed mid-append leaves an
 * incomplete header that Chronicle's recovery skips on reopen; every event whose append returned is
 * intact (CRC-checked on read). It may also leave Chronicle's write lock set: holding
 * {@code tidings-log.lock}, the new writer knows no other writer is alive and clears it on open
 * (Chronicle alone would wait for its lock timeout and fail when the new process has the dead one's
 * process id, as PID 1 in a container does). A damaged record does not stop the log from opening:
 * {@link #verify()} and the cursors that reach it report it. A torn tail of the newest file (trailing
 * records failing their checksum, or the {@link HeadMark} past the file's last record) is cut off by
 * {@link TailRecovery} before a writer opens the log, and the log gets a new epoch, so an offset is
 * never handed out again for a different event; kept records keep their index. The repair is
 * redone if it is killed (it states the loss first and replaces the file with one rename). The
 * head mark moves after the commit point and before {@link #head()}.
 *
 * <h2>Thread safety</h2>
 * Shared and thread-safe; one writing instance per directory ({@code tidings-log.lock}), any number
 * of read-only ones. One appender is used under {@code appendLock} (appends from many threads
 * are serialised; power-loss mode shares one msync among concurrent appends). Retention and cursor
 * positioning are serialised by {@code retentionLock}, so a file is never deleted under a cursor.
 * Each cursor owns its own tailer and is used by one thread at a time.
 */
final class ChronicleEventLog implements EventLog {
    static final String WRITER_LOCK_FILE = "tidings-log.lock";
    /**
     * How long Chronicle waits for another writer's header before acting on its own (default 10 s).
     * With one writer per log nobody legitimately holds a header that long; the waits that remain are
     * for headers a killed writer left unfinished, e.g. the first header of a file it was creating,
     * which costs about four such waits on the next open and append before Chronicle discards the file.
     */
    static final long CHRONICLE_TIMEOUT_MILLIS = 1_000;
    /**
     * A waiter for the next commit ({@link #awaitCommitAfter}) that comes within this long of the
     * latest one polls instead of asking to be woken: under a steady stream of appends, a wake-up
     * per commit cost the appending thread a system call and the waiter (the hub's dispatcher) a
     * context switch per event (measured at 34k single-event publishes/s: 10k wake-ups/s, ~5 µs of
     * CPU per event on the dispatcher alone). It is also the longest a waiter sleeps past a
     * commit while appends stream in; when they come further apart, it is woken at the commit.
     */
    static final long STREAMING_GAP_NANOS = 250_000;
    private final LogConfig config;
    private final Path dir;
    private final String epoch;
    private final RollCycle rollCycle;
    private final SingleChronicleQueue queue;
    /** The OS lock held by a writing instance ({@code null} when read-only); released by {@link #close()}. */
    private final FileChannel writerLock;
    /** What opening repaired ({@code null}: the tail was intact, or read-only). */
    private final TailRepair tailRepair;
    /** The committed head, witnessed on disk for {@link TailRecovery} ({@code null} when read-only). */
    private final HeadMark headMark;

    private final ReentrantLock appendLock = new ReentrantLock();
    private final ExcerptAppender appender;
    private final RecordCodec writeCodec = new RecordCodec();
    private final DedupeIndex dedupe;
    private final SpaceGuard space;
    private long lastTimeMillis;
    /** Most recent time handed to Chronicle, which picks the roll file by it; never decreases. */
    private final AtomicLong rollClockMillis = new AtomicLong(Long.MIN_VALUE);
    private volatile long written;

    private final Object syncMonitor = new Object();
    private long synced;

    private volatile long committed;
    /** {@link System#nanoTime()} of the latest commit; tells a waiter whether appends are streaming in. */
    private volatile long committedAtNanos = System.nanoTime() - STREAMING_GAP_NANOS;
    private final Object commitSignal = new Object();
    private final AtomicInteger waiters = new AtomicInteger();

    private final Object retentionLock = new Object();
    /** The tailer {@link #check} moves around; guarded by retentionLock, closed when retention deletes files. */
    private ExcerptTailer probe;
    private final Set<ChronicleCursor> cursors = ConcurrentHashMap.newKeySet();
    private volatile long floor;
    private volatile boolean closed;

    private ChronicleEventLog(LogConfig config, FileChannel writerLock) {
        this.config = config;
        this.writerLock = writerLock;
        this.dir = config.dir().toAbsolutePath();
        LogMeta meta = LogMeta.loadOrCreate(dir, config.roll(), config.readOnly());
        this.tailRepair = config.readOnly() ? null : TailRecovery.run(dir, meta, CHRONICLE_TIMEOUT_MILLIS);
        if (tailRepair != null) meta = new LogMeta(meta.format(), tailRepair.epoch(), meta.roll());
        this.epoch = meta.epoch();
        this.rollCycle = meta.roll().cycle;
        this.floor = LogMeta.readFloor(dir);
        SingleChronicleQueueBuilder builder = SingleChronicleQueueBuilder.binary(dir)
                .rollCycle(rollCycle)
                .timeoutMS(CHRONICLE_TIMEOUT_MILLIS)
                .timeProvider(this::rollTimeMillis)
                .readOnly(config.readOnly());
        if (config.durability() == Durability.POWER_LOSS) builder.syncMode(SyncMode.SYNC);
        this.queue = builder.build();
        try {
            int lastCycle = queue.lastCycle(); // appends never go to a file older than the newest
            if (lastCycle > 0) rollClockMillis.set((long) lastCycle * rollCycle.lengthInMillis());
            if (config.readOnly()) {
                this.appender = null;
                this.headMark = null;
                this.space = null;
                this.dedupe = null;
                this.committed = Long.MAX_VALUE;
            } else {
                releaseStaleChronicleLocks(queue);
                this.appender = queue.createAppender();
                this.appender.singleThreadedCheckDisabled(true);
                try {
                    this.space = new SpaceGuard(dir, config.minFreeBytes());
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot inspect the file system of " + dir, e);
                }
                this.dedupe = new DedupeIndex(config.dedupeWindowMillis(), config.dedupeMaxIds());
                long last = queue.lastIndex();
                this.committed = Math.max(last, 0);
                this.written = this.committed;
                this.synced = this.committed;
                this.headMark = HeadMark.open(dir, committed);
                recoverWriterState();
            }
        } catch (RuntimeException | Error e) {
            queue.close();
            throw e;
        }
    }

    static ChronicleEventLog open(LogConfig config) {
        if (config.readOnly()) return new ChronicleEventLog(config, null);
        FileChannel writerLock = lockForWriting(config.dir().toAbsolutePath());
        try {
            return new ChronicleEventLog(config, writerLock);
        } catch (RuntimeException | Error e) {
            closeQuietly(writerLock);
            throw e;
        }
    }

    /**
     * Takes the OS lock on {@value #WRITER_LOCK_FILE}: one writing instance per log, across processes
     * and within this JVM. The OS drops the lock when its holder dies, whatever its process id.
     */
    private static FileChannel lockForWriting(Path dir) {
        Path file = dir.resolve(WRITER_LOCK_FILE);
        FileChannel channel;
        try {
            Files.createDirectories(dir);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file, e);
        }
        try {
            if (channel.tryLock() != null) return channel;
        } catch (OverlappingFileLockException e) {
            // held by another instance in this JVM
        } catch (IOException e) {
            closeQuietly(channel);
            throw new UncheckedIOException("cannot lock " + file, e);
        }
        closeQuietly(channel);
        throw new IllegalStateException(dir + " is already open for writing by another EventLog (" + file + " is locked)");
    }

    /**
     * Holding the writer lock, no other writer of this log is alive, so a Chronicle write lock still
     * set was left by a writer that died inside an append. Chronicle frees such a lock on open only when
     * the process id recorded in it is not running; a restarted process that got the same id (PID 1 in
     * a container) would otherwise block for Chronicle's lock timeout on open and then fail, every time.
     */
    private static void releaseStaleChronicleLocks(SingleChronicleQueue queue) {
        try (TableStoreWriteLock write = new TableStoreWriteLock(queue.metaStore(), Pauser::balanced, 0L);
             TableStoreWriteLock append = new TableStoreWriteLock(queue.metaStore(), Pauser::balanced, 0L,
                     TableStoreWriteLock.APPEND_LOCK_KEY)) {
            if (write.locked()) write.forceUnlock();
            if (append.locked()) append.forceUnlock();
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing releases the lock; nothing more to do
        }
    }

    /**
     * Restores the last append time (time never decreases across restarts) and the dedupe window. A
     * damaged record is passed over (its producer id is lost): it must not keep the log from opening;
     * {@link #verify()} and the cursors that reach it report it.
     */
    private void recoverWriterState() {
        if (committed == 0) return;
        long now = config.clock().getAsLong();
        try (ChronicleCursor c = cursorAt(Position.TIME, now - config.dedupeWindowMillis())) {
            while (true) {
                Event e;
                try {
                    e = c.next();
                } catch (CorruptRecordException damaged) {
                    continue;
                }
                if (e == null) break;
                lastTimeMillis = Math.max(lastTimeMillis, e.timeMillis());
                if (e.producerId() != null) dedupe.remember(e.producerId(), new Appended(e.offset(), e.timeMillis(), false));
            }
        }
        lastTimeMillis = Math.max(lastTimeMillis, timeAt(committed));
    }

    /**
     * The clock Chronicle rolls files by: the log's clock, but never earlier than any time handed out
     * before or than the start of the newest file (set on open). A wall clock stepped back (NTP, a
     * restored VM, a log moved between hosts) would otherwise make Chronicle write into an older
     * cycle: into a file already closed (every append fails) or into a new file before the newest
     * (offsets go down, and the events after the old head are hidden from readers).
     */
    private long rollTimeMillis() {
        long now = config.clock().getAsLong();
        long seen;
        while ((seen = rollClockMillis.get()) < now && !rollClockMillis.compareAndSet(seen, now)) {
            // another thread moved it: look again
        }
        return Math.max(seen, now);
    }

    @Override
    public String epoch() {
        return epoch;
    }

    @Override
    public List<Appended> append(List<NewEvent> events) {
        if (config.readOnly()) throw new LogUnavailableException("log is open read-only");
        List<Appended> out = new ArrayList<>(events.size());
        if (events.isEmpty()) return out;
        long bytes = 0;
        for (NewEvent e : events) bytes += RecordCodec.estimateBytes(e);
        long last;
        appendLock.lock();
        try {
            if (closed) throw new LogUnavailableException("log is closed");
            space.check(bytes);
            long now = Math.max(lastTimeMillis, rollTimeMillis());
            lastTimeMillis = now;
            last = written;
            for (NewEvent e : events) {
                if (e.producerId() != null) {
                    Appended original = dedupe.find(e.producerId(), now);
                    if (original != null) {
                        out.add(original);
                        continue;
                    }
                }
                last = write(now, e);
                Appended a = new Appended(new Offset(epoch, last), now, false);
                if (e.producerId() != null) dedupe.remember(e.producerId(), a);
                out.add(a);
            }
            written = last;
            if (config.durability() == Durability.PROCESS_CRASH) publish(last);
        } catch (LogUnavailableException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new LogUnavailableException("append failed: " + e, e);
        } finally {
            appendLock.unlock();
        }
        if (config.durability() == Durability.POWER_LOSS) syncThrough(last);
        return out;
    }

    private long write(long timeMillis, NewEvent e) {
        byte[] record = writeCodec.encode(timeMillis, e);
        try (DocumentContext dc = appender.writingDocument()) {
            dc.wire().bytes().write(record, 0, writeCodec.length());
        }
        return appender.lastIndexAppended();
    }

    /** Group commit: one msync covers every append written before it; late arrivals wait for the next. */
    private void syncThrough(long index) {
        synchronized (syncMonitor) {
            if (synced >= index) return;
            long target;
            appendLock.lock();
            try {
                target = written;
                appender.sync();
            } catch (RuntimeException e) {
                throw new LogUnavailableException("msync failed: " + e, e);
            } finally {
                appendLock.unlock();
            }
            synced = target;
            publish(target);
        }
    }

    private void publish(long index) {
        headMark.set(index); // first: the mark may run ahead of what readers saw, never behind it
        committed = index;
        committedAtNanos = System.nanoTime();
        if (waiters.get() > 0) {
            synchronized (commitSignal) {
                commitSignal.notifyAll();
            }
        }
    }

    /**
     * Parks the calling thread until the head passes {@code index}, the log closes, or the time is
     * up; while commits come less than {@link #STREAMING_GAP_NANOS} apart, for at most that long
     * instead (the caller looks again: a poll spares the appenders a wake-up per commit).
     */
    void awaitCommitAfter(long index, long nanos) throws InterruptedException {
        if (committed > index || closed) return;
        if (System.nanoTime() - committedAtNanos < STREAMING_GAP_NANOS) {
            LockSupport.parkNanos(Math.min(nanos, STREAMING_GAP_NANOS));
            if (Thread.interrupted()) throw new InterruptedException();
            return;
        }
        waiters.incrementAndGet();
        try {
            synchronized (commitSignal) {
                if (committed > index || closed) return;
                commitSignal.wait(nanos / 1_000_000, (int) (nanos % 1_000_000));
            }
        } finally {
            waiters.decrementAndGet();
        }
    }

    long committed() {
        return committed;
    }

    boolean isClosed() {
        return closed;
    }

    int cycleOf(long index) {
        return rollCycle.toCycle(index);
    }

    @Override
    public Offset head() {
        if (config.readOnly()) return new Offset(epoch, Math.max(queue.lastIndex(), 0));
        return new Offset(epoch, committed);
    }

    @Override
    public Offset firstAvailable() {
        long first = queue.firstIndex();
        return first <= 0 || first == Long.MAX_VALUE ? head() : new Offset(epoch, first);
    }

    @Override
    public long countBetween(Offset from, Offset to) {
        long first = queue.firstIndex();
        if (first <= 0 || first == Long.MAX_VALUE || to.index() <= from.index()) return 0;
        long start = Math.max(from.index(), first);
        long n = queue.countExcerpts(start, to.index()); // counts [start, to)
        // [start, to) → (from, to]: drop start if it is 'from' itself, add 'to' (an existing event)
        return n - (start == from.index() ? 1 : 0) + 1;
    }

    @Override
    public Cursor cursorAtStart() {
        return cursorAt(Position.START, 0);
    }

    @Override
    public Cursor cursorAtEnd() {
        return cursorAt(Position.END, 0);
    }

    @Override
    public Cursor cursorAtTime(long timeMillis) {
        return cursorAt(Position.TIME, timeMillis);
    }

    @Override
    public Cursor cursorAfter(Offset after) throws GapException {
        if (!after.epoch().equals(epoch)) throw gap(Gap.Reason.OTHER_EPOCH);
        long index = after.index();
        synchronized (retentionLock) {
            long head = head().index();
            if (index > head) throw gap(Gap.Reason.AHEAD_OF_HEAD);
            if (index < floor) throw gap(Gap.Reason.BEFORE_RETENTION);
            if (index == floor) return cursorAt(Position.START, 0);
            ChronicleCursor cursor = newCursor(cycleOf(index), index);
            if (!cursor.skipPast(index)) {
                cursor.close();
                throw gap(Gap.Reason.UNKNOWN_OFFSET);
            }
            return cursor;
        }
    }

    /**
     * Without a cursor: the checks of {@link #cursorAfter} with one shared tailer, the probe, moved
     * to the index under {@code retentionLock} (a tailer's set-up, thread-locals included, is what
     * made a check cost a fraction of a millisecond; a move is microseconds).
     */
    @Override
    public void check(Offset after) throws GapException {
        if (!after.epoch().equals(epoch)) throw gap(Gap.Reason.OTHER_EPOCH);
        long index = after.index();
        synchronized (retentionLock) {
            if (index > head().index()) throw gap(Gap.Reason.AHEAD_OF_HEAD);
            if (index < floor) throw gap(Gap.Reason.BEFORE_RETENTION);
            if (index == floor) return;
            if (closed) throw new LogUnavailableException("log is closed");
            if (probe == null) {
                probe = queue.createTailer();
                probe.singleThreadedCheckDisabled(true); // used by any thread, one at a time (retentionLock)
            }
            if (!probe.moveToIndex(index)) throw gap(Gap.Reason.UNKNOWN_OFFSET);
            try (DocumentContext dc = probe.readingDocument()) {
                if (!dc.isPresent() || dc.index() != index) throw gap(Gap.Reason.UNKNOWN_OFFSET);
            }
        }
    }

    private void closeProbe() {
        if (probe != null) {
            probe.close();
            probe = null;
        }
    }

    private GapException gap(Gap.Reason reason) {
        return new GapException(new Gap(reason, firstAvailable()));
    }

    private enum Position { START, END, TIME }

    private ChronicleCursor cursorAt(Position position, long timeMillis) {
        synchronized (retentionLock) {
            switch (position) {
                case START: {
                    long first = queue.firstIndex();
                    boolean empty = first <= 0 || first == Long.MAX_VALUE;
                    ChronicleCursor c = newCursor(empty ? queue.cycle() : cycleOf(first), floor);
                    c.tailer().toStart();
                    return c;
                }
                case END: {
                    long head = head().index();
                    ChronicleCursor c = newCursor(head == 0 ? queue.cycle() : cycleOf(head), head);
                    if (head == 0) c.tailer().toStart();
                    else c.skipPast(head);
                    return c;
                }
                default: {
                    long before = lastIndexBefore(timeMillis);
                    if (before == 0) return cursorAt(Position.START, 0);
                    ChronicleCursor c = newCursor(cycleOf(before), before);
                    c.skipPast(before);
                    return c;
                }
            }
        }
    }

    private ChronicleCursor newCursor(int pinnedCycle, long position) {
        if (closed) throw new LogUnavailableException("log is closed");
        ExcerptTailer tailer = queue.createTailer();
        tailer.singleThreadedCheckDisabled(true);
        ChronicleCursor c = new ChronicleCursor(this, tailer, pinnedCycle, new Offset(epoch, position));
        cursors.add(c);
        return c;
    }

    void release(ChronicleCursor cursor) {
        cursors.remove(cursor);
    }

    /**
     * The index of the last event appended before {@code timeMillis}, or 0 if none. Times never
     * decrease along the log, so: find the first cycle whose last event is at or after the time, then
     * binary-search that cycle.
     */
    private long lastIndexBefore(long timeMillis) {
        long first = queue.firstIndex();
        if (first <= 0 || first == Long.MAX_VALUE) return 0;
        try (ExcerptTailer t = queue.createTailer()) {
            long previousLast = 0;
            for (long cycleL : cycles()) {
                int cycle = (int) cycleL;
                long n = t.excerptsInCycle(cycle);
                if (n <= 0) continue;
                long last = rollCycle.toIndex(cycle, n - 1);
                if (timeAt(t, last) < timeMillis) {
                    previousLast = last;
                    continue;
                }
                long lo = 0, hi = n - 1; // find the first seq with time >= timeMillis
                while (lo < hi) {
                    long mid = (lo + hi) >>> 1;
                    if (timeAt(t, rollCycle.toIndex(cycle, mid)) >= timeMillis) hi = mid;
                    else lo = mid + 1;
                }
                return lo == 0 ? previousLast : rollCycle.toIndex(cycle, lo - 1);
            }
            return previousLast;
        }
    }

    /** The cycles that have a file, oldest first (none for a log that was never written to). */
    private NavigableSet<Long> cycles() {
        int first = queue.firstCycle(), last = queue.lastCycle();
        if (first == Integer.MAX_VALUE || last < first) return java.util.Collections.emptyNavigableSet();
        return queue.listCyclesBetween(first, last);
    }

    private long timeAt(long index) {
        try (ExcerptTailer t = queue.createTailer()) {
            return timeAt(t, index);
        }
    }

    /** Append time of the record at {@code index} (bytes 1..8 of the record), or -1 if unreadable. */
    private static long timeAt(ExcerptTailer t, long index) {
        if (!t.moveToIndex(index)) return -1;
        try (DocumentContext dc = t.readingDocument()) {
            if (!dc.isPresent()) return -1;
            Bytes<?> b = dc.wire().bytes();
            if (b.readRemaining() < 9) return -1;
            byte[] head = new byte[9];
            b.read(head, 0, 9);
            return java.nio.ByteBuffer.wrap(head, 1, 8).getLong();
        }
    }

    @Override
    public int enforceRetention() {
        Retention r = config.retention();
        if (config.readOnly() || (r.maxAgeMillis() == 0 && r.maxBytes() == 0)) return 0;
        synchronized (retentionLock) {
            if (closed) return 0;
            long now = config.clock().getAsLong();
            int current = queue.lastCycle();
            int pinned = Integer.MAX_VALUE;
            for (ChronicleCursor c : cursors) pinned = Math.min(pinned, c.pinnedCycle());
            long total = 0;
            List<Long> cycles = new ArrayList<>(cycles());
            for (long c : cycles) total += fileOf((int) c).length();
            int deleted = 0;
            try (ExcerptTailer t = queue.createTailer()) {
                for (long cycleL : cycles) {
                    int cycle = (int) cycleL;
                    if (cycle >= current || cycle >= pinned) break;
                    long n = t.excerptsInCycle(cycle);
                    long lastIndex = n > 0 ? rollCycle.toIndex(cycle, n - 1) : 0;
                    long newest = n > 0 ? timeAt(t, lastIndex) : -1;
                    boolean tooOld = r.maxAgeMillis() > 0 && newest < now - r.maxAgeMillis();
                    boolean tooBig = r.maxBytes() > 0 && total > r.maxBytes();
                    if (!tooOld && !tooBig) break;
                    File file = fileOf(cycle);
                    if (lastIndex > floor) {
                        LogMeta.writeFloor(dir, lastIndex); // state the loss before causing it
                        floor = lastIndex;
                    }
                    total -= file.length();
                    if (file.exists() && !file.delete()) break;
                    deleteDamagedCopiesOf(file);
                    deleted++;
                }
            }
            if (deleted > 0) {
                closeProbe(); // it may have a deleted file mapped
                queue.refreshDirectoryListing();
            }
            return deleted;
        }
    }

    /**
     * A torn file set aside by a tail repair ({@code <name>.cq4-<millis>.damaged}) covers the same
     * period as its roll file: it goes when retention deletes that file. Best effort: one that
     * cannot be deleted stays for the operator.
     */
    private void deleteDamagedCopiesOf(File rollFile) {
        String prefix = rollFile.getName() + "-";
        File[] copies = rollFile.getParentFile().listFiles((d, n) -> n.startsWith(prefix) && n.endsWith(".damaged"));
        if (copies == null) return;
        for (File copy : copies) copy.delete();
    }

    File fileOf(int cycle) {
        return dir.resolve(fileName(rollCycle, cycle)).toFile();
    }

    /** The name of the roll file of {@code cycle}: its start in UTC, in the roll cycle's format. */
    static String fileName(RollCycle roll, int cycle) {
        return DateTimeFormatter.ofPattern(roll.format()).withZone(ZoneOffset.UTC)
                .format(Instant.ofEpochMilli((long) cycle * roll.lengthInMillis())) + ".cq4";
    }

    @Override
    public LogStats stats() {
        long first = queue.firstIndex();
        boolean empty = first <= 0 || first == Long.MAX_VALUE;
        Offset head = head();
        long files = 0, bytes = 0;
        try (Stream<Path> list = Files.list(dir)) {
            for (Path p : (Iterable<Path>) list::iterator) {
                if (p.getFileName().toString().endsWith(".cq4")) {
                    files++;
                    bytes += p.toFile().length();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new LogStats(epoch, empty ? null : new Offset(epoch, first), head,
                empty ? -1 : timeAt(first), empty ? -1 : timeAt(head.index()),
                empty ? 0 : queue.entryCount(), (int) files, bytes);
    }

    @Override
    public VerifyReport verify(java.util.function.LongConsumer progress) {
        List<String> damage = new ArrayList<>();
        long scanned = 0, previousIndex = 0, previousTime = Long.MIN_VALUE;
        try (ChronicleCursor c = (ChronicleCursor) cursorAtStart()) {
            while (true) {
                Event e;
                try {
                    e = c.next();
                } catch (CorruptRecordException ex) {
                    scanned++;
                    note(damage, ex.getMessage());
                    continue;
                }
                if (e == null) break;
                if ((++scanned & 0xfff) == 0) progress.accept(scanned);
                long index = e.offset().index();
                if (index <= previousIndex) note(damage, "index " + index + " does not increase (previous " + previousIndex + ")");
                if (e.timeMillis() < previousTime) note(damage, "time goes backwards at index " + index);
                previousIndex = index;
                previousTime = e.timeMillis();
            }
        }
        TailRecovery.Tail tail = TailRecovery.inspect(queue, rollCycle, HeadMark.read(dir));
        long missing = tail.missing(rollCycle);
        if (missing != 0) {
            note(damage, (missing < 0 ? "records" : missing + " record(s)") + " missing from the tail: the head mark is at index "
                    + tail.mark() + ", the newest file ends at index " + tail.lastReadable()
                    + " (a writer opening the log drops the torn tail and starts a new epoch)");
        }
        return new VerifyReport(stats(), scanned, List.copyOf(damage), TailRecovery.history(dir));
    }

    @Override
    public TailRepair tailRepair() {
        return tailRepair;
    }

    private static void note(List<String> damage, String what) {
        if (damage.size() < VerifyReport.MAX_DAMAGE) damage.add(what);
    }

    @Override
    public boolean isWritable() {
        if (closed || config.readOnly()) return false;
        appendLock.lock();
        try {
            return space.hasRoom();
        } finally {
            appendLock.unlock();
        }
    }

    @Override
    public void close() {
        appendLock.lock();
        try {
            synchronized (retentionLock) {
                if (closed) return;
                closed = true;
                for (ChronicleCursor c : List.copyOf(cursors)) c.close();
                closeProbe();
                if (appender != null) appender.close();
                if (headMark != null) headMark.close();
                queue.close();
                if (writerLock != null) closeQuietly(writerLock);
            }
        } finally {
            appendLock.unlock();
        }
        synchronized (commitSignal) {
            commitSignal.notifyAll();
        }
    }
}

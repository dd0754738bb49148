package io.tidings.storage;

import net.openhft.chronicle.bytes.Bytes;
import net.openhft.chronicle.queue.ExcerptAppender;
import net.openhft.chronicle.queue.ExcerptTailer;
import net.openhft.chronicle.queue.RollCycle;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueue;
import net.openhft.chronicle.queue.impl.single.SingleChronicleQueueBuilder;
import net.openhft.chronicle.wire.DocumentContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Recovery of a torn tail, run by a writer before it opens the log (see {@link ChronicleEventLog}).
 * The tail of the newest roll file is torn when its last records fail their checksum (bytes damaged
 * on disk) or when the {@link HeadMark} is past the last record the file still holds (the file was
 * cut short). Left alone, Chronicle would hand the dropped records' indexes to new events, and new
 * events written after a cut would be invisible to readers. So the newest file is rebuilt with the
 * intact prefix (the records before the trailing damaged ones, copied verbatim: same indexes, same
 * bytes), the damaged file is kept beside it as {@code <name>.cq4-<millis>.damaged}, the log gets a
 * new epoch (every offset given out before answers {@link Gap.Reason#OTHER_EPOCH}: a client holding
 * one past the new head must not resume onto different events), and the repair is appended to
 * {@value #REPAIRS_FILE}. Damage before the trailing run (a flipped byte in the middle of the log)
 * is not a torn tail: it stays, reported by {@code verify()} and by the cursors that reach it.
 * Not thread-safe: runs once, under the writer lock, before the log is shared.
 */
final class TailRecovery {
    static final String REPAIRS_FILE = "tail-repairs";
    /** Where the intact prefix is rebuilt before it replaces the torn file (removed afterwards). */
    static final String STAGING_DIR = "tail-repair";
    /** How many trailing records are CRC-checked on open (more only while every one of them is damaged). */
    static final int TAIL_CHECK_RECORDS = 1024;

    private TailRecovery() {}

    /** The repairs made to this log so far, one line each, oldest first. */
    static List<String> history(Path dir) {
        Path file = dir.resolve(REPAIRS_FILE);
        try {
            return Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : List.of();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** What a look at the newest file found. */
    record Tail(int cycle, long lastGood, long lastReadable, long damaged, long mark) {
        boolean torn() {
            return damaged > 0 || mark > lastReadable;
        }

        long missing(RollCycle roll) {
            if (mark <= lastReadable) return 0;
            if (roll.toCycle(mark) != cycle) return -1;
            return roll.toSequenceNumber(mark) - (lastReadable <= 0 ? -1 : roll.toSequenceNumber(lastReadable));
        }
    }

    /**
     * Looks at the tail of the newest file; {@code mark} is the head mark (-1: none). Reads the file's
     * record headers from its start (Chronicle's own {@code lastIndex()} trips over a file cut short)
     * and CRC-checks the last {@value #TAIL_CHECK_RECORDS} records, or all of them while every one
     * checked is damaged.
     */
    static Tail inspect(SingleChronicleQueue queue, RollCycle roll, long mark) {
        int newest = queue.lastCycle();
        if (newest < 0 || newest == Integer.MAX_VALUE) return new Tail(newest, 0, 0, 0, mark);
        Tail tail = inspect(queue, roll, mark, newest);
        // a newest file without records (created just before a kill, or set aside by Chronicle):
        // the head mark's own file holds the tail
        if (tail.lastReadable() == 0 && mark > 0 && roll.toCycle(mark) < newest) return inspect(queue, roll, mark, roll.toCycle(mark));
        return tail;
    }

    private static Tail inspect(SingleChronicleQueue queue, RollCycle roll, long mark, int cycle) {
        long firstOfCycle = roll.toIndex(cycle, 0);
        long lastReadable = 0;
        try (ExcerptTailer t = queue.createTailer()) {
            if (t.moveToIndex(firstOfCycle)) {
                while (true) {
                    try (DocumentContext dc = t.readingDocument()) {
                        if (!dc.isPresent()) break;
                        lastReadable = dc.index();
                    }
                }
            }
        }
        if (lastReadable == 0) return new Tail(cycle, 0, 0, 0, mark);
        long from = Math.max(firstOfCycle, lastReadable - TAIL_CHECK_RECORDS);
        RecordCodec codec = new RecordCodec();
        while (true) {
            long lastGood = 0, damaged = 0;
            try (ExcerptTailer t = queue.createTailer()) {
                if (!t.moveToIndex(from)) throw new IllegalStateException("cannot read index " + from + " of " + queue.fileAbsolutePath());
                while (true) {
                    try (DocumentContext dc = t.readingDocument()) {
                        if (!dc.isPresent()) break;
                        long index = dc.index();
                        Bytes<?> b = dc.wire().bytes();
                        int length = (int) b.readRemaining();
                        byte[] record = codec.scratch(length);
                        b.read(record, 0, length);
                        try {
                            codec.decode(record, length, new Offset("000000000000", index));
                            lastGood = index;
                            damaged = 0;
                        } catch (CorruptRecordException e) {
                            damaged++;
                        }
                    }
                }
            }
            if (lastGood != 0 || from == firstOfCycle) return new Tail(cycle, lastGood, lastReadable, damaged, mark);
            from = firstOfCycle; // every checked record is damaged: look at the whole file
        }
    }

    /**
     * Repairs a torn tail if there is one; returns what was done, or {@code null} when the tail is
     * intact (nothing is written then, apart from removing what a killed repair left in staging).
     *
     * <p>Crash-safe by its order: the intact prefix is rebuilt beside the log and fsynced; then the loss
     * is stated before it is caused (new epoch in {@code tidings-log.properties}, then the line in
     * {@value #REPAIRS_FILE}); then the torn file is hard-linked as {@code .damaged} and the rebuilt one
     * renamed over it (one atomic step: the newest file is never absent), and the directory fsynced. A
     * process killed at any point leaves either the torn file, which the next open repairs again, or the
     * repaired one under an already renewed epoch; a repeated repair may be reported twice and renew the
     * epoch twice, but no offset is handed out again and no kept record is lost.
     */
    static TailRepair run(Path dir, LogMeta meta, long timeoutMillis) {
        RollCycle roll = meta.roll().cycle;
        long mark = HeadMark.read(dir);
        Path staging = dir.resolve(STAGING_DIR);
        deleteTree(staging); // left by a repair killed before it replaced the torn file
        Tail tail;
        try (SingleChronicleQueue queue = queue(dir, roll, timeoutMillis).build()) {
            tail = inspect(queue, roll, mark);
            if (!tail.torn()) return null;
            if (tail.lastGood() > 0) copyPrefix(queue, roll, tail, staging, timeoutMillis);
        }
        String name = ChronicleEventLog.fileName(roll, tail.cycle());
        Path torn = dir.resolve(name), rebuilt = staging.resolve(name);
        long now = System.currentTimeMillis();
        Path setAside = dir.resolve(name + "-" + now + ".damaged");
        try {
            if (Files.exists(rebuilt)) force(rebuilt);
            LogMeta renewed = LogMeta.renewEpoch(dir, meta);
            TailRepair repair = new TailRepair(meta.epoch(), renewed.epoch(),
                    tail.lastGood() > 0 ? new Offset(meta.epoch(), tail.lastGood()) : null, tail.damaged(), tail.missing(roll), setAside);
            Files.writeString(dir.resolve(REPAIRS_FILE), Instant.ofEpochMilli(now) + " " + repair.describe() + System.lineSeparator(),
                    StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.SYNC);
            Files.createLink(setAside, torn);
            if (Files.exists(rebuilt)) Files.move(rebuilt, torn, StandardCopyOption.ATOMIC_MOVE); // rename(2) replaces the torn file
            else Files.delete(torn); // nothing of it was intact
            force(dir);
            deleteTree(staging);
            return repair;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot repair the torn file " + torn, e);
        }
    }

    /** fsync of a file or a directory (a directory: so that renames in it are durable). */
    private static void force(Path path) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private static SingleChronicleQueueBuilder queue(Path dir, RollCycle roll, long timeoutMillis) {
        return SingleChronicleQueueBuilder.binary(dir).rollCycle(roll).timeoutMS(timeoutMillis);
    }

    /**
     * Copies the newest file's records through {@code tail.lastGood()} into a fresh queue in
     * {@code staging} whose clock stands in that file's cycle: same cycle, same sequence numbers,
     * hence the same indexes, and the same bytes.
     */
    private static void copyPrefix(SingleChronicleQueue from, RollCycle roll, Tail tail, Path staging, long timeoutMillis) {
        long cycleStart = (long) tail.cycle() * roll.lengthInMillis();
        try (SingleChronicleQueue to = queue(staging, roll, timeoutMillis).timeProvider(() -> cycleStart).build();
             ExcerptAppender appender = to.createAppender();
             ExcerptTailer t = from.createTailer()) {
            if (!t.moveToIndex(roll.toIndex(tail.cycle(), 0))) throw new IllegalStateException("cannot read cycle " + tail.cycle());
            while (true) {
                try (DocumentContext dc = t.readingDocument()) {
                    if (!dc.isPresent() || dc.index() > tail.lastGood()) break;
                    Bytes<?> b = dc.wire().bytes();
                    byte[] record = new byte[(int) b.readRemaining()];
                    b.read(record);
                    try (DocumentContext out = appender.writingDocument()) {
                        out.wire().bytes().write(record);
                    }
                    if (appender.lastIndexAppended() != dc.index()) {
                        throw new IllegalStateException("tail repair: record " + dc.index() + " would move to " + appender.lastIndexAppended());
                    }
                }
            }
        }
    }

    private static void deleteTree(Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> all = Files.walk(p)) {
            for (Path f : (Iterable<Path>) all.sorted(Comparator.reverseOrder())::iterator) Files.delete(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p, e);
        }
    }
}

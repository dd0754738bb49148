package io.tidings.storage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The file {@value #FILE}: the index of the last committed event (8 bytes, big-endian), rewritten
 * through a memory map on every commit, so it survives {@code kill -9} like the log does. It is a
 * witness, not a source of truth: on open, a head mark past the last record the roll files still
 * hold means records were cut from the tail (a torn or truncated file) and {@link TailRecovery}
 * must not let their offsets be handed out again. It moves after the record is complete (document
 * closed; with {@link Durability#POWER_LOSS} also msynced) and before the head does, so it is never
 * ahead of a record a process kill can lose and never behind an event a reader or publisher saw.
 * (With {@link Durability#PROCESS_CRASH} a power loss may keep the mark but not the records: they
 * are then reported missing and the epoch renewed, which is right.) Used under the log's append
 * lock (writer only).
 */
final class HeadMark implements AutoCloseable {
    static final String FILE = "head-mark";

    private final FileChannel channel;
    private final MappedByteBuffer map;

    private HeadMark(FileChannel channel, MappedByteBuffer map) {
        this.channel = channel;
        this.map = map;
    }

    /** The recorded index, or -1 when the log has no head mark yet (a log written before it existed). */
    static long read(Path dir) {
        Path file = dir.resolve(FILE);
        try {
            if (!Files.exists(file) || Files.size(file) < Long.BYTES) return -1;
            return ByteBuffer.wrap(Files.readAllBytes(file)).getLong();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    static HeadMark open(Path dir, long index) {
        Path file = dir.resolve(FILE);
        try {
            FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            HeadMark mark = new HeadMark(ch, ch.map(FileChannel.MapMode.READ_WRITE, 0, Long.BYTES));
            mark.set(index);
            return mark;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + file, e);
        }
    }

    void set(long index) {
        map.putLong(0, index);
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // the mapping stays valid until collected; nothing to flush in process-crash terms
        }
    }
}

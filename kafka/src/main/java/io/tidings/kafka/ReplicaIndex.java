package io.tidings.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The replica's map from cluster offsets to the local Chronicle log's indices: one 16-byte entry per
 * replicated event, in log order, {@code i64 cluster index, i64 local index} (both strictly
 * increasing, so either side is found by binary search). Append-only; a cursor walks it beside the
 * local log, one entry per event.
 *
 * <p>Thread-safety: one appending thread (the replicator); any number of readers (positional reads).
 */
final class ReplicaIndex implements AutoCloseable {
    private static final int ENTRY = 16;
    private final FileChannel file;
    private volatile long size;

    ReplicaIndex(Path path) {
        try {
            file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
            size = file.size() / ENTRY;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + path, e);
        }
    }

    long size() {
        return size;
    }

    void append(long clusterIndex, long localIndex) {
        ByteBuffer b = ByteBuffer.allocate(ENTRY).putLong(clusterIndex).putLong(localIndex).flip();
        try {
            long at = size * ENTRY;
            while (b.hasRemaining()) at += file.write(b, at);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the replica index", e);
        }
        size++;
    }

    long clusterAt(long entry) {
        return read(entry, 0);
    }

    long localAt(long entry) {
        return read(entry, 8);
    }

    /** The entry holding this cluster index, or {@code -(insertion point) - 1}. */
    long findCluster(long clusterIndex) {
        return search(clusterIndex, 0);
    }

    /** The entry holding this local index, or {@code -(insertion point) - 1}. */
    long findLocal(long localIndex) {
        return search(localIndex, 8);
    }

    private long search(long key, int field) {
        long lo = 0, hi = size - 1;
        while (lo <= hi) {
            long mid = (lo + hi) >>> 1;
            long v = read(mid, field);
            if (v < key) lo = mid + 1;
            else if (v > key) hi = mid - 1;
            else return mid;
        }
        return -lo - 1;
    }

    private long read(long entry, int field) {
        ByteBuffer b = ByteBuffer.allocate(8);
        try {
            long at = entry * ENTRY + field;
            while (b.hasRemaining()) {
                int n = file.read(b, at);
                if (n < 0) throw new IllegalStateException("replica index entry " + entry + " is missing");
                at += n;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the replica index", e);
        }
        return b.flip().getLong();
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // closing
        }
    }
}

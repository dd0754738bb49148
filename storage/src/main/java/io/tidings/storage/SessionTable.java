package io.tidings.storage;

import java.util.concurrent.CompletableFuture;

/**
 * Small records by key that outlive a connection: the state a client resumes its session with
 * (a Socket.IO recovery record, a restorable cable session). The events are never here, only where
 * a session stands. In cluster mode every gateway node reads and writes one table, so a client can
 * resume its session on any node; the embedded gateway keeps its sessions node-local and has none.
 *
 * <p>Semantics: last write wins, per key, in the table's one commit order. A value expires
 * {@code ttlMillis} after the put that wrote it (a writer that wants it kept puts it again). A
 * {@link #get} sees every put and remove committed, by any node, before the get was called.
 *
 * <p>Thread-safety: all methods may be called from any thread, also an I/O thread or under a lock:
 * none blocks. Puts and removes of one node commit in the order they were made. Futures complete on the table's own
 * threads; the {@link ForeignChanges} listener is called on one thread, in commit order.
 */
public interface SessionTable extends AutoCloseable {

    /** Told about changes committed by another node (for example: a session it holds was taken there). */
    interface ForeignChanges {
        /** {@code value} is null when the key was removed. Must not block. */
        void changed(String key, byte[] value);
    }

    /** Stores {@code value} under {@code key}; completes once committed (exceptionally if it could not be). */
    CompletableFuture<Void> put(String key, byte[] value, long ttlMillis);

    /** Removes {@code key}; completes once committed. */
    CompletableFuture<Void> remove(String key);

    /** The latest value committed under {@code key} before this call, or null (none, removed or expired). */
    CompletableFuture<byte[]> get(String key);

    /** Adds a listener for other nodes' changes (each user of the table adds its own, for its keys). */
    void onForeignChange(ForeignChanges listener);

    @Override
    void close();
}

package io.tidings.storage;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Refuses appends before the disk is full. Chronicle writes through memory-mapped sparse files, and
 * touching an unbacked page on a full disk kills the process (SIGBUS); checking first turns that
 * into a clean {@link LogUnavailableException}. The free-space figure is refreshed at most every
 * {@value #REFRESH_MILLIS} ms or every {@value #REFRESH_BYTES} bytes written. Used under the append lock.
 */
final class SpaceGuard {
    static final long REFRESH_MILLIS = 200;
    static final long REFRESH_BYTES = 1 << 20;

    private final FileStore store;
    private final long minFreeBytes;
    private long freeBytes;
    private long checkedAtNanos;
    private long writtenSinceCheck;

    SpaceGuard(Path dir, long minFreeBytes) throws IOException {
        this.store = Files.getFileStore(dir);
        this.minFreeBytes = minFreeBytes;
        refresh();
    }

    void check(long bytes) {
        if (System.nanoTime() - checkedAtNanos > REFRESH_MILLIS * 1_000_000 || writtenSinceCheck + bytes > REFRESH_BYTES) {
            refresh();
        }
        if (freeBytes - writtenSinceCheck - bytes < minFreeBytes) {
            refresh();
            if (freeBytes - bytes < minFreeBytes) {
                throw new LogUnavailableException("disk full: " + freeBytes + " bytes free, the log keeps at least "
                        + minFreeBytes + " free");
            }
        }
        writtenSinceCheck += bytes;
    }

    /**
     * Whether an append could pass now. Refreshes a stale figure: once appends are refused nobody
     * else may refresh it (a load balancer stops sending publishes when /readyz fails), and
     * readiness must recover by itself when space is freed.
     */
    boolean hasRoom() {
        if (System.nanoTime() - checkedAtNanos > REFRESH_MILLIS * 1_000_000) refresh();
        return freeBytes - writtenSinceCheck >= minFreeBytes;
    }

    private void refresh() {
        try {
            freeBytes = store.getUsableSpace();
        } catch (IOException e) {
            freeBytes = 0;
        }
        checkedAtNanos = System.nanoTime();
        writtenSinceCheck = 0;
    }
}

package io.tidings.storage;

import java.util.List;

/**
 * What a full scan of the log found.
 *
 * @param stats   extent of the log
 * @param scanned records read
 * @param damage  human-readable descriptions of damaged records (capped at {@link #MAX_DAMAGE}), and of
 *                records cut from the tail of the newest file; empty when healthy
 * @param repairs torn tails repaired when a writer opened the log, one line each, oldest first (see {@link TailRepair})
 */
public record VerifyReport(LogStats stats, long scanned, List<String> damage, List<String> repairs) {
    public static final int MAX_DAMAGE = 100;

    public boolean healthy() {
        return damage.isEmpty();
    }
}

package io.tidings.storage;

import java.util.List;

/**
 * What a full scan of the log found.
 *
 * @param stats   extent of the log
 * @param scanned records read
 * @param damage  human-readable descriptions of damaged records (capped at {@link #MAX_DAMAGE}); empty when healthy
 */
public record VerifyReport(LogStats stats, long scanned, List<String> damage) {
    public static final int MAX_DAMAGE = 100;

    public boolean healthy() {
        return damage.isEmpty();
    }
}

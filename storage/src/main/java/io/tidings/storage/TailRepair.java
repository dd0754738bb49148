package io.tidings.storage;

import java.nio.file.Path;

/**
 * What {@link TailRecovery} did when a writer opened a log whose newest file lost records at its
 * tail (cut short, or damaged past its checksum): it kept the intact prefix, dropped the rest, and
 * gave the log a new epoch so that no offset is ever handed out again for a different event.
 *
 * @param previousEpoch the epoch every offset given out before the repair carries
 * @param epoch         the log's new epoch
 * @param keptThrough   the last record kept (in the previous epoch), or {@code null} if none of the file was intact
 * @param damaged       records still present but failing their checksum or decoding, dropped
 * @param missing       records the head mark says were committed but the file no longer holds; -1 when
 *                      they were in a file that is gone, so their number is unknown
 * @param setAside      the damaged file, kept for inspection
 */
public record TailRepair(String previousEpoch, String epoch, Offset keptThrough, long damaged, long missing, Path setAside) {
    /** One line for logs and {@code tidings log verify}. */
    public String describe() {
        return "tail of the newest log file lost: kept through " + (keptThrough == null ? "(nothing in that file)" : keptThrough)
                + ", dropped " + damaged + " damaged and " + (missing < 0 ? "an unknown number of" : missing)
                + " missing record(s); epoch " + previousEpoch + " -> " + epoch + " (offsets of " + previousEpoch
                + " now answer OTHER_EPOCH); damaged file kept as " + setAside.getFileName();
    }
}

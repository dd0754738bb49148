package io.tidings.storage;

/**
 * Why a position cannot be honoured, and where the log's retained history begins.
 *
 * @param reason         why
 * @param firstAvailable the offset of the first retained event, or the head when the log is empty
 */
public record Gap(Reason reason, Offset firstAvailable) {
    public enum Reason {
        /** The offset came from another log (another epoch). */
        OTHER_EPOCH,
        /** Events after the offset were deleted by retention. */
        BEFORE_RETENTION,
        /** The offset is past the head: this log never committed it (or lost it, e.g. after power loss). */
        AHEAD_OF_HEAD,
        /** The offset's epoch is right but no event of this log ever had that index. */
        UNKNOWN_OFFSET
    }
}

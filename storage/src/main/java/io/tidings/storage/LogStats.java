package io.tidings.storage;

/**
 * A snapshot of the log's extent.
 *
 * @param epoch          the log's epoch
 * @param first          offset of the first retained event, or {@code null} when the log is empty
 * @param head           offset of the last committed event, or {@link Offset#start} when empty
 * @param firstTimeMillis append time of the first retained event, or -1
 * @param headTimeMillis  append time of the last event, or -1
 * @param events         number of retained events
 * @param files          number of roll files
 * @param bytes          total size of the roll files (apparent size; files are sparse)
 */
public record LogStats(String epoch, Offset first, Offset head, long firstTimeMillis, long headTimeMillis,
                       long events, int files, long bytes) {
}

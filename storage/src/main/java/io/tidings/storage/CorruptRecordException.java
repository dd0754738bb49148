package io.tidings.storage;

/** A record in the log failed its checksum or could not be decoded. */
public final class CorruptRecordException extends RuntimeException {
    private final long index;

    public CorruptRecordException(long index, String message) {
        super("corrupt record at index " + index + ": " + message);
        this.index = index;
    }

    public long index() {
        return index;
    }
}

package io.tidings.storage;

/**
 * How long events are kept. Whole roll files are deleted, oldest first, never the file being
 * written and never one a live {@link Cursor} has not yet read past.
 *
 * @param maxAgeMillis a file is deleted once its newest event is older than this; 0 = no age limit
 * @param maxBytes     oldest files are deleted while the log's files together exceed this; 0 = no limit
 */
public record Retention(long maxAgeMillis, long maxBytes) {
    public static final Retention FOREVER = new Retention(0, 0);

    public Retention {
        if (maxAgeMillis < 0 || maxBytes < 0) throw new IllegalArgumentException("retention limits must be >= 0");
    }
}

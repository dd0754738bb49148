package io.tidings.storage;

/**
 * The log could not commit: the disk is (nearly) full, the log is closed or an I/O error occurred.
 * Nothing of the failed append is visible to readers.
 */
public final class LogUnavailableException extends RuntimeException {
    public LogUnavailableException(String message) {
        super(message);
    }

    public LogUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}

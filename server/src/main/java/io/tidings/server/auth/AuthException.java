package io.tidings.server.auth;

/** Credentials are missing, malformed, badly signed or expired. The message is safe to show the client. */
public final class AuthException extends Exception {
    /** Why, as a metric label. */
    public enum Reason { MISSING, INVALID, EXPIRED }

    private final Reason reason;

    public AuthException(Reason reason, String message) {
        super(message, null, false, false);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    public String label() {
        return reason.name().toLowerCase();
    }
}

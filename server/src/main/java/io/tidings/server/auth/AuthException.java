package io.tidings.server.auth;

/**
 * Credentials were not accepted. The message is safe to show the client (it never echoes a secret).
 * Immutable.
 */
public final class AuthException extends Exception {
    /** Why, also the {@code reason} label of {@code tidings_auth_failures_total}. */
    public enum Reason {
        /** No credentials were presented. */
        MISSING,
        /** Malformed, badly signed, wrong issuer/audience, or signed by an unknown key. */
        INVALID,
        /** Valid once, expired now. */
        EXPIRED,
        /** The authorization webhook answered that these credentials are not accepted. */
        DENIED,
        /** The authorization webhook failed, timed out or was too busy: denied, but worth retrying later. */
        UNAVAILABLE
    }

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

    /** True if presenting these credentials again may work later (the authorizer was unavailable). */
    public boolean retryable() {
        return reason == Reason.UNAVAILABLE;
    }
}

package io.tidings.server.auth;

/** Credentials are missing, malformed, badly signed or expired. The message is safe to show the client. */
public final class AuthException extends Exception {
    public AuthException(String message) {
        super(message, null, false, false);
    }
}

package io.tidings.server.hub;

/**
 * Why the server closes a connection; each protocol maps the kind to its own signal (the native
 * protocol to a WebSocket close code, see docs/protocol.md).
 */
public record CloseReason(Kind kind, String message) {
    public enum Kind {
        /** Server shutting down: reconnect (elsewhere) and resume. */
        GOING_AWAY,
        /** Credentials missing, invalid or refused. */
        UNAUTHORIZED,
        /**
         * The credentials the connection was opened with expired (closed after the grace period, or
         * at a join after the expiry): reconnect with fresh credentials.
         */
        EXPIRED,
        /** The client read nothing for too long: reconnect and resume from the last offset. */
        SLOW_CONSUMER,
        /** No frame from the client within the idle timeout. */
        IDLE,
        /** The session cannot continue from its position: rejoin with the last offset. */
        RESUME,
        /** Malformed protocol traffic that the protocol answers by closing. */
        PROTOCOL_ERROR,
        /** A bug: the server logged it. */
        INTERNAL
    }
}

package io.tidings.server.ws.cable;

import io.tidings.server.http.Json;

/**
 * What an ActionCable client is told before the server closes its connection (setting
 * {@code cableDisconnectFrames}).
 *
 * <p>Rails 6+ clients ({@code @rails/actioncable}, {@code @anycable/*}) read a
 * {@code {"type":"disconnect",…}} frame and, with {@code "reconnect":false}, stop reconnecting. The
 * legacy {@code actioncable} 5.2 client has no such message type: it passes the frame to its
 * subscription lookup with an undefined identifier and throws a TypeError. The two clients cannot
 * be told apart on the wire (both offer {@code actioncable-v1-json, actioncable-unsupported}, send
 * the same upgrade request and nothing before the welcome), so the operator chooses.
 */
public enum DisconnectFrames {
    /** The exact Rails 6+ frames. For deployments whose apps use Rails 6+ or AnyCable clients. */
    STANDARD(false),
    /**
     * The Rails 6+ frames plus {@code "identifier":""}: modern clients ignore the extra field, the 5.2
     * client looks up a subscription with identifier "" , finds none and does nothing (then sees the
     * close). For gateways serving both client generations.
     */
    LEGACY_SAFE(true),
    /** No frame: just the close, as a Rails 5.2 server did. The legacy client then reconnects later. */
    NONE(false);

    private final byte[] unauthorized;
    private final byte[] expired;
    private final byte[] unavailable;
    private final byte[] serverRestart;

    DisconnectFrames(boolean legacySafe) {
        String identifier = legacySafe ? ",\"identifier\":\"\"" : "";
        this.unauthorized = Json.utf8("{\"type\":\"disconnect\"" + identifier + ",\"reason\":\"unauthorized\",\"reconnect\":false}");
        // Expired credentials: told "unauthorized" like Rails, but allowed to reconnect once: with
        // refreshed credentials (a renewed cookie) it gets in, otherwise the next answer is final.
        this.expired = Json.utf8("{\"type\":\"disconnect\"" + identifier + ",\"reason\":\"unauthorized\",\"reconnect\":true}");
        // The authorization webhook could not answer: not the client's fault, reconnect later.
        this.unavailable = Json.utf8("{\"type\":\"disconnect\"" + identifier + ",\"reason\":\"auth_unavailable\",\"reconnect\":true}");
        this.serverRestart = Json.utf8("{\"type\":\"disconnect\"" + identifier + ",\"reason\":\"server_restart\",\"reconnect\":true}");
    }

    /** Sent before closing a connection whose credentials are missing, invalid or expired; null for {@link #NONE}. */
    byte[] unauthorized() {
        return this == NONE ? null : unauthorized.clone();
    }

    /** Sent before closing a connection whose credentials expired while it was open; null for {@link #NONE}. */
    byte[] expired() {
        return this == NONE ? null : expired.clone();
    }

    /** Sent before closing a connection whose credentials could not be checked (webhook down); null for {@link #NONE}. */
    byte[] unavailable() {
        return this == NONE ? null : unavailable.clone();
    }

    /** Sent before closing connections on shutdown; null for {@link #NONE}. */
    byte[] serverRestart() {
        return this == NONE ? null : serverRestart.clone();
    }
}

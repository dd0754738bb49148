package io.tidings.server.ws.socketio;

import io.tidings.server.GatewayConfig;
import io.tidings.storage.Durability;

import java.nio.file.Path;

/**
 * The Socket.IO endpoint's settings, taken from {@link GatewayConfig} (where each is documented).
 *
 * @param sessionTtlMs how long a disconnected session stays recoverable: the configured TTL, capped
 *                     at the log's age retention (a session cannot outlive the events it would replay)
 * @param sessionDir   where recovery records are kept ({@code <dataDir>/socketio-sessions})
 * @param durability   the log's durability; {@link Durability#POWER_LOSS} also fsyncs recovery records
 */
public record SocketIoSettings(String path, long pingIntervalMs, long pingTimeoutMs, int maxPayloadBytes,
                               long connectTimeoutMs, long sessionTtlMs, int maxRoomsPerConnection,
                               Path sessionDir, Durability durability) {
    public static final String SESSION_DIR = "socketio-sessions";
    public static final int MAX_ROOMS_PER_CONNECTION = 256;

    public SocketIoSettings {
        if (path == null || !path.startsWith("/")) throw new IllegalArgumentException("socketIoPath must start with '/': " + path);
        if (pingIntervalMs <= 0 || pingTimeoutMs <= 0) throw new IllegalArgumentException("socketIoPingIntervalMs and socketIoPingTimeoutMs must be > 0");
        if (maxPayloadBytes < 1024) throw new IllegalArgumentException("socketIoMaxPayloadBytes must be at least 1024");
        if (connectTimeoutMs <= 0) throw new IllegalArgumentException("socketIoConnectTimeoutMs must be > 0");
        if (sessionTtlMs <= 0) throw new IllegalArgumentException("socketIoSessionTtlMs must be > 0");
    }

    public static SocketIoSettings of(GatewayConfig c) {
        long ttl = c.retentionMaxAgeMs > 0 ? Math.min(c.socketIoSessionTtlMs, c.retentionMaxAgeMs) : c.socketIoSessionTtlMs;
        return new SocketIoSettings(c.socketIoPath, c.socketIoPingIntervalMs, c.socketIoPingTimeoutMs,
                c.socketIoMaxPayloadBytes, c.socketIoConnectTimeoutMs, ttl, MAX_ROOMS_PER_CONNECTION,
                c.dataDir.resolve(SESSION_DIR), c.durability);
    }
}

package io.tidings.server.ws;

/** Per-connection WebSocket limits shared by every protocol. */
public record WebSocketSettings(int maxInboundFrameBytes, long pingIntervalMs, long idleTimeoutMs, int maxRoomsPerConnection) {
}

package io.tidings.server.ws.cable;

import io.tidings.server.ws.WebSocketSettings;

/**
 * Settings of the ActionCable endpoint (from GatewayConfig's {@code cable*} fields).
 *
 * @param socket               connection limits; its ping interval is the ActionCable
 *                             {@code {"type":"ping"}} interval (clients expect 3 s)
 * @param socketPingIntervalMs how often a WebSocket ping control frame is also sent, so the idle
 *                             timeout sees the client's automatic pongs (ActionCable clients send
 *                             nothing on their own while idle)
 * @param channels             channel → room mapping
 * @param disconnectFrames     what a client is told before the server closes it
 * @param sessionTtlMs         how long an ended extended-protocol session can be restored; 0 = never
 * @param maxRestorableSessions most ended sessions kept for restore (oldest dropped first)
 */
public record CableSettings(WebSocketSettings socket, long socketPingIntervalMs, ChannelRoutes channels,
                            DisconnectFrames disconnectFrames, long sessionTtlMs, int maxRestorableSessions) {
}

package io.tidings.server.guard;

/**
 * The checks every WebSocket upgrade passes before anything else: the client's address, the
 * per-address limits, the origin policy for cookie-authenticated upgrades. Immutable.
 */
public record Guard(ClientAddresses addresses, ConnectionLimits limits, OriginPolicy origins) {
}

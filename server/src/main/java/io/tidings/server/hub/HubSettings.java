package io.tidings.server.hub;

/**
 * Delivery limits shared by every session.
 *
 * @param outboundBufferBytes   most bytes queued to one client before it is served from the log instead
 * @param slowClientTimeoutMs   a client whose queue has not drained for this long is closed (4008)
 * @param catchUpBatchEvents    most events one catch-up step reads before yielding its thread
 * @param recentEventsBytes     most bytes (event data and encoded frames) of the latest events kept in
 *                              memory for catch-ups; 0 = every catch-up reads the log
 */
public record HubSettings(long outboundBufferBytes, long slowClientTimeoutMs, int catchUpBatchEvents, long recentEventsBytes) {
    public static final HubSettings DEFAULTS = new HubSettings(1 << 20, 30_000, 256, 16 << 20);
}

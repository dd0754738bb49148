package io.tidings.server.ws;

import io.tidings.server.hub.CloseReason;

/** WebSocket close codes of the native protocol (docs/protocol.md). */
public final class NativeCloseCodes {
    public static final int GOING_AWAY = 1001;
    public static final int PROTOCOL_ERROR = 1002;
    public static final int INTERNAL = 1011;
    public static final int UNAUTHORIZED = 4001;
    /** Standard "try again later": the authorization webhook could not answer at connect. */
    public static final int TRY_AGAIN_LATER = 1013;
    public static final int IDLE = 4002;
    public static final int SLOW_CONSUMER = 4008;
    public static final int RESUME = 4009;

    private NativeCloseCodes() {}

    public static int of(CloseReason.Kind kind) {
        return switch (kind) {
            case GOING_AWAY -> GOING_AWAY;
            case UNAUTHORIZED, EXPIRED -> UNAUTHORIZED;
            case SLOW_CONSUMER -> SLOW_CONSUMER;
            case IDLE -> IDLE;
            case RESUME -> RESUME;
            case PROTOCOL_ERROR -> PROTOCOL_ERROR;
            case INTERNAL -> INTERNAL;
        };
    }
}

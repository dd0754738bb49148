package io.tidings.server.ws;

import io.tidings.server.http.Json;
import io.tidings.storage.Gap;
import io.tidings.storage.Offset;

/**
 * The native protocol's control frames (docs/protocol.md, "Frames"), as JSON text: sent as they
 * are on {@code /v1/ws} and as the {@code data} of the SSE stream's named messages, so both speak
 * one vocabulary. Event frames are {@code EventJson.nativeFrame}. Stateless.
 */
public final class NativeFrames {
    private NativeFrames() {}

    /** {@code welcome}: the log's epoch, the offset the connection starts from, the token's subject. */
    public static String welcome(Offset offset, String subject) {
        return "{\"op\":\"welcome\",\"epoch\":" + Json.quote(offset.epoch()) + ",\"offset\":\"" + offset
                + "\",\"sub\":" + Json.quote(subject) + "}";
    }

    public static String joined(String room) {
        return "{\"op\":\"joined\",\"room\":" + Json.quote(room) + "}";
    }

    /** {@code gap}: the first offset still available and why the requested one cannot be resumed (lower case). */
    public static String gap(String room, Offset firstAvailable, String reason) {
        return "{\"op\":\"gap\",\"room\":" + Json.quote(room) + ",\"offset\":\"" + firstAvailable + "\",\"reason\":\"" + reason + "\"}";
    }

    /** A {@code gap} for a gap the log reported. */
    public static String gap(String room, Gap gap) {
        return gap(room, gap.firstAvailable(), reason(gap.reason()));
    }

    /** A gap reason as frames name it: {@code before_retention}, {@code other_epoch} … */
    public static String reason(Gap.Reason reason) {
        return reason.name().toLowerCase(java.util.Locale.ROOT);
    }

    public static String live(String room) {
        return "{\"op\":\"live\",\"room\":" + Json.quote(room) + "}";
    }
}

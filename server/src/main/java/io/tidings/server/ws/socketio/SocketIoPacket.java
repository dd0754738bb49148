package io.tidings.server.ws.socketio;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.tidings.server.http.Json;

import java.util.Set;

/**
 * One Socket.IO v5 packet from a client, decoded by the rules of the reference parser
 * (socket.io-parser 4.2): {@code <type>[<attachments>-][<namespace>,][<ackId>][<json>]}, where the
 * namespace is omitted for {@code /}. Whatever that parser rejects, {@link #parse} rejects with
 * {@link Malformed}; the connection is then closed, as the reference server does.
 *
 * <p>Immutable.
 *
 * @param ackId the acknowledgement id, or -1 when the client asked for none
 * @param data  the JSON payload, or {@code null} when the packet has none
 */
record SocketIoPacket(Type type, String namespace, long ackId, JsonNode data) {
    enum Type { CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK }

    /** Event names the reference parser refuses in an EVENT. */
    static final Set<String> RESERVED_EVENTS = Set.of("connect", "connect_error", "disconnect", "disconnecting",
            "newListener", "removeListener");

    private static final ObjectReader JSON = Json.MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final int MAX_ACK_ID_DIGITS = 15;

    /** The packet violates the Socket.IO protocol; the message says how (for the log and the close frame). */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /** The packet carried by an Engine.IO message ({@code 4<packet>}, without the 4). */
    static SocketIoPacket parse(String s) throws Malformed {
        if (s.isEmpty()) throw new Malformed("empty packet");
        char t = s.charAt(0);
        if (t < '0' || t > '6') throw new Malformed("unknown packet type");
        Type type = Type.values()[t - '0'];
        if (type == Type.BINARY_EVENT || type == Type.BINARY_ACK) throw new Malformed("binary packets are not supported");
        int i = 1;
        String namespace = "/";
        if (i < s.length() && s.charAt(i) == '/') {
            int comma = s.indexOf(',', i);
            int end = comma < 0 ? s.length() : comma;
            namespace = s.substring(i, end);
            i = comma < 0 ? s.length() : comma + 1;
        }
        long ackId = -1;
        int digits = 0;
        while (i + digits < s.length() && Character.isDigit(s.charAt(i + digits)) && s.charAt(i + digits) < 128) digits++;
        if (digits > 0) {
            if (digits > MAX_ACK_ID_DIGITS) throw new Malformed("ack id too long");
            ackId = Long.parseLong(s, i, i + digits, 10);
            i += digits;
        }
        JsonNode data = null;
        if (i < s.length()) {
            try {
                data = JSON.readTree(s.substring(i));
            } catch (Exception e) {
                throw new Malformed("invalid payload");
            }
            if (data == null || data.isMissingNode()) throw new Malformed("invalid payload");
        }
        if (!payloadValid(type, data)) throw new Malformed("invalid payload");
        return new SocketIoPacket(type, namespace, ackId, data);
    }

    private static boolean payloadValid(Type type, JsonNode data) {
        return switch (type) {
            case CONNECT -> data == null || data.isObject();
            case DISCONNECT -> data == null;
            case CONNECT_ERROR -> data != null && (data.isTextual() || data.isObject());
            case EVENT -> data != null && data.isArray() && !data.isEmpty()
                    && (data.get(0).isNumber() || (data.get(0).isTextual() && !RESERVED_EVENTS.contains(data.get(0).asText())));
            case ACK -> data != null && data.isArray();
            default -> false;
        };
    }

    /** The event name of an EVENT (its first element; a number is kept as its text). */
    String eventName() {
        return data.get(0).asText();
    }

    /** The first argument of an EVENT after its name, or {@code null}. */
    JsonNode firstArgument() {
        return data.size() > 1 ? data.get(1) : null;
    }
}

package io.tidings.server.ws;

import io.undertow.websockets.spi.WebSocketHttpExchange;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * The credentials a WebSocket upgrade request carries, looked up in the same order for every
 * protocol: {@code Authorization: Bearer <token>} header, the {@code Authorization} cookie, the
 * {@code token} query parameter.
 */
public final class UpgradeCredentials {
    private UpgradeCredentials() {}

    public static String token(WebSocketHttpExchange exchange) {
        String header = exchange.getRequestHeader("Authorization");
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) return header.substring(7).trim();
        String cookie = cookie(exchange.getRequestHeader("Cookie"), "Authorization");
        if (cookie != null) return cookie.regionMatches(true, 0, "Bearer ", 0, 7) ? cookie.substring(7).trim() : cookie;
        return query(exchange, "token");
    }

    public static String query(WebSocketHttpExchange exchange, String name) {
        Map<String, List<String>> params = exchange.getRequestParameters();
        List<String> v = params == null ? null : params.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** The value of cookie {@code name} in a Cookie header, URL-decoded, or null. */
    public static String cookie(String header, String name) {
        if (header == null) return null;
        for (String part : header.split(";")) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).trim().equals(name)) {
                String value = part.substring(eq + 1).trim();
                if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) value = value.substring(1, value.length() - 1);
                return URLDecoder.decode(value, StandardCharsets.UTF_8);
            }
        }
        return null;
    }
}

package io.tidings.server.ws;

import io.tidings.server.auth.Credentials;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.Headers;
import io.undertow.websockets.spi.WebSocketHttpExchange;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The credentials a WebSocket upgrade request carries, looked up in the same order for every
 * protocol: {@code Authorization: Bearer <token>} header, the {@code Authorization} cookie, the
 * {@code token} query parameter; plus the cookies and headers configured for the webhook.
 */
public final class UpgradeCredentials {
    public static final String TOKEN_COOKIE = "Authorization";

    private UpgradeCredentials() {}

    /** Everything {@link Credentials} holds, from the upgrade request. */
    public static Credentials capture(HttpServerExchange exchange, CredentialNames names, String clientIp, String protocol) {
        return capture(exchange, names, clientIp, protocol, false);
    }

    /** The same, optionally ignoring every cookie (a request from an untrusted origin). */
    public static Credentials capture(HttpServerExchange exchange, CredentialNames names, String clientIp, String protocol,
                                      boolean ignoreCookies) {
        String cookieHeader = ignoreCookies ? null : joined(exchange.getRequestHeaders().get(Headers.COOKIE));
        String token = bearer(exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION));
        Credentials.TokenSource source = Credentials.TokenSource.HEADER;
        if (token == null) {
            token = cookieToken(cookieHeader);
            source = Credentials.TokenSource.COOKIE;
        }
        if (token == null) {
            Deque<String> q = exchange.getQueryParameters().get("token");
            token = q == null || q.isEmpty() ? null : q.getFirst();
            source = Credentials.TokenSource.QUERY;
        }
        Map<String, String> cookies = new LinkedHashMap<>();
        for (String name : names.cookies()) {
            String v = cookie(cookieHeader, name);
            if (v != null && !v.isEmpty()) cookies.put(name, v);
        }
        Map<String, String> headers = new LinkedHashMap<>();
        for (String name : names.headers()) {
            String v = exchange.getRequestHeaders().getFirst(name);
            if (v != null && !v.isEmpty()) headers.put(name, v);
        }
        return new Credentials(token, source, cookies, headers, clientIp,
                exchange.getRequestHeaders().getFirst(Headers.ORIGIN), protocol);
    }

    /** True if the request carries a cookie that can authenticate it (the token cookie or a webhook cookie). */
    public static boolean hasCredentialCookie(HttpServerExchange exchange, CredentialNames names) {
        String header = joined(exchange.getRequestHeaders().get(Headers.COOKIE));
        if (header == null) return false;
        if (cookie(header, TOKEN_COOKIE) != null) return true;
        for (String name : names.cookies()) if (cookie(header, name) != null) return true;
        return false;
    }

    private static String cookieToken(String cookieHeader) {
        String cookie = cookie(cookieHeader, TOKEN_COOKIE);
        if (cookie == null || cookie.isBlank()) return null;
        return cookie.regionMatches(true, 0, "Bearer ", 0, 7) ? cookie.substring(7).trim() : cookie;
    }

    private static String bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
        String token = header.substring(7).trim();
        return token.isEmpty() ? null : token;
    }

    private static String joined(HeaderValues values) {
        return values == null || values.isEmpty() ? null : String.join("; ", values);
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
                try {
                    return URLDecoder.decode(value, StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    return value; // not URL-encoded after all ('%' in a raw value)
                }
            }
        }
        return null;
    }
}

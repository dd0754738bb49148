package io.tidings.server.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a client presented to authenticate, captured once per connection (for WebSockets, from the
 * upgrade request by {@link io.tidings.server.ws.UpgradeGate}) and handed to {@link Authenticator}:
 * the bearer token and where it came from, the cookies and headers the authorization webhook is
 * configured to receive ({@code authWebhookCookies}, {@code authWebhookHeaders}), the client's
 * address and the request's {@code Origin}. Immutable.
 *
 * @param token       the bearer token, or null
 * @param tokenSource where {@code token} came from
 * @param cookies     configured cookies that were present (name → value)
 * @param headers     configured headers that were present (lower-case name → value)
 * @param clientIp    the client's address (after trusted proxies), for per-IP limits; never null
 * @param origin      the {@code Origin} request header, or null
 * @param protocol    the protocol's metric label (native, actioncable, socketio, http)
 */
public record Credentials(String token, TokenSource tokenSource, Map<String, String> cookies, Map<String, String> headers,
                          String clientIp, String origin, String protocol) {
    /** Where a token was found. */
    public enum TokenSource {
        /** {@code Authorization: Bearer} header of the upgrade request. */
        HEADER,
        /** The {@code Authorization} cookie (sent by browsers on their own: origin-checked). */
        COOKIE,
        /** The {@code token} query parameter. */
        QUERY,
        /** Sent after the upgrade, inside the protocol (Socket.IO's CONNECT {@code auth.token}). */
        CONNECT,
        NONE
    }

    public Credentials {
        if (token != null && token.isBlank()) token = null;
        if (token == null) tokenSource = TokenSource.NONE;
        cookies = Map.copyOf(cookies);
        headers = Map.copyOf(headers);
        if (clientIp == null) clientIp = "unknown";
    }

    /** The same credentials with {@code token} (sent inside the protocol, e.g. Socket.IO's {@code auth.token}); unchanged if null. */
    public Credentials withConnectToken(String connectToken) {
        if (connectToken == null || connectToken.isBlank()) return this;
        return new Credentials(connectToken, TokenSource.CONNECT, cookies, headers, clientIp, origin, protocol);
    }

    public boolean isEmpty() {
        return token == null && cookies.isEmpty() && headers.isEmpty();
    }

    /**
     * A SHA-256 over the token, cookies and headers (not the address or origin): the webhook cache
     * key, so equal credentials share an answer and no secret is kept as a map key.
     */
    public String fingerprint() {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            update(d, "t", token);
            for (Map.Entry<String, String> c : new TreeMap<>(cookies).entrySet()) update(d, "c" + c.getKey(), c.getValue());
            for (Map.Entry<String, String> h : new TreeMap<>(headers).entrySet()) update(d, "h" + h.getKey(), h.getValue());
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest d, String name, String value) {
        if (value == null) return;
        d.update(name.getBytes(StandardCharsets.UTF_8));
        d.update((byte) 0);
        d.update(value.getBytes(StandardCharsets.UTF_8));
        d.update((byte) 0);
    }

    @Override
    public String toString() { // never print secrets
        return "Credentials[" + tokenSource + ", cookies " + cookies.keySet() + ", headers " + headers.keySet() + ", " + clientIp + "]";
    }
}

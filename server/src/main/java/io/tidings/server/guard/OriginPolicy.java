package io.tidings.server.guard;

import java.net.URI;
import java.util.List;
import java.util.Locale;

/**
 * Which web origins may open a WebSocket that authenticates with cookies (setting
 * {@code allowedOrigins}); a page of any other site could otherwise open one with the visitor's
 * cookies and read the events (cross-site WebSocket hijacking). Entries: an exact origin
 * ({@code https://app.example.com}), a wildcard subdomain ({@code https://*.example.com}), or
 * {@code *} (any). No entries: the same origin only (the {@code Origin}'s host and port equal the
 * request's {@code Host}). A request without {@code Origin} (not from a browser) is allowed.
 * Immutable and thread-safe.
 */
public final class OriginPolicy {
    private final List<String> allowed;
    private final boolean any;

    /** @throws IllegalArgumentException for an entry that is not an origin */
    public OriginPolicy(List<String> allowed) {
        for (String a : allowed) {
            if (a.equals("*") || a.equals("null")) continue;
            URI u;
            try {
                u = URI.create(a.replace("://*.", "://wildcard."));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("allowedOrigins: not an origin: " + a);
            }
            if (u.getScheme() == null || u.getHost() == null || (u.getPath() != null && !u.getPath().isEmpty())) {
                throw new IllegalArgumentException("allowedOrigins: expected scheme://host[:port] without a path: " + a);
            }
        }
        this.allowed = allowed.stream().map(a -> a.toLowerCase(Locale.ROOT)).toList();
        this.any = this.allowed.contains("*");
    }

    /**
     * @param origin the request's {@code Origin} header, or null
     * @param host   the request's {@code Host} header, or null
     */
    public boolean allows(String origin, String host) {
        if (origin == null || any) return true;
        String o = origin.trim().toLowerCase(Locale.ROOT);
        if (allowed.isEmpty()) return sameOrigin(o, host);
        for (String a : allowed) {
            if (a.equals(o)) return true;
            int star = a.indexOf("://*.");
            if (star > 0) {
                String scheme = a.substring(0, star + 3), suffix = a.substring(star + 4); // ".example.com[:port]"
                if (o.startsWith(scheme) && o.endsWith(suffix) && o.length() > scheme.length() + suffix.length()) {
                    String label = o.substring(scheme.length(), o.length() - suffix.length());
                    if (!label.contains("/") && !label.contains(":") && !label.contains("@")) return true;
                }
            }
        }
        return false;
    }

    private static boolean sameOrigin(String origin, String host) {
        if (host == null) return false;
        URI u;
        try {
            u = URI.create(origin);
        } catch (IllegalArgumentException e) {
            return false;
        }
        if (u.getHost() == null) return false;
        int port = u.getPort() >= 0 ? u.getPort() : "https".equals(u.getScheme()) ? 443 : 80;
        String h = host.trim().toLowerCase(Locale.ROOT);
        String hostName = h;
        int hostPort = -1;
        int colon = h.lastIndexOf(':');
        if (colon > h.lastIndexOf(']')) {
            hostName = h.substring(0, colon);
            try {
                hostPort = Integer.parseInt(h.substring(colon + 1));
            } catch (NumberFormatException e) {
                return false;
            }
        }
        if (!hostName.equals(u.getHost())) return false;
        return hostPort < 0 ? port == 80 || port == 443 : hostPort == port;
    }
}

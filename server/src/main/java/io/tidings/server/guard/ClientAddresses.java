package io.tidings.server.guard;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.HeaderValues;
import io.undertow.util.HttpString;

import java.net.InetSocketAddress;

/**
 * The address a request comes from, for per-IP limits and logs: the peer's address, unless the peer
 * is a trusted reverse proxy ({@code trustedProxyCidrs}), in which case the rightmost address of
 * {@code X-Forwarded-For} that is not itself a trusted proxy (the left part of that header is
 * written by the client and cannot be trusted). Immutable and thread-safe.
 */
public final class ClientAddresses {
    private static final HttpString X_FORWARDED_FOR = new HttpString("X-Forwarded-For");

    private final Cidrs trustedProxies;

    public ClientAddresses(Cidrs trustedProxies) {
        this.trustedProxies = trustedProxies;
    }

    public String of(HttpServerExchange exchange) {
        InetSocketAddress source = exchange.getSourceAddress();
        String peer = source == null || source.getAddress() == null ? "unknown" : source.getAddress().getHostAddress();
        if (trustedProxies.isEmpty() || !trustedProxies.contains(peer)) return peer;
        HeaderValues values = exchange.getRequestHeaders().get(X_FORWARDED_FOR);
        if (values == null || values.isEmpty()) return peer;
        String[] hops = String.join(",", values).split(",");
        for (int i = hops.length - 1; i >= 0; i--) {
            String hop = hops[i].trim();
            if (!Cidrs.isIpLiteral(hop)) return peer; // our proxy writes literals: garbage means nothing to trust
            if (!trustedProxies.contains(hop)) return hop;
        }
        return peer;
    }
}

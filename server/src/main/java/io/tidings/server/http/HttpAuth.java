package io.tidings.server.http;

import io.tidings.server.auth.ApiKeys;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Checks the {@code Authorization: Bearer <key>} of an API request against the configured keys. */
final class HttpAuth {
    private HttpAuth() {}

    static void require(HttpServerExchange exchange, ApiKeys keys, ApiKeys.Scope scope) throws ApiError {
        String key = bearer(exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION));
        if (key == null) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <" + scope.name().toLowerCase() + " key>");
        if (!keys.allows(key, scope)) {
            if (keys.known(key)) throw new ApiError(403, "forbidden", "this key may not " + scope.name().toLowerCase());
            throw new ApiError(401, "unauthorized", "unknown key");
        }
    }

    /** The token of an {@code Authorization: Bearer <token>} header value, or null. */
    static String bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
        String token = header.substring(7).trim();
        return token.isEmpty() ? null : token;
    }
}

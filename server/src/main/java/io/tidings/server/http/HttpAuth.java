package io.tidings.server.http;

import io.tidings.server.auth.ApiKeys;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/** Checks the {@code Authorization: Bearer <key>} of an API request against the configured keys (scope here; rooms by the handlers). */
final class HttpAuth {
    private HttpAuth() {}

    /** The key of the request, which has {@code scope}; 401 without a known key, 403 if it lacks the scope. */
    static ApiKeys.ApiKey require(HttpServerExchange exchange, ApiKeys keys, ApiKeys.Scope scope) throws ApiError {
        String presented = bearer(exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION));
        if (presented == null) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <" + scope.name().toLowerCase() + " key>");
        ApiKeys.ApiKey key = keys.find(presented);
        if (key == null) throw new ApiError(401, "unauthorized", "unknown key");
        if (!key.allows(scope)) throw new ApiError(403, "forbidden", "key '" + key.name() + "' may not " + scope.name().toLowerCase());
        return key;
    }

    /** The token of an {@code Authorization: Bearer <token>} header value, or null. */
    static String bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
        String token = header.substring(7).trim();
        return token.isEmpty() ? null : token;
    }
}

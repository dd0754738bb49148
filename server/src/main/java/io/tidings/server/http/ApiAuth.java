package io.tidings.server.http;

import io.tidings.server.auth.ApiKeys;
import io.tidings.server.guard.ClientAddresses;
import io.tidings.server.guard.ConnectionLimits;
import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

import java.util.function.Supplier;

/**
 * Checks the {@code Authorization: Bearer <key>} of an API request against the configured keys
 * (the scope here; rooms are checked by the handlers). An unknown key counts as a failed
 * authentication of the client's address; a blocked address is answered 429. Thread-safe.
 */
public final class ApiAuth {
    private final Supplier<ApiKeys> keys;
    private final ClientAddresses addresses;
    private final ConnectionLimits limits;
    private final Metrics metrics;

    public ApiAuth(Supplier<ApiKeys> keys, ClientAddresses addresses, ConnectionLimits limits, Metrics metrics) {
        this.keys = keys;
        this.addresses = addresses;
        this.limits = limits;
        this.metrics = metrics;
    }

    /** The request's key, which has {@code scope}; 401 without a known key, 403 if it lacks the scope, 429 if the address is blocked. */
    public ApiKeys.ApiKey require(HttpServerExchange exchange, ApiKeys.Scope scope) throws ApiError {
        return require(exchange, scope, scope);
    }

    /** The request's key, which has {@code scope} or {@code orScope}; otherwise as {@link #require(HttpServerExchange, ApiKeys.Scope)}. */
    public ApiKeys.ApiKey require(HttpServerExchange exchange, ApiKeys.Scope scope, ApiKeys.Scope orScope) throws ApiError {
        String ip = addresses.of(exchange);
        long blocked = limits.blockedSeconds(ip);
        if (blocked > 0) throw ApiError.tooManyRequests(ConnectionLimits.Refusal.BLOCKED.message, blocked);
        String presented = bearer(exchange.getRequestHeaders().getFirst(Headers.AUTHORIZATION));
        if (presented == null) throw new ApiError(401, "unauthorized", "send Authorization: Bearer <" + wanted(scope, orScope) + " key>");
        ApiKeys.ApiKey key = keys.get().find(presented);
        if (key == null) {
            metrics.authFailure("http", "invalid");
            limits.authFailed(ip);
            throw new ApiError(401, "unauthorized", "unknown key");
        }
        if (!key.allows(scope) && !key.allows(orScope)) throw new ApiError(403, "forbidden", "key '" + key.name() + "' may not " + wanted(scope, orScope));
        return key;
    }

    private static String wanted(ApiKeys.Scope scope, ApiKeys.Scope orScope) {
        return scope.name().toLowerCase() + (orScope == scope ? "" : " or " + orScope.name().toLowerCase());
    }

    /** The token of an {@code Authorization: Bearer <token>} header value, or null. */
    static String bearer(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
        String token = header.substring(7).trim();
        return token.isEmpty() ? null : token;
    }
}

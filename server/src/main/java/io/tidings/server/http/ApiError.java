package io.tidings.server.http;

import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;

/**
 * An HTTP error answered as {@code {"error":"<code>","message":"…"}} with its status.
 */
public final class ApiError extends Exception {
    private final int status;
    private final String code;
    private long retryAfterSeconds;

    public ApiError(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    /** 429 with a Retry-After header. */
    public static ApiError tooManyRequests(String message, long retryAfterSeconds) {
        ApiError e = new ApiError(429, "too_many_requests", message);
        e.retryAfterSeconds = retryAfterSeconds;
        return e;
    }

    public static ApiError badRequest(String message) {
        return new ApiError(400, "bad_request", message);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public String body() {
        return "{\"error\":" + Json.quote(code) + ",\"message\":" + Json.quote(getMessage()) + "}";
    }

    public void send(HttpServerExchange exchange) {
        exchange.setStatusCode(status);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        if (status == 401) exchange.getResponseHeaders().put(Headers.WWW_AUTHENTICATE, "Bearer");
        if (retryAfterSeconds > 0) exchange.getResponseHeaders().put(Headers.RETRY_AFTER, Long.toString(retryAfterSeconds));
        exchange.getResponseSender().send(body());
    }
}

package io.tidings.server.ws.cable;

import io.tidings.server.http.ApiError;
import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Methods;

/**
 * The AnyCable-compatible broadcast endpoint ({@code broadcastPath}): a POST goes to the publishing
 * handler with the {@link BroadcastFormat}; any other method is answered 422, as AnyCable does.
 * Every answer is counted by status.
 *
 * <p>Thread-safe (stateless).
 */
public final class BroadcastEndpoint implements HttpHandler {
    private final HttpHandler publish;
    private final Metrics metrics;

    /** @param publish a {@code PublishHandler} with a {@link BroadcastFormat} */
    public BroadcastEndpoint(HttpHandler publish, Metrics metrics) {
        this.publish = publish;
        this.metrics = metrics;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        exchange.addExchangeCompleteListener((ex, next) -> {
            metrics.broadcastRequest(ex.getStatusCode());
            next.proceed();
        });
        if (!exchange.getRequestMethod().equals(Methods.POST)) {
            new ApiError(422, "unprocessable", "broadcasts are POSTed").send(exchange);
            return;
        }
        publish.handleRequest(exchange);
    }
}

package io.tidings.server.http;

import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Times every HTTP request by route (known paths only, else "other"), method and status. */
public final class HttpMetricsHandler implements HttpHandler {
    private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH");

    private final HttpHandler next;
    private final Metrics metrics;
    private final List<String> routes;

    public HttpMetricsHandler(HttpHandler next, Metrics metrics, List<String> routes) {
        this.next = next;
        this.metrics = metrics;
        this.routes = routes;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        long start = System.nanoTime();
        String path = exchange.getRelativePath();
        String route = routeOf(path);
        String method = exchange.getRequestMethod().toString();
        exchange.addExchangeCompleteListener((ex, nextListener) -> {
            metrics.httpTimer(route, METHODS.contains(method) ? method : "OTHER", ex.getStatusCode())
                    .record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            nextListener.proceed();
        });
        next.handleRequest(exchange);
    }

    /** The first known route {@code path} is or lies below, else "other". */
    private String routeOf(String path) {
        for (String r : routes) {
            if (path.startsWith(r) && (path.length() == r.length() || path.charAt(r.length()) == '/')) return r;
        }
        return "other";
    }
}

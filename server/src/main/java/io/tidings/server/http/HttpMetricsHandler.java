package io.tidings.server.http;

import io.micrometer.core.instrument.Timer;
import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Times every HTTP request by route (known paths only, else "other"), method and status.
 *
 * <p>Thread safety: shared by the I/O threads; the timer cache is an atomic array whose slots are
 * replaced whole (a race only looks a timer up twice).
 */
public final class HttpMetricsHandler implements HttpHandler {
    private static final List<String> METHODS = List.of("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "OTHER");
    private static final String OTHER = "other";

    private final HttpHandler next;
    private final Metrics metrics;
    private final List<String> routes;
    /**
     * Per route (then "other") and method: the timer of the status last answered there. A route
     * answers mostly one status, so a request usually finds its timer here instead of building a
     * meter key (a per-request key and registry lookup cost more than the timing itself).
     */
    private final AtomicReferenceArray<Latest> latest;

    private record Latest(int status, Timer timer) {}

    public HttpMetricsHandler(HttpHandler next, Metrics metrics, List<String> routes) {
        this.next = next;
        this.metrics = metrics;
        this.routes = List.copyOf(routes);
        this.latest = new AtomicReferenceArray<>((this.routes.size() + 1) * METHODS.size());
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        long start = System.nanoTime();
        int route = routeOf(exchange.getRelativePath());
        int method = METHODS.indexOf(exchange.getRequestMethod().toString());
        int slot = route * METHODS.size() + (method < 0 ? METHODS.size() - 1 : method);
        exchange.addExchangeCompleteListener((ex, nextListener) -> {
            timer(slot, ex.getStatusCode()).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
            nextListener.proceed();
        });
        next.handleRequest(exchange);
    }

    private Timer timer(int slot, int status) {
        Latest l = latest.get(slot);
        if (l != null && l.status == status) return l.timer;
        int route = slot / METHODS.size();
        Timer t = metrics.httpTimer(route < routes.size() ? routes.get(route) : OTHER, METHODS.get(slot % METHODS.size()), status);
        latest.set(slot, new Latest(status, t));
        return t;
    }

    /** The index of the first known route {@code path} is or lies below, else {@code routes.size()} ("other"). */
    private int routeOf(String path) {
        for (int i = 0; i < routes.size(); i++) {
            String r = routes.get(i);
            if (path.startsWith(r) && (path.length() == r.length() || path.charAt(r.length()) == '/')) return i;
        }
        return routes.size();
    }
}

package io.tidings.server.console;

import io.tidings.server.http.ApiError;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.util.HttpString;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * The web console under {@code /console/}: a fixed set of static files shipped in the jar
 * (resources {@code console/…}, read once at start) and the JSON endpoints of {@link ConsoleApi}.
 * Every response carries a strict Content-Security-Policy (scripts and styles from the gateway
 * only, nothing inline, no framing), {@code X-Frame-Options: DENY} and {@code nosniff}.
 *
 * <p>Thread safety: immutable after construction; the API calls run on worker threads.
 */
public final class ConsoleHandler implements HttpHandler {
    public static final String PATH = "/console";
    /** What the page may load and where it may connect: the gateway itself only. */
    public static final String CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            + "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private final ConsoleApi api;
    private final Map<String, byte[]> files;

    public ConsoleHandler(ConsoleApi api) {
        this.api = api;
        this.files = Map.of("/", resource("index.html"), "/app.js", resource("app.js"), "/app.css", resource("app.css"));
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        secure(exchange);
        String path = exchange.getRelativePath();
        if (path.isEmpty()) {
            exchange.setStatusCode(308);
            exchange.getResponseHeaders().put(Headers.LOCATION, PATH + "/");
            exchange.endExchange();
            return;
        }
        if (path.startsWith("/api/")) {
            if (exchange.isInIoThread()) {
                exchange.dispatch(this);
                return;
            }
            exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-store");
            api.handle(path.substring("/api/".length()), exchange);
            return;
        }
        byte[] body = files.get(path);
        if (body == null) {
            new ApiError(404, "not_found", "no console file " + path).send(exchange);
            return;
        }
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, contentType(path));
        exchange.getResponseHeaders().put(Headers.CACHE_CONTROL, "no-cache");
        exchange.getResponseSender().send(java.nio.ByteBuffer.wrap(body));
    }

    static void secure(HttpServerExchange exchange) {
        exchange.getResponseHeaders().put(HttpString.tryFromString("Content-Security-Policy"), CSP);
        exchange.getResponseHeaders().put(HttpString.tryFromString("X-Frame-Options"), "DENY");
        exchange.getResponseHeaders().put(HttpString.tryFromString("X-Content-Type-Options"), "nosniff");
        exchange.getResponseHeaders().put(HttpString.tryFromString("Referrer-Policy"), "no-referrer");
    }

    private static String contentType(String file) {
        if (file.endsWith(".js")) return "text/javascript; charset=utf-8";
        if (file.endsWith(".css")) return "text/css; charset=utf-8";
        return "text/html; charset=utf-8";
    }

    private static byte[] resource(String name) {
        try (InputStream in = ConsoleHandler.class.getResourceAsStream("/console/" + name)) {
            if (in == null) throw new IllegalStateException("console/" + name + " is missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

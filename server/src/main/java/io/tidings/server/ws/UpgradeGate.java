package io.tidings.server.ws;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.Credentials;
import io.tidings.server.auth.Principal;
import io.tidings.server.guard.ConnectionLimits;
import io.tidings.server.guard.Guard;
import io.tidings.server.guard.OriginPolicy;
import io.tidings.server.http.ApiError;
import io.tidings.server.metrics.Metrics;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import io.undertow.util.StatusCodes;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.spi.WebSocketHttpExchange;

import java.util.concurrent.CompletableFuture;

/**
 * Stands in front of every WebSocket endpoint (native, ActionCable, Socket.IO) and decides before
 * the upgrade, in this order:
 * <ol>
 *   <li>the client's address (behind trusted proxies) and its limits ({@link ConnectionLimits}):
 *       refused with HTTP 429 and {@code Retry-After}; an admitted upgrade holds a connection slot
 *       until its WebSocket closes;</li>
 *   <li>the origin ({@link OriginPolicy}): an upgrade from a disallowed origin that would
 *       authenticate with a cookie is refused with HTTP 403 (cross-site WebSocket hijacking); one
 *       that carries a token in the header or query keeps it, its cookies are ignored;</li>
 *   <li>the {@link Credentials} and, for protocols that authenticate with the upgrade request
 *       (native, ActionCable), their authentication. It may wait for the webhook: the exchange is
 *       then suspended (no thread waits) and resumed on its I/O thread when the answer arrives. A
 *       refused authentication still upgrades, so that the client gets its protocol's own
 *       unauthorized signal.</li>
 * </ol>
 * The endpoint's {@code onConnect} calls {@link #connected} first, to get what the gate learned
 * (and to tie the connection slot to the channel).
 *
 * <p>A gate made with {@link #forStream} stands in front of a long-lived plain HTTP response (the
 * SSE stream) and decides every request the same way; its slot is held until the response ends,
 * and the endpoint reads what the gate learned with {@link #admitted}.
 *
 * <p>Thread safety: stateless per request; requests arrive on Undertow's I/O threads.
 */
public final class UpgradeGate implements HttpHandler {
    private static final AttachmentKey<Upgrade> UPGRADE = AttachmentKey.create(Upgrade.class);
    private static final AttachmentKey<ConnectionLimits.Slot> SLOT = AttachmentKey.create(ConnectionLimits.Slot.class);

    /**
     * What the gate learned about an upgrade.
     *
     * @param credentials what the request presented (cookies stripped if its origin is not trusted)
     * @param principal   who it is, if the gate authenticated it successfully; else null
     * @param failure     why authentication failed, if the gate authenticated and it failed; else null.
     *                    Both null: the protocol authenticates later (Socket.IO's CONNECT)
     */
    public record Upgrade(Credentials credentials, Principal principal, AuthException failure) {
    }

    private final String protocol;
    private final Authenticator authenticator;
    private final CredentialNames names;
    private final Guard guard;
    private final Metrics metrics;
    private final boolean authenticateBeforeUpgrade;
    private final boolean everyRequest;
    private final HttpHandler next;

    /**
     * @param protocol                  the metric label of the endpoint
     * @param authenticateBeforeUpgrade true for protocols whose credentials are all in the upgrade request
     * @param next                      the endpoint's upgrade handler
     */
    public UpgradeGate(String protocol, Authenticator authenticator, CredentialNames names, Guard guard, Metrics metrics,
                       boolean authenticateBeforeUpgrade, HttpHandler next) {
        this(protocol, authenticator, names, guard, metrics, authenticateBeforeUpgrade, false, next);
    }

    private UpgradeGate(String protocol, Authenticator authenticator, CredentialNames names, Guard guard, Metrics metrics,
                        boolean authenticateBeforeUpgrade, boolean everyRequest, HttpHandler next) {
        this.everyRequest = everyRequest;
        this.protocol = protocol;
        this.authenticator = authenticator;
        this.names = names;
        this.guard = guard;
        this.metrics = metrics;
        this.authenticateBeforeUpgrade = authenticateBeforeUpgrade;
        this.next = next;
    }

    /** A gate that decides every request (not only upgrades) and authenticates it: for a streamed HTTP response. */
    public static UpgradeGate forStream(String protocol, Authenticator authenticator, CredentialNames names, Guard guard,
                                        Metrics metrics, HttpHandler next) {
        return new UpgradeGate(protocol, authenticator, names, guard, metrics, true, true, next);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String upgrade = exchange.getRequestHeaders().getFirst(Headers.UPGRADE);
        if (!everyRequest && (upgrade == null || !upgrade.equalsIgnoreCase("websocket"))) {
            next.handleRequest(exchange); // not an upgrade: the endpoint answers it (400, Engine.IO errors …)
            return;
        }
        String ip = guard.addresses().of(exchange);
        ConnectionLimits.Admission admission = guard.limits().admit(ip);
        if (admission.refusal() != null) {
            metrics.connectionRefused(protocol, admission.refusal().label());
            ApiError.tooManyRequests(admission.refusal().message, admission.retryAfterSeconds()).send(exchange);
            return;
        }
        ConnectionLimits.Slot slot = admission.slot();
        exchange.putAttachment(SLOT, slot);
        exchange.addExchangeCompleteListener((ex, nextListener) -> {
            if (ex.getStatusCode() != StatusCodes.SWITCHING_PROTOCOLS) slot.release(); // no WebSocket came of it
            nextListener.proceed();
        });
        Credentials credentials = UpgradeCredentials.capture(exchange, names, ip, protocol);
        if (!guard.origins().allows(credentials.origin(), exchange.getRequestHeaders().getFirst(Headers.HOST))) {
            // a token the page sent itself still counts; the cookies the browser adds on its own do not
            credentials = UpgradeCredentials.capture(exchange, names, ip, protocol, true);
            if (credentials.token() == null && UpgradeCredentials.hasCredentialCookie(exchange, names)) {
                metrics.connectionRefused(protocol, "origin");
                new ApiError(403, "forbidden_origin", "origin " + truncate(credentials.origin())
                        + " may not open a WebSocket authenticated by cookie (allowedOrigins)").send(exchange);
                return;
            }
        }
        if (!authenticateBeforeUpgrade) {
            exchange.putAttachment(UPGRADE, new Upgrade(credentials, null, null));
            next.handleRequest(exchange);
            return;
        }
        Credentials presented = credentials;
        CompletableFuture<Principal> auth = authenticator.authenticate(presented);
        if (auth.isDone()) {
            exchange.putAttachment(UPGRADE, outcome(presented, auth));
            next.handleRequest(exchange);
            return;
        }
        // Suspend the exchange until the answer arrives, then resume it on its I/O thread.
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> auth.whenComplete((p, e) -> {
            exchange.putAttachment(UPGRADE, outcome(presented, auth));
            exchange.dispatch(exchange.getIoThread(), next);
        }));
    }

    private static String truncate(String s) {
        return s.length() > 100 ? s.substring(0, 100) + "…" : s;
    }

    private static Upgrade outcome(Credentials credentials, CompletableFuture<Principal> done) {
        try {
            return new Upgrade(credentials, done.join(), null);
        } catch (RuntimeException e) {
            return new Upgrade(credentials, null, Authenticator.cause(e));
        }
    }

    /**
     * What a {@link #forStream} gate learned about this request (its slot is released when the
     * response ends).
     *
     * @throws IllegalStateException if the handler is not behind a gate (a wiring bug)
     */
    public static Upgrade admitted(HttpServerExchange exchange) {
        Upgrade up = exchange.getAttachment(UPGRADE);
        if (up == null) throw new IllegalStateException("stream endpoint not behind an UpgradeGate");
        return up;
    }

    /**
     * Called first by an endpoint's {@code onConnect}: what the gate learned about this upgrade.
     *
     * @throws IllegalStateException if the endpoint is not behind a gate (a wiring bug)
     */
    public static Upgrade connected(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        Upgrade up = exchange.getAttachment(UPGRADE);
        if (up == null) throw new IllegalStateException("WebSocket endpoint not behind an UpgradeGate");
        ConnectionLimits.Slot slot = exchange.getAttachment(SLOT);
        if (slot != null) {
            channel.addCloseTask(ch -> slot.release());
            if (!channel.isOpen()) slot.release(); // closed before the task was added
        }
        return up;
    }
}

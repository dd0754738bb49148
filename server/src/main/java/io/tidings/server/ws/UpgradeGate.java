package io.tidings.server.ws;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.auth.Credentials;
import io.tidings.server.auth.Principal;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.AttachmentKey;
import io.undertow.util.Headers;
import io.undertow.util.SameThreadExecutor;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.spi.WebSocketHttpExchange;

import java.util.concurrent.CompletableFuture;

/**
 * Stands in front of every WebSocket endpoint (native, ActionCable, Socket.IO) and decides before
 * the upgrade: captures the {@link Credentials} of the request and, for protocols that
 * authenticate with the upgrade request (native, ActionCable), authenticates them. Authentication
 * may wait for the webhook: the exchange is then suspended (no thread waits) and resumed on its I/O
 * thread when the answer arrives. A refused authentication still upgrades, so that the client gets
 * its protocol's own unauthorized signal.
 *
 * <p>The endpoint's {@code onConnect} calls {@link #connected} first, to get what the gate learned.
 *
 * <p>Thread safety: stateless per request; requests arrive on Undertow's I/O threads.
 */
public final class UpgradeGate implements HttpHandler {
    private static final AttachmentKey<Upgrade> UPGRADE = AttachmentKey.create(Upgrade.class);

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
    private final boolean authenticateBeforeUpgrade;
    private final HttpHandler next;

    /**
     * @param protocol                  the metric label of the endpoint
     * @param authenticateBeforeUpgrade true for protocols whose credentials are all in the upgrade request
     * @param next                      the endpoint's upgrade handler
     */
    public UpgradeGate(String protocol, Authenticator authenticator, CredentialNames names,
                       boolean authenticateBeforeUpgrade, HttpHandler next) {
        this.protocol = protocol;
        this.authenticator = authenticator;
        this.names = names;
        this.authenticateBeforeUpgrade = authenticateBeforeUpgrade;
        this.next = next;
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String upgrade = exchange.getRequestHeaders().getFirst(Headers.UPGRADE);
        if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")) {
            next.handleRequest(exchange); // not an upgrade: the endpoint answers it (400, Engine.IO errors …)
            return;
        }
        Credentials credentials = UpgradeCredentials.capture(exchange, names, exchange.getSourceAddress() == null ? null
                : exchange.getSourceAddress().getAddress().getHostAddress(), protocol);
        if (!authenticateBeforeUpgrade) {
            exchange.putAttachment(UPGRADE, new Upgrade(credentials, null, null));
            next.handleRequest(exchange);
            return;
        }
        CompletableFuture<Principal> auth = authenticator.authenticate(credentials);
        if (auth.isDone()) {
            exchange.putAttachment(UPGRADE, outcome(credentials, auth));
            next.handleRequest(exchange);
            return;
        }
        // Suspend the exchange until the answer arrives, then resume it on its I/O thread.
        exchange.dispatch(SameThreadExecutor.INSTANCE, () -> auth.whenComplete((p, e) -> {
            exchange.putAttachment(UPGRADE, outcome(credentials, auth));
            exchange.dispatch(exchange.getIoThread(), next);
        }));
    }

    private static Upgrade outcome(Credentials credentials, CompletableFuture<Principal> done) {
        try {
            return new Upgrade(credentials, done.join(), null);
        } catch (RuntimeException e) {
            return new Upgrade(credentials, null, Authenticator.cause(e));
        }
    }

    /**
     * Called first by an endpoint's {@code onConnect}: what the gate learned about this upgrade.
     *
     * @throws IllegalStateException if the endpoint is not behind a gate (a wiring bug)
     */
    public static Upgrade connected(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        Upgrade up = exchange.getAttachment(UPGRADE);
        if (up == null) throw new IllegalStateException("WebSocket endpoint not behind an UpgradeGate");
        return up;
    }
}

package io.tidings.server.ws;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.hub.Hub;
import io.undertow.websockets.WebSocketConnectionCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import io.undertow.websockets.spi.WebSocketHttpExchange;
import org.xnio.IoUtils;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Accepts {@code /v1/ws} connections (behind an {@link UpgradeGate} that authenticated the
 * upgrade): a client without accepted credentials is closed with 4001 (1013 if the authorization
 * webhook could not answer), the others are handed to a {@link NativeSession}, with batched
 * messages if the upgrade asked for them ({@code ?batch=1}, docs/protocol.md).
 */
public final class NativeEndpoint implements WebSocketConnectionCallback {
    private final Hub hub;
    private final Authenticator auth;
    private final WebSocketSettings settings;

    public NativeEndpoint(Hub hub, Authenticator auth, WebSocketSettings settings) {
        this.hub = hub;
        this.auth = auth;
        this.settings = settings;
    }

    @Override
    public void onConnect(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        UpgradeGate.Upgrade up = UpgradeGate.connected(exchange, channel);
        if (up.principal() == null) {
            AuthException e = up.failure() != null ? up.failure() : new AuthException(AuthException.Reason.MISSING, "missing token");
            WebSockets.sendClose(e.retryable() ? NativeCloseCodes.TRY_AGAIN_LATER : NativeCloseCodes.UNAUTHORIZED, e.getMessage(), channel, null);
            channel.getIoThread().executeAfter(() -> IoUtils.safeClose(channel), 3, TimeUnit.SECONDS);
            channel.resumeReceives();
            return;
        }
        NativeSession session = new NativeSession(channel, settings, up.principal(), auth, batched(exchange));
        hub.open(session);
        session.closeAt(up.principal().closeAtMillis());
        session.welcome();
    }

    /** {@code ?batch=1} (or {@code true}): the client accepts several frames per message, separated by {@code '\n'}. */
    static boolean batched(WebSocketHttpExchange exchange) {
        List<String> values = exchange.getRequestParameters().get("batch");
        if (values == null || values.isEmpty()) return false;
        String v = values.get(0);
        return v.equals("1") || v.equalsIgnoreCase("true");
    }
}

package io.tidings.server.ws;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Grants;
import io.tidings.server.auth.TokenVerifier;
import io.tidings.server.hub.Hub;
import io.undertow.websockets.WebSocketConnectionCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import io.undertow.websockets.spi.WebSocketHttpExchange;
import org.xnio.IoUtils;

import java.util.function.Supplier;

/** Accepts {@code /v1/ws} connections: authenticates the upgrade, then hands the socket to a {@link NativeSession}. */
public final class NativeEndpoint implements WebSocketConnectionCallback {
    private final Hub hub;
    private final Supplier<TokenVerifier> tokens;
    private final WebSocketSettings settings;

    public NativeEndpoint(Hub hub, Supplier<TokenVerifier> tokens, WebSocketSettings settings) {
        this.hub = hub;
        this.tokens = tokens;
        this.settings = settings;
    }

    @Override
    public void onConnect(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        Grants grants;
        try {
            grants = tokens.get().verify(UpgradeCredentials.token(exchange));
        } catch (AuthException e) {
            hub.metrics().authFailure("native", e.label());
            WebSockets.sendClose(NativeCloseCodes.UNAUTHORIZED, e.getMessage(), channel, null);
            channel.getIoThread().executeAfter(() -> IoUtils.safeClose(channel), 3, java.util.concurrent.TimeUnit.SECONDS);
            channel.resumeReceives();
            return;
        }
        NativeSession session = new NativeSession(channel, settings, grants);
        hub.open(session);
        session.welcome();
    }
}

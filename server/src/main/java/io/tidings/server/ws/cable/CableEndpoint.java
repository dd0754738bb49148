package io.tidings.server.ws.cable;

import io.tidings.server.auth.AuthException;
import io.tidings.server.auth.Authenticator;
import io.tidings.server.hub.Hub;
import io.tidings.server.ws.NativeCloseCodes;
import io.tidings.server.ws.UpgradeCredentials;
import io.tidings.server.ws.UpgradeGate;
import io.tidings.storage.SessionTable;
import io.undertow.server.HttpHandler;
import io.undertow.websockets.WebSocketConnectionCallback;
import io.undertow.websockets.WebSocketProtocolHandshakeHandler;
import io.undertow.websockets.core.WebSocketCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.core.WebSockets;
import io.undertow.websockets.core.protocol.version07.Hybi07Handshake;
import io.undertow.websockets.core.protocol.version08.Hybi08Handshake;
import io.undertow.websockets.core.protocol.version13.Hybi13Handshake;
import io.undertow.websockets.spi.WebSocketHttpExchange;
import org.xnio.IoUtils;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Accepts ActionCable connections ({@code /cable} by default): negotiates the subprotocol, takes the
 * outcome of the {@link UpgradeGate}'s authentication (the {@code Authorization} cookie, as the
 * Lessy client sends it, or the other credentials of {@link UpgradeCredentials}), then hands the
 * socket to a {@link CableSession}.
 *
 * <p>Subprotocols: ActionCable clients offer {@code actioncable-v1-json, actioncable-unsupported}
 * and close at once unless the answer is {@code actioncable-v1-json}; AnyCable clients in extended
 * mode offer {@code actioncable-v1-ext-json}. Undertow's handshake answers with the first offered
 * subprotocol the handshake supports, so both are registered; a client that offers none is served
 * the plain protocol, one that offers only others is closed (1002).
 */
public final class CableEndpoint implements WebSocketConnectionCallback {
    private static final long FORCE_CLOSE_SECONDS = 3;
    static final String RESTORE_SID_HEADER = "X-ANYCABLE-RESTORE-SID";

    private final Hub hub;
    private final Authenticator auth;
    private final CableSettings settings;
    private final RestorableSessions restorable;

    /**
     * @param sessions the cluster's session table, where restorable sessions go so that every node can
     *                 restore them; null: they are kept in this node's memory
     */
    public CableEndpoint(Hub hub, Authenticator auth, CableSettings settings, SessionTable sessions) {
        this.hub = hub;
        this.auth = auth;
        this.settings = settings;
        this.restorable = new RestorableSessions(settings.sessionTtlMs(), settings.maxRestorableSessions(), sessions);
        hub.metrics().protocol(CableSession.METRIC_LABEL, true);
    }

    /** The upgrade handler for this endpoint's path: the WebSocket handshake with the ActionCable subprotocols. */
    public HttpHandler handler() {
        Set<String> subprotocols = Set.of(CableSession.PROTOCOL, CableSession.EXTENDED_PROTOCOL);
        return new WebSocketProtocolHandshakeHandler(List.of(new Hybi13Handshake(subprotocols, false),
                new Hybi08Handshake(subprotocols, false), new Hybi07Handshake(subprotocols, false)), this);
    }

    @Override
    public void onConnect(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        String subprotocol = channel.getSubProtocol();
        if (subprotocol == null && exchange.getRequestHeader("Sec-WebSocket-Protocol") != null) {
            close(channel, null, NativeCloseCodes.PROTOCOL_ERROR, "unsupported subprotocol");
            return;
        }
        boolean extended = CableSession.EXTENDED_PROTOCOL.equals(subprotocol);
        UpgradeGate.Upgrade up = UpgradeGate.connected(exchange, channel);
        if (up.principal() == null) {
            AuthException e = up.failure() != null ? up.failure() : new AuthException(AuthException.Reason.MISSING, "missing token");
            if (e.retryable()) close(channel, settings.disconnectFrames().unavailable(), NativeCloseCodes.TRY_AGAIN_LATER, e.getMessage());
            else close(channel, settings.disconnectFrames().unauthorized(), NativeCloseCodes.UNAUTHORIZED, e.getMessage());
            return;
        }
        String restoreSid = null;
        if (extended) {
            restoreSid = UpgradeCredentials.query(exchange, "sid");
            if (restoreSid == null) restoreSid = exchange.getRequestHeader(RESTORE_SID_HEADER);
        }
        CableSession session = new CableSession(channel, up.principal(), auth, settings, restorable, extended);
        hub.open(session);
        session.closeAt(up.principal().closeAtMillis());
        session.welcome(restoreSid);
    }

    /** Closes a connection that never became a session: optional frame, then the close handshake. */
    private static void close(WebSocketChannel channel, byte[] frame, int code, String reason) {
        if (frame != null) WebSockets.sendText(ByteBuffer.wrap(frame), channel, (WebSocketCallback<Void>) null);
        WebSockets.sendClose(code, reason, channel, null);
        channel.getIoThread().executeAfter(() -> IoUtils.safeClose(channel), FORCE_CLOSE_SECONDS, TimeUnit.SECONDS);
        channel.resumeReceives();
    }
}

package io.tidings.server.ws.socketio;

import io.tidings.server.auth.Authenticator;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Hub;
import io.tidings.server.ws.UpgradeGate;
import io.tidings.storage.Durability;
import io.tidings.storage.SessionTable;
import io.undertow.Handlers;
import io.undertow.server.HttpHandler;
import io.undertow.server.HttpServerExchange;
import io.undertow.util.Headers;
import io.undertow.websockets.WebSocketConnectionCallback;
import io.undertow.websockets.core.WebSocketChannel;
import io.undertow.websockets.spi.WebSocketHttpExchange;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Deque;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The Socket.IO endpoint ({@code socketIoPath}, default {@code /socket.io/}): checks the Engine.IO
 * handshake query, upgrades to a WebSocket and hands the socket to a {@link SocketIoSession}. Only
 * the WebSocket transport exists: long-polling, a missing transport or another Engine.IO version is
 * answered with HTTP 400 and the reference server's JSON error, e.g.
 * {@code {"code":0,"message":"Transport unknown"}}. Owns the {@link RecoveryStore} and sweeps
 * expired sessions from it once a minute (or once per TTL if shorter). Mounted behind an
 * {@link UpgradeGate} (per-address limits, origin check, credentials captured from the upgrade);
 * the credentials are checked at the Socket.IO CONNECT, which may carry its own token.
 *
 * <p>Thread safety: thread-safe; requests arrive on Undertow's I/O threads.
 */
public final class SocketIoEndpoint implements HttpHandler, WebSocketConnectionCallback, AutoCloseable {
    /** The {@code protocol} label of this endpoint's metrics. */
    public static final String METRIC_LABEL = "socketio";
    private static final Logger LOG = Logger.getLogger(SocketIoEndpoint.class.getName());
    private static final SecureRandom RANDOM = new SecureRandom();

    // Engine.IO's handshake error codes (engine.io Server.errors)
    static final int UNKNOWN_TRANSPORT = 0, UNKNOWN_SID = 1, BAD_REQUEST = 3, UNSUPPORTED_PROTOCOL_VERSION = 5;

    private final Hub hub;
    private final Authenticator auth;
    private final SocketIoSettings settings;
    private final RecoveryStore store;
    private final HttpHandler upgrade;
    private final ScheduledExecutorService sweeper;

    /**
     * @param sessions the cluster's session table, where recovery records go so that every node can
     *                 recover them; null: records are files in {@link SocketIoSettings#sessionDir()}
     */
    public SocketIoEndpoint(Hub hub, Authenticator auth, SocketIoSettings settings, SessionTable sessions) {
        this.hub = hub;
        this.auth = auth;
        this.settings = settings;
        hub.metrics().protocol(METRIC_LABEL, true);
        this.store = sessions == null
                ? RecoveryStore.open(settings.sessionDir(), settings.sessionTtlMs(), settings.durability() == Durability.POWER_LOSS, System::currentTimeMillis)
                : RecoveryStore.open(sessions, settings.sessionTtlMs(), System::currentTimeMillis, owner -> ((SocketIoSession) owner)
                        .close(new CloseReason(CloseReason.Kind.GOING_AWAY, "session resumed on another node")));
        this.upgrade = Handlers.websocket(this, exchange -> reject(exchange, BAD_REQUEST, "Bad request"));
        this.sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "tidings-socketio-sweeper");
            t.setDaemon(true);
            return t;
        });
        long every = Math.max(1_000, Math.min(60_000, settings.sessionTtlMs()));
        sweeper.scheduleWithFixedDelay(() -> {
            try {
                store.sweep();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "Socket.IO session sweep failed", e);
            }
        }, every, every, TimeUnit.MILLISECONDS);
    }

    @Override
    public void handleRequest(HttpServerExchange exchange) throws Exception {
        String rest = exchange.getRelativePath();
        if (!rest.isEmpty() && !rest.equals("/")) {
            exchange.setStatusCode(404);
            exchange.endExchange();
            return;
        }
        String transport = query(exchange, "transport");
        if (!"websocket".equals(transport)) {
            reject(exchange, UNKNOWN_TRANSPORT, "Transport unknown"); // includes polling: WebSocket only
        } else if (query(exchange, "sid") != null) {
            reject(exchange, UNKNOWN_SID, "Session ID unknown"); // an upgrade from polling, which we never opened
        } else if (!"4".equals(query(exchange, "EIO"))) {
            reject(exchange, UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version");
        } else {
            upgrade.handleRequest(exchange);
        }
    }

    private static String query(HttpServerExchange exchange, String name) {
        Deque<String> v = exchange.getQueryParameters().get(name);
        return v == null || v.isEmpty() ? null : v.getFirst();
    }

    private static void reject(HttpServerExchange exchange, int code, String message) {
        exchange.setStatusCode(400);
        exchange.getResponseHeaders().put(Headers.CONTENT_TYPE, "application/json");
        exchange.getResponseSender().send("{\"code\":" + code + ",\"message\":\"" + message + "\"}");
    }

    @Override
    public void onConnect(WebSocketHttpExchange exchange, WebSocketChannel channel) {
        UpgradeGate.Upgrade up = UpgradeGate.connected(exchange, channel);
        SocketIoSession session = new SocketIoSession(channel, settings, store, auth, up.credentials(), newId(15));
        hub.open(session);
        session.open();
    }

    /** Recoverable sessions currently known (connected or not). */
    public int recoverableSessions() {
        return store.size();
    }

    /** A random id of {@code bytes} random bytes, base64url without padding (sid, pid, Engine.IO sid). */
    static String newId(int bytes) {
        byte[] b = new byte[bytes];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Stops sweeping and records every connected session as disconnected now. Call after the hub closed the sockets. */
    @Override
    public void close() {
        sweeper.shutdownNow();
        store.close();
    }
}

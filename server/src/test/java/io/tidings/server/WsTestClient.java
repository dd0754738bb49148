package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A real WebSocket client for tests (the JDK's {@link java.net.http.WebSocket}): reassembles text
 * messages delivered in parts, queues whole frames for the test to take in order, can stop reading
 * ({@link #pause()}: it stops calling {@code request(n)}, so the JDK stops reading the socket and TCP
 * pushes back on the server) and reports the close code and reason.
 *
 * <p>Thread safety: frames arrive on the HTTP client's threads; the test thread takes them. Sends are
 * serialised (the JDK allows one outstanding send).
 */
public final class WsTestClient implements AutoCloseable {
    /** How long a test waits for an expected frame or close before failing. Generous: a failure, not a threshold. */
    public static final Duration WAIT = Duration.ofSeconds(20);

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** How the connection ended: the close code and reason the server sent, or 1006 if the connection dropped. */
    public record Closed(int code, String reason) {}

    private final BlockingQueue<String> frames = new LinkedBlockingQueue<>();
    private final CompletableFuture<Closed> closed = new CompletableFuture<>();
    private final Object demand = new Object();
    private boolean paused;
    private boolean owed;      // a request(1) withheld while paused
    private final WebSocket socket;

    private WsTestClient(URI uri, Map<String, String> headers, String... subprotocols) {
        WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(b::header);
        if (subprotocols.length > 0) b.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        try {
            socket = b.buildAsync(uri, new Listener()).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot connect to " + uri, e);
        }
    }

    /** Connects to the native protocol with {@code ?token=}. */
    public static WsTestClient connect(TestGateway g, String token) {
        return connect(g.port(), token);
    }

    public static WsTestClient connect(int port, String token) {
        String q = token == null ? "" : "?token=" + URLEncoder.encode(token, StandardCharsets.UTF_8);
        return new WsTestClient(URI.create("ws://127.0.0.1:" + port + "/v1/ws" + q), Map.of());
    }

    /** Connects with extra upgrade headers (Authorization, Cookie …), offering {@code subprotocols} (any endpoint: /cable, /socket.io/ …). */
    public static WsTestClient connect(URI uri, Map<String, String> headers, String... subprotocols) {
        return new WsTestClient(uri, headers, subprotocols);
    }

    /** Connects, checks the welcome frame and returns the client (the welcome is consumed). */
    public static WsTestClient welcomed(TestGateway g, String token) {
        WsTestClient c = connect(g, token);
        JsonNode w = c.next();
        if (!"welcome".equals(w.path("op").asText())) throw new AssertionError("expected welcome, got " + w);
        return c;
    }

    private final class Listener implements WebSocket.Listener {
        private final StringBuilder partial = new StringBuilder();

        @Override
        public void onOpen(WebSocket webSocket) {
            webSocket.request(1);
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            partial.append(data);
            if (last) {
                frames.add(partial.toString());
                partial.setLength(0);
            }
            more(webSocket);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket webSocket, ByteBuffer data, boolean last) {
            frames.add("{\"op\":\"<binary>\"}");
            more(webSocket);
            return null;
        }

        @Override
        public CompletionStage<?> onPing(WebSocket webSocket, ByteBuffer message) {
            more(webSocket); // the JDK answers the ping with a pong by itself
            return null;
        }

        @Override
        public CompletionStage<?> onPong(WebSocket webSocket, ByteBuffer message) {
            more(webSocket);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket webSocket, int statusCode, String reason) {
            closed.complete(new Closed(statusCode, reason));
            return null;
        }

        @Override
        public void onError(WebSocket webSocket, Throwable error) {
            closed.complete(new Closed(1006, "error: " + error));
        }

        private void more(WebSocket webSocket) {
            synchronized (demand) {
                if (paused) {
                    owed = true;
                    return;
                }
            }
            webSocket.request(1);
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    /** The next frame, parsed; fails after {@link #WAIT}. */
    public JsonNode next() {
        String f = poll(WAIT);
        if (f == null) throw new AssertionError("no frame within " + WAIT.toSeconds() + " s; " + closeState());
        return parse(f);
    }

    /** The next frame if one arrives within {@code wait}, else null. */
    public JsonNode poll(long millis) {
        String f = poll(Duration.ofMillis(millis));
        return f == null ? null : parse(f);
    }

    /** The next frame as received (for protocols whose frames are not JSON, e.g. Socket.IO's) if one arrives within {@code millis}, else null. */
    public String pollText(long millis) {
        return poll(Duration.ofMillis(millis));
    }

    /** Skips frames until one matches; fails after {@link #WAIT}. */
    public JsonNode await(Predicate<JsonNode> match) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> skipped = new ArrayList<>();
        while (true) {
            String f = poll(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
            if (f == null) throw new AssertionError("no matching frame within " + WAIT.toSeconds() + " s; skipped "
                    + skipped.size() + " frames, last " + (skipped.isEmpty() ? "-" : skipped.get(skipped.size() - 1)) + "; " + closeState());
            JsonNode n = parse(f);
            if (match.test(n)) return n;
            skipped.add(f);
        }
    }

    /** The next frame, which must have {@code "op":op}. */
    public JsonNode expect(String op) {
        JsonNode n = next();
        if (!op.equals(n.path("op").asText())) throw new AssertionError("expected op " + op + ", got " + n);
        return n;
    }

    /** The next {@code n} frames, each of which must be an event. */
    public List<JsonNode> events(int n) {
        List<JsonNode> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(expect("event"));
        return out;
    }

    /** Hands every remaining frame to {@code each} until the connection is closed; returns how it closed. */
    public Closed drainUntilClosed(java.util.function.Consumer<JsonNode> each) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            String f = poll(Duration.ofMillis(50));
            if (f != null) {
                each.accept(parse(f));
                deadline = System.nanoTime() + WAIT.toNanos(); // progress
            } else if (closed.isDone() && frames.isEmpty()) {
                return closed.join(); // every frame is queued before the close is reported
            } else if (System.nanoTime() > deadline) {
                throw new AssertionError("neither frames nor a close within " + WAIT.toSeconds() + " s");
            }
        }
    }

    /** Frames received and not yet taken. */
    public int pending() {
        return frames.size();
    }

    private String poll(Duration wait) {
        try {
            return frames.poll(wait.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode parse(String frame) {
        try {
            return Json.MAPPER.readTree(frame);
        } catch (IOException e) {
            throw new UncheckedIOException("server sent a frame that is not JSON: " + frame, e);
        }
    }

    /** Waits until {@code condition} holds; fails after {@link #WAIT}. For server-side state a test cannot await otherwise. */
    public static void eventually(java.util.function.BooleanSupplier condition) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("condition not reached within " + WAIT.toSeconds() + " s");
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
    }

    // ---- flow control -------------------------------------------------------------------------

    /** Stops reading: no more {@code request(n)} until {@link #resume()}. */
    public void pause() {
        synchronized (demand) {
            paused = true;
        }
    }

    /** Reads again. */
    public void resume() {
        boolean request;
        synchronized (demand) {
            paused = false;
            request = owed;
            owed = false;
        }
        if (request) socket.request(1);
    }

    // ---- writing ------------------------------------------------------------------------------

    public synchronized void send(String text) {
        try {
            socket.sendText(text, true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("send failed: " + text, e);
        }
    }

    public synchronized void sendBinary(byte[] data) {
        try {
            socket.sendBinary(ByteBuffer.wrap(data), true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("send failed", e);
        }
    }

    public void join(String room) {
        send("{\"op\":\"join\",\"room\":" + Json.quote(room) + "}");
    }

    public void join(String room, String after) {
        send("{\"op\":\"join\",\"room\":" + Json.quote(room) + ",\"after\":" + Json.quote(after) + "}");
    }

    public void leave(String room) {
        send("{\"op\":\"leave\",\"room\":" + Json.quote(room) + "}");
    }

    /** Joins live and takes the {@code joined} and {@code live} answers. */
    public void joinLive(String room) {
        join(room);
        expectRoomFrame("joined", room);
        expectRoomFrame("live", room);
    }

    public JsonNode expectRoomFrame(String op, String room) {
        JsonNode n = expect(op);
        if (!room.equals(n.path("room").asText())) throw new AssertionError("expected " + op + " for " + room + ", got " + n);
        return n;
    }

    // ---- closing ------------------------------------------------------------------------------

    /** How the server closed the connection; fails after {@link #WAIT}. */
    public Closed awaitClose() {
        try {
            return closed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        } catch (TimeoutException e) {
            throw new AssertionError("connection not closed within " + WAIT.toSeconds() + " s");
        }
    }

    public boolean isClosed() {
        return closed.isDone();
    }

    private String closeState() {
        return closed.isDone() ? "closed: " + closed.join() : "still open";
    }

    /** Starts a normal close (1000) from the client side. */
    public void closeNormally() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (Exception e) {
            socket.abort();
        }
    }

    /** Drops the TCP connection without a close handshake. */
    public void abort() {
        socket.abort();
    }

    @Override
    public void close() {
        if (!socket.isOutputClosed() && !closed.isDone()) {
            try {
                socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(1, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // dropping it below anyway
            }
        }
        socket.abort();
    }
}

package io.tidings.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
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
import java.util.function.Supplier;

/**
 * A real WebSocket client for tests (the JDK's {@link java.net.http.WebSocket}), for every protocol
 * (give the subprotocols to offer): reassembles text messages delivered in parts, queues whole frames
 * for the test to take in order, parsed as JSON ({@link #next()}, {@link #await}) or as received
 * ({@link #nextText()}, {@link #nextLine()}, {@link #awaitLine}), can stop reading ({@link #pause()}:
 * it stops calling {@code request(n)}, so the JDK stops reading the socket and TCP pushes back on the
 * server), reports the close code and reason, and tells a refused upgrade's HTTP status
 * ({@link Refused}, {@link #refusal}).
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

    /** The upgrade was refused with an HTTP status. */
    public static final class Refused extends RuntimeException {
        public final int status;

        Refused(int status) {
            super("upgrade refused with HTTP " + status);
            this.status = status;
        }
    }

    /** Prefix of a frame's line ({@link #nextLine()}). */
    private static final String FRAME = "frame ";

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
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) throw new Refused(h.getResponse().statusCode());
            throw new IllegalStateException("cannot connect to " + uri, e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("cannot connect to " + uri, e);
        }
    }

    /** Connects to the native protocol with {@code ?token=}. */
    public static WsTestClient connect(TestGateway g, String token) {
        return connect(g.port(), token);
    }

    public static WsTestClient connect(int port, String token) {
        return connect(port, token, "");
    }

    /** Connects to the native protocol with {@code ?<params>&token=} ({@code params} e.g. {@code batch=1}, or empty). */
    public static WsTestClient connect(int port, String token, String params) {
        String q = (params.isEmpty() ? "" : "&" + params) + (token == null ? "" : "&token=" + URLEncoder.encode(token, StandardCharsets.UTF_8));
        return new WsTestClient(URI.create("ws://127.0.0.1:" + port + "/v1/ws" + q.replaceFirst("^&", "?")), Map.of());
    }

    /**
     * Connects with extra upgrade headers (Authorization, Cookie …), offering {@code subprotocols} (any endpoint: /cable, /socket.io/ …);
     * throws {@link Refused} if the server answers the upgrade with an HTTP status.
     */
    public static WsTestClient connect(URI uri, Map<String, String> headers, String... subprotocols) {
        return new WsTestClient(uri, headers, subprotocols);
    }

    /** The HTTP status the upgrade is refused with; fails if it is accepted. */
    public static int refusal(URI uri, Map<String, String> headers, String... subprotocols) {
        try (WsTestClient c = connect(uri, headers, subprotocols)) {
            throw new AssertionError("upgrade of " + uri + " was accepted");
        } catch (Refused r) {
            return r.status;
        }
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
        return parse(nextText());
    }

    /** The next frame as received (for protocols whose frames are not JSON, e.g. Socket.IO's); fails after {@link #WAIT}. */
    public String nextText() {
        String f = poll(WAIT);
        if (f == null) throw new AssertionError("no frame within " + WAIT.toSeconds() + " s; " + closeState());
        return f;
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

    /** Skips frames until one matches; fails after {@link #WAIT} or once the connection has closed without one. */
    public JsonNode await(Predicate<JsonNode> match) {
        String line = awaitLine(l -> l.startsWith(FRAME) && match.test(parse(l.substring(FRAME.length()))));
        return parse(line.substring(FRAME.length()));
    }

    /**
     * What the client received next, as a line: {@code frame <text>} for a frame; once the connection
     * has closed and every frame has been taken, {@code close <code> <reason>} (1006 if it dropped).
     * Fails after {@link #WAIT}.
     */
    public String nextLine() {
        return line(frameOrEnd(System.nanoTime() + WAIT.toNanos(), () -> "line"));
    }

    /** Skips lines ({@link #nextLine()}) until one matches; fails after {@link #WAIT} or once the connection has closed without one. */
    public String awaitLine(Predicate<String> match) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<String> skipped = new ArrayList<>();
        Supplier<String> what = () -> "matching line (skipped " + skipped.size() + ", last " + (skipped.isEmpty() ? "-" : skipped.get(skipped.size() - 1)) + ")";
        while (true) {
            String f = frameOrEnd(deadline, what);
            String line = line(f);
            if (match.test(line)) return line;
            if (f == null) throw new AssertionError("closed without a " + what.get() + ": " + line);
            skipped.add(line);
        }
    }

    /** The next line that is not an ActionCable ping frame; fails after {@link #WAIT}. */
    public String nextNonPingLine() {
        return awaitLine(l -> !l.startsWith(FRAME + "{\"type\":\"ping\""));
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

    /** Hands every remaining frame to {@code each} until the connection is closed; returns how it closed. Fails when neither comes within {@link #WAIT}. */
    public Closed drainUntilClosed(java.util.function.Consumer<JsonNode> each) {
        String f;
        while ((f = frameOrEnd(System.nanoTime() + WAIT.toNanos(), () -> "frame nor close")) != null) each.accept(parse(f)); // WAIT again after each frame
        return closed.join();
    }

    /** Frames received and not yet taken. */
    public int pending() {
        return frames.size();
    }

    /**
     * The next frame, or null once the connection has closed and every frame has been taken (every
     * frame is queued before the close is reported); fails at {@code deadline} ({@link System#nanoTime()}),
     * saying it waited for {@code what}.
     */
    private String frameOrEnd(long deadline, Supplier<String> what) {
        while (true) {
            String f = poll(Duration.ofMillis(20)); // short: a close does not wake the queue
            if (f != null) return f;
            if (closed.isDone() && frames.isEmpty()) return null;
            if (System.nanoTime() > deadline) throw new AssertionError("no " + what.get() + " within " + WAIT.toSeconds() + " s; " + closeState());
        }
    }

    /** {@code frame} as {@link #nextLine()} shows it; null stands for the close. */
    private String line(String frame) {
        if (frame != null) return FRAME + frame;
        Closed c = closed.join();
        return "close " + c.code() + " " + c.reason();
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

package io.tidings.server;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * A real WebSocket client for tests (the JDK's): everything it sees becomes a line in one queue, in
 * order: {@code frame <text>} per text message, {@code close <code> <reason>} when the server
 * closes, {@code error <message>}. Works for every protocol (give the subprotocols to offer).
 */
public final class WsClient implements AutoCloseable {
    public static final long WAIT_SECONDS = 15;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final List<String> transcript = new ArrayList<>();
    private WebSocket socket;

    /** The upgrade was refused with an HTTP status. */
    public static final class Refused extends RuntimeException {
        public final int status;

        Refused(int status) {
            super("upgrade refused with HTTP " + status);
            this.status = status;
        }
    }

    private WsClient() {}

    /** Opens a connection; throws {@link Refused} if the server answers the upgrade with an HTTP status. */
    public static WsClient open(String url, Map<String, String> headers, String... subprotocols) {
        WsClient c = new WsClient();
        WebSocket.Builder b = HTTP.newWebSocketBuilder().connectTimeout(Duration.ofSeconds(5));
        headers.forEach(b::header);
        if (subprotocols.length > 0) b.subprotocols(subprotocols[0], java.util.Arrays.copyOfRange(subprotocols, 1, subprotocols.length));
        try {
            c.socket = b.buildAsync(URI.create(url), c.listener()).get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | CompletionException e) {
            if (e.getCause() instanceof WebSocketHandshakeException h) throw new Refused(h.getResponse().statusCode());
            throw new IllegalStateException("cannot connect to " + url, e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new IllegalStateException("cannot connect to " + url, e);
        }
        return c;
    }

    public static WsClient open(String url) {
        return open(url, Map.of());
    }

    /** The HTTP status the upgrade is refused with; fails if it is accepted. */
    public static int refusal(String url, Map<String, String> headers, String... subprotocols) {
        try (WsClient c = open(url, headers, subprotocols)) {
            throw new AssertionError("upgrade of " + url + " was accepted");
        } catch (Refused r) {
            return r.status;
        }
    }

    private WebSocket.Listener listener() {
        return new WebSocket.Listener() {
            private final StringBuilder text = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                    lines.add("frame " + text);
                    text.setLength(0);
                }
                ws.request(1);
                return null;
            }

            @Override
            public CompletionStage<?> onClose(WebSocket ws, int statusCode, String reason) {
                lines.add("close " + statusCode + " " + reason);
                return null;
            }

            @Override
            public void onError(WebSocket ws, Throwable error) {
                lines.add("error " + error);
            }
        };
    }

    public void send(String text) {
        socket.sendText(text, true).join();
    }

    /** Starts a normal close (1000) from the client side, waiting at most a second for it to be sent. */
    public void sendClose() {
        try {
            socket.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(1, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("close not sent", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** The next line, whatever it is. */
    public String nextLine(long seconds) throws InterruptedException {
        String line = lines.poll(seconds, TimeUnit.SECONDS);
        if (line == null) throw new AssertionError("nothing for " + seconds + " s; lines so far:\n  " + String.join("\n  ", transcript));
        transcript.add(line);
        return line;
    }

    public String nextLine() throws InterruptedException {
        return nextLine(WAIT_SECONDS);
    }

    /** The next line that {@code wanted} accepts, skipping others. */
    public String next(Predicate<String> wanted, long seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
            String line = left <= 0 ? null : lines.poll(left, TimeUnit.MILLISECONDS);
            if (line == null) throw new AssertionError("no wanted line within " + seconds + " s; lines so far:\n  " + String.join("\n  ", transcript));
            transcript.add(line);
            if (wanted.test(line)) return line;
        }
    }

    /** The next text frame's payload, skipping nothing; fails on a close. */
    public String nextFrame() throws InterruptedException {
        String line = nextLine();
        if (!line.startsWith("frame ")) throw new AssertionError("expected a frame, got: " + line + "; lines so far:\n  " + String.join("\n  ", transcript));
        return line.substring(6);
    }

    /** The next line that is not an ActionCable ping frame. */
    public String nextNonPing() throws InterruptedException {
        return next(l -> !l.startsWith("frame {\"type\":\"ping\""), WAIT_SECONDS);
    }

    /** Every line until now (without waiting). */
    public List<String> drain() {
        List<String> out = new ArrayList<>();
        lines.drainTo(out);
        transcript.addAll(out);
        return out;
    }

    @Override
    public void close() {
        if (socket != null) socket.abort();
    }
}

package io.tidings.server.sse;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A plain-socket HTTP/1.1 client of {@code GET /v1/sse} that parses the stream as the SSE spec
 * says (fields {@code id}, {@code event}, {@code data}; comments; a blank line dispatches) and
 * records every message and comment, for the tests that look at the wire. (The npm
 * {@code eventsource} package and Chromium prove what real clients do: SseEventSourceTest.)
 */
final class SseTestClient implements AutoCloseable {
    static final long WAIT_SECONDS = 20;

    /** One dispatched message ({@code event} "message" when the stream named none) or comment ({@code event} ":"). */
    record Message(String id, String event, String data) {
        JsonNode json() {
            try {
                return Json.MAPPER.readTree(data);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + data, e);
            }
        }
    }

    final int status;
    final Map<String, String> headers;
    final String errorBody; // the body of a refused request
    private final Socket socket;
    private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    private final List<Message> seen = new ArrayList<>();
    private volatile boolean ended;

    static SseTestClient open(TestGateway g, String query, String... headerLines) throws IOException {
        return new SseTestClient(g.port(), "/v1/sse?" + query, headerLines);
    }

    SseTestClient(int port, String target, String... headerLines) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout((int) TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
        StringBuilder req = new StringBuilder("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n");
        for (String h : headerLines) req.append(h).append("\r\n");
        OutputStream out = socket.getOutputStream();
        out.write(req.append("\r\n").toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
        InputStream in = socket.getInputStream();
        String statusLine = line(in);
        status = Integer.parseInt(statusLine.split(" ")[1]);
        headers = new java.util.TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (String h; !(h = line(in)).isEmpty(); ) {
            int colon = h.indexOf(':');
            headers.put(h.substring(0, colon).trim(), h.substring(colon + 1).trim());
        }
        boolean chunked = "chunked".equalsIgnoreCase(headers.get("Transfer-Encoding"));
        InputStream body = chunked ? new Chunked(in) : in;
        if (status != 200) {
            errorBody = headers.containsKey("Content-Length")
                    ? new String(in.readNBytes(Integer.parseInt(headers.get("Content-Length"))), StandardCharsets.UTF_8)
                    : new String(body.readAllBytes(), StandardCharsets.UTF_8);
            socket.close();
            return;
        }
        errorBody = null;
        socket.setSoTimeout(0); // an idle stream is quiet between heartbeats; next() has its own timeout
        Thread reader = new Thread(() -> parse(new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))), "sse-test-client");
        reader.setDaemon(true);
        reader.start();
    }

    private void parse(BufferedReader r) {
        String id = null, event = null;
        StringBuilder data = null;
        try {
            for (String l; (l = r.readLine()) != null; ) {
                if (l.isEmpty()) {
                    if (data != null) messages.add(new Message(id, event == null ? "message" : event, data.toString()));
                    id = null;
                    event = null;
                    data = null;
                } else if (l.startsWith(":")) {
                    messages.add(new Message(null, ":", l.substring(1)));
                } else {
                    int colon = l.indexOf(':');
                    String field = colon < 0 ? l : l.substring(0, colon);
                    String value = colon < 0 ? "" : l.substring(colon + 1).startsWith(" ") ? l.substring(colon + 2) : l.substring(colon + 1);
                    switch (field) {
                        case "id" -> id = value;
                        case "event" -> event = value;
                        case "data" -> data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
                        default -> { } // retry, unknown fields
                    }
                }
            }
        } catch (IOException e) {
            // closed
        }
        ended = true;
    }

    /** The next message that is not a comment. */
    Message next() throws InterruptedException {
        while (true) {
            Message m = nextAny();
            if (!m.event().equals(":")) return m;
        }
    }

    /** The next message or comment. */
    Message nextAny() throws InterruptedException {
        Message m = messages.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        if (m == null) {
            List<String> last = seen.subList(Math.max(0, seen.size() - 5), seen.size()).stream()
                    .map(x -> (x.event() + " " + x.id() + " " + x.data()).substring(0, Math.min(160, (x.event() + " " + x.id() + " " + x.data()).length()))).toList();
            throw new AssertionError("no SSE message within " + WAIT_SECONDS + " s (ended: " + ended + "); " + seen.size() + " so far, the last: " + last);
        }
        seen.add(m);
        return m;
    }

    /** The next message named {@code event}, skipping others. */
    Message next(String event) throws InterruptedException {
        while (true) {
            Message m = next();
            if (m.event().equals(event)) return m;
        }
    }

    /** True once the server ended the response (or the connection closed). */
    boolean ended() {
        return ended;
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != -1; ) {
            if (c == '\n') break;
            if (c != '\r') b.append((char) c);
        }
        return b.toString();
    }

    /** HTTP/1.1 chunked transfer decoding. */
    private static final class Chunked extends InputStream {
        private final InputStream in;
        private long left;
        private boolean done;

        Chunked(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (left == 0) {
                String size = line(in);
                if (size.isEmpty()) size = line(in); // the CRLF after the previous chunk
                if (size.isEmpty()) { done = true; return -1; }
                left = Long.parseLong(size.split(";")[0].trim(), 16);
                if (left == 0) { done = true; return -1; }
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) { done = true; return -1; }
            left -= n;
            return n;
        }
    }
}

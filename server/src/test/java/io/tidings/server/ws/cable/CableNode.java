package io.tidings.server.ws.cable;

import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.NodeScript;
import io.tidings.server.TestGateway;
import io.tidings.server.http.Json;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A Node.js ActionCable peer for the tests: a real npm client under browser stand-ins
 * (src/test/node/cable/client.mjs) or a bare WebSocket for exact frames (cable/raw.mjs).
 * Lines are {@code <tag> <payload>}.
 */
public final class CableNode implements AutoCloseable {
    static final long WAIT_SECONDS = 30;
    static final String PROTOCOLS = "actioncable-v1-json,actioncable-unsupported";
    static final String NOTIFICATIONS = "{\"channel\":\"NotificationsChannel\"}";

    private final NodeScript script;
    private final List<String> transcript = new ArrayList<>(); // every line read, for failure messages

    private CableNode(NodeScript script) {
        this.script = script;
    }

    /** A real client: {@code rails} (@rails/actioncable 8), {@code legacy} (actioncable 5.2) or {@code anycable} (@anycable/web, extended protocol). */
    public static CableNode client(String kind, TestGateway g, String token) throws InterruptedException {
        CableNode c = new CableNode(NodeScript.start("cable/client.mjs", kind, g.ws("/cable"), token == null ? "" : token));
        c.next("ready");
        return c;
    }

    /** A bare WebSocket offering {@code protocols} (comma-separated; "-" for none) with an optional Cookie header. */
    public static CableNode raw(String url, String protocols, String cookie) {
        return raw(url, protocols, cookie, "");
    }

    /** Same, also sending {@code X-ANYCABLE-RESTORE-SID: restoreSid}. */
    static CableNode raw(String url, String protocols, String cookie, String restoreSid) {
        return new CableNode(NodeScript.start("cable/raw.mjs", url, protocols, cookie == null ? "" : cookie, restoreSid));
    }

    public static String cookie(String token) {
        return "Authorization=" + token;
    }

    public void send(String line) {
        script.send(line);
    }

    /** Every line read so far. */
    List<String> transcript() {
        return transcript;
    }

    /** A deadline {@link #WAIT_SECONDS} from now, for {@link #nextLineBefore}. */
    static long deadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    }

    /**
     * The next line, failing with the transcript once {@code deadline} (a {@link System#nanoTime}) has
     * passed: for loops that skip lines while waiting for a state, which a chatty client could keep
     * alive forever.
     */
    String nextLineBefore(long deadline, String waitingFor) throws InterruptedException {
        long left = TimeUnit.NANOSECONDS.toSeconds(deadline - System.nanoTime());
        if (left <= 0) throw new AssertionError("not reached within " + WAIT_SECONDS + " s: " + waitingFor + "; lines so far:\n  " + String.join("\n  ", transcript));
        return read(left);
    }

    /** The next line, whatever it is. */
    public String nextLine() throws InterruptedException {
        return read(WAIT_SECONDS);
    }

    private String read(long seconds) throws InterruptedException {
        try {
            String line = script.nextLine(seconds);
            transcript.add(line);
            return line;
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "; lines so far:\n  " + String.join("\n  ", transcript));
        }
    }

    /**
     * The payload of the next line tagged {@code tag}, skipping other lines. An exception the client
     * did not catch ({@code uncaught}) fails the test unless it is what the test waits for.
     */
    String nextRaw(String tag) throws InterruptedException {
        long deadline = deadline();
        while (true) {
            String line = nextLineBefore(deadline, "a line tagged '" + tag + "'");
            if (line.startsWith(tag + " ")) return line.substring(tag.length() + 1);
            if (line.startsWith("uncaught ")) throw new AssertionError("the client threw: " + line);
        }
    }

    /** The JSON payload of the next line tagged {@code tag}, skipping other lines. */
    JsonNode next(String tag) throws InterruptedException {
        return json(nextRaw(tag));
    }

    /** The next received frame that is not an ActionCable ping (raw peer or client tap). */
    String nextFrame() throws InterruptedException {
        while (true) {
            String f = nextRaw("frame");
            if (!f.startsWith("{\"type\":\"ping\"")) return f;
        }
    }

    /** Every line up to and including the next one tagged {@code tag}. */
    List<String> linesThrough(String tag) throws InterruptedException {
        List<String> lines = new ArrayList<>();
        while (true) {
            String line = nextLine();
            lines.add(line);
            if (line.startsWith(tag + " ") || line.equals(tag)) return lines;
        }
    }

    static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(text, e);
        }
    }

    @Override
    public void close() {
        script.close();
    }
}

package io.tidings.server.sse;

import io.tidings.server.EventJson;
import io.tidings.server.auth.Principal;
import io.tidings.server.http.Json;
import io.tidings.server.hub.CloseReason;
import io.tidings.server.hub.Frames;
import io.tidings.server.hub.JoinResult;
import io.tidings.server.hub.Session;
import io.tidings.server.hub.Subscription;
import io.tidings.server.ws.IoThreadOutbox;
import io.tidings.server.ws.NativeFrames;
import io.tidings.storage.GapException;
import io.tidings.storage.Offset;
import io.undertow.io.IoCallback;
import io.undertow.io.Sender;
import io.undertow.server.HttpServerExchange;
import org.xnio.IoUtils;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One {@code GET /v1/sse} stream (docs/protocol.md, "Server-sent events"): a {@link Session} whose
 * frames are SSE messages written to a streamed HTTP response. The stream starts from one offset
 * (the {@code Last-Event-ID} the browser sends on reconnect, {@code ?after=}, or the head), which
 * the {@code welcome} message carries as its {@code id}, and every event carries its offset as
 * {@code id}: so an {@code EventSource} that reconnects on its own resumes exactly where it was, on
 * every room of the stream, since the offsets of one log are one sequence. There is nothing to
 * read from the client: the stream is one-way, its rooms are fixed by the request.
 *
 * <h2>Sending</h2>
 * As {@code WebSocketSession}: frames queue in {@code unsent}; a flush on the connection's I/O
 * thread (through its {@link IoThreadOutbox}) writes what is queued, up to {@link #BATCH_BYTES}, as
 * one write, and the next only once that one is written. SSE messages are self-delimiting, so a
 * busy or slow connection simply gets larger writes. A slow reader is the hub's business as on
 * every protocol (served from the log at its pace, or closed after {@code slowClientTimeoutMs});
 * a close writes a last {@code close} message and ends the response, and the browser's reconnect
 * resumes from its last id.
 *
 * <p>Thread safety: frames are queued under the session lock (by {@link Session}) from any thread;
 * {@code unsent} has one consumer, the flush, which with the write callbacks runs on the I/O
 * thread. {@link #close} may be called from any thread.
 */
final class SseSession extends Session {
    static final String PROTOCOL = "sse";
    /** The reconnect delay the stream asks of the browser ({@code retry:}), in ms. */
    static final int RETRY_MS = 2000;
    private static final int BATCH_BYTES = 64 * 1024;
    private static final long FORCE_CLOSE_SECONDS = 3;
    private static final byte[] HEARTBEAT = ":\n\n".getBytes(StandardCharsets.US_ASCII);

    private final HttpServerExchange exchange;
    private final Sender sender;
    private final IoThreadOutbox outbox;
    private final Principal principal;
    private final long heartbeatNanos;
    private final ConcurrentLinkedQueue<byte[]> unsent = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean flushQueued = new AtomicBoolean();
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile byte[] closeFrame; // written after everything queued before the close, then the response ends
    private boolean writing;  // I/O thread only
    private boolean broken;   // I/O thread only: a write failed, the connection is gone
    private boolean ended;    // I/O thread only
    private volatile long lastHeartbeatNanos = System.nanoTime();

    SseSession(HttpServerExchange exchange, Principal principal, long heartbeatMs) {
        this.exchange = exchange;
        this.sender = exchange.getResponseSender();
        this.outbox = IoThreadOutbox.of(exchange.getIoThread());
        this.principal = principal;
        this.heartbeatNanos = TimeUnit.MILLISECONDS.toNanos(heartbeatMs);
    }

    /**
     * Starts the stream (the hub has opened the session): the welcome, then each room joined from
     * the stream's start. {@code resume} is what the client sent ({@code Last-Event-ID} or
     * {@code after}), or null. An offset that cannot be resumed from (malformed, other epoch, before
     * retention …) gets a {@code gap} per room, as the native protocol's join, and the stream starts
     * at the head.
     */
    void start(List<String> rooms, String resume) {
        exchange.getConnection().addCloseListener(c -> { // a client that went away (or our force close)
            hub().removeClosed(this);
            try {
                end(); // completes the exchange: the gate's connection slot is released
            } catch (RuntimeException e) {
                // the connection is gone already
            }
        });
        Offset start = null;
        String gapReason = null;
        Offset firstAvailable = null;
        if (resume != null) {
            try {
                start = Offset.parse(resume);
                hub().log().check(start); // everything after it is still here
            } catch (IllegalArgumentException e) {
                start = null;
                gapReason = "malformed";
                firstAvailable = hub().log().firstAvailable();
            } catch (GapException e) {
                start = null;
                gapReason = NativeFrames.reason(e.gap().reason());
                firstAvailable = e.gap().firstAvailable();
            }
        }
        if (start == null) start = hub().log().head();
        send(Json.utf8("retry: " + RETRY_MS + "\nid: " + start + "\nevent: welcome\ndata: " + NativeFrames.welcome(start, principal.subject()) + "\n\n"));
        String reason = gapReason;
        Offset first = firstAvailable;
        for (String room : rooms) {
            join(room, room, start, result -> {
                List<byte[]> out = new ArrayList<>(2);
                out.add(control("joined", NativeFrames.joined(room)));
                if (result.status() == JoinResult.Status.GAP) out.add(control("gap", NativeFrames.gap(room, result.gap()))); // trimmed since the check above
                else if (reason != null) out.add(control("gap", NativeFrames.gap(room, first, reason)));
                return out;
            });
        }
    }

    private static byte[] control(String op, String json) {
        return Json.utf8("event: " + op + "\ndata: " + json + "\n\n");
    }

    @Override
    protected void encode(Frames frames, List<Subscription> due, List<byte[]> out) {
        List<String> rooms = coveredRoomsOf(frames.event());
        out.add(frames.get("sse", rooms, ev -> {
            byte[] json = EventJson.nativeFrame(ev, rooms); // one line: EventJson keeps frames on one line
            byte[] head = ("id: " + ev.offset() + "\ndata: ").getBytes(StandardCharsets.US_ASCII);
            byte[] frame = new byte[head.length + json.length + 2];
            System.arraycopy(head, 0, frame, 0, head.length);
            System.arraycopy(json, 0, frame, head.length, json.length);
            frame[frame.length - 2] = '\n';
            frame[frame.length - 1] = '\n';
            return frame;
        }));
    }

    @Override
    protected byte[] liveFrame(Subscription subscription) {
        return control("live", NativeFrames.live(subscription.room()));
    }

    @Override
    public String protocol() {
        return PROTOCOL;
    }

    @Override
    public String subject() {
        return principal.subject();
    }

    @Override
    public String remoteAddress() {
        return String.valueOf(exchange.getSourceAddress());
    }

    /** A comment every heartbeat interval: proxies keep the response open, and a gone client's socket fails. */
    @Override
    protected void tick(long nowNanos) {
        if (nowNanos - lastHeartbeatNanos >= heartbeatNanos) {
            lastHeartbeatNanos = nowNanos;
            send(HEARTBEAT);
        }
    }

    // ---- the response ------------------------------------------------------------------------

    @Override
    protected void transmit(byte[] frame) {
        unsent.add(frame);
        queueFlush();
    }

    private void queueFlush() {
        if (flushQueued.compareAndSet(false, true)) outbox.execute(this::flush);
    }

    /** On the I/O thread: one write of what is queued (up to {@link #BATCH_BYTES}); the close and the end behind it. */
    private int flush() {
        flushQueued.set(false);
        if (writing || ended) return 0;
        byte[] frame;
        if (broken) {
            while ((frame = unsent.poll()) != null) sent(frame.length); // as failed writes would
            return 0;
        }
        List<byte[]> batch = new ArrayList<>();
        int size = 0;
        while ((frame = unsent.peek()) != null && (batch.isEmpty() || size + frame.length <= BATCH_BYTES)) {
            batch.add(unsent.poll());
            size += frame.length;
        }
        boolean last = batch.isEmpty();
        int queued = last ? 0 : size; // the close frame is not counted in the session's queue
        if (last) {
            byte[] close = closeFrame;
            if (close == null) return 0;
            closeFrame = null;
            batch.add(close);
            size = close.length;
        }
        ByteBuffer buffer = ByteBuffer.allocate(size);
        for (byte[] f : batch) buffer.put(f);
        buffer.flip();
        writing = true;
        sender.send(buffer, new IoCallback() {
            @Override
            public void onComplete(HttpServerExchange ex, Sender s) {
                writing = false;
                if (queued > 0) sent(queued);
                if (last) end();
                else queueFlush();
            }

            @Override
            public void onException(HttpServerExchange ex, Sender s, IOException e) {
                writing = false;
                broken = true;
                if (queued > 0) sent(queued);
                IoUtils.safeClose(ex.getConnection());
                hub().removeClosed(SseSession.this);
                queueFlush(); // drops the rest
            }
        });
        return 1;
    }

    private void end() {
        if (ended) return;
        ended = true;
        exchange.endExchange();
    }

    /** Writes a last {@code close} message after what is queued, then ends the response. */
    @Override
    protected void close(CloseReason reason) {
        if (!closing.compareAndSet(false, true)) return;
        hub().remove(this);
        closeFrame = control("close", "{\"op\":\"close\",\"reason\":\"" + reason.kind().name().toLowerCase()
                + "\",\"message\":" + Json.quote(reason.message()) + "}");
        queueFlush();
        exchange.getIoThread().executeAfter(() -> IoUtils.safeClose(exchange.getConnection()), FORCE_CLOSE_SECONDS, TimeUnit.SECONDS);
    }
}
